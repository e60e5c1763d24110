//! Every HTTP endpoint. Each constant is one Lambda function: `functions/<function>/` serves it,
//! and template.yaml and the local router declare the same route (a test checks all three).

pub mod appointments;
pub mod campaigns;
pub mod clinic;
pub mod contacts;
pub mod credits;
pub mod keys;
pub mod messages;
pub mod notifications;
pub mod openapi;
pub mod patients;
pub mod practitioners;
pub mod referrers;
pub mod reports;
pub mod settings;
pub mod templates;
pub mod unsubscribe;
pub mod uploads;
pub mod webhook_endpoints;
pub mod webhooks;

use crate::http::Endpoint;

/// Every endpoint, in the order docs/api.md lists them.
pub const ALL: &[&Endpoint] = &[
    &clinic::GET,
    &clinic::UPDATE,
    &keys::CREATE,
    &keys::LIST,
    &keys::DELETE,
    &practitioners::CREATE,
    &practitioners::LIST,
    &practitioners::GET,
    &practitioners::UPDATE,
    &practitioners::DELETE,
    &settings::GET_REMINDERS,
    &settings::PUT_REMINDERS,
    &settings::GET_PRACTITIONER,
    &settings::PUT_PRACTITIONER,
    &settings::DELETE_PRACTITIONER,
    &settings::GET_GREETINGS,
    &settings::PUT_GREETINGS,
    &patients::CREATE,
    &patients::LIST,
    &patients::EXPORT,
    &patients::GET,
    &patients::UPDATE,
    &patients::DELETE,
    &contacts::CREATE,
    &contacts::LIST,
    &contacts::UPDATE,
    &contacts::DELETE,
    &messages::PATIENT_HISTORY,
    &templates::CREATE,
    &templates::LIST,
    &templates::PREVIEW,
    &templates::GET,
    &templates::UPDATE,
    &templates::DELETE,
    &messages::SEND,
    &messages::LIST,
    &messages::STATS,
    &credits::GET,
    &credits::LEDGER,
    &credits::PRICES,
    &credits::STATS,
    &credits::SET_PAYMENT_METHOD,
    &credits::PURCHASE,
    &credits::GET_AUTO_TOP_UP,
    &credits::PUT_AUTO_TOP_UP,
    &credits::OPEN_ACCOUNT,
    &credits::GET_ACCOUNT,
    &credits::CLOSE_ACCOUNT,
    &appointments::CREATE,
    &appointments::LIST,
    &appointments::GET,
    &appointments::UPDATE,
    &appointments::DELETE,
    &referrers::CREATE,
    &referrers::LIST,
    &referrers::GET,
    &referrers::UPDATE,
    &referrers::DELETE,
    &referrers::REFER,
    &reports::CREATE,
    &reports::LIST,
    &reports::GET,
    &reports::DELETE,
    &reports::RESULTS,
    &campaigns::CREATE,
    &campaigns::LIST,
    &campaigns::GET,
    &campaigns::ESTIMATE,
    &campaigns::UPDATE,
    &campaigns::CANCEL,
    &campaigns::RECIPIENTS,
    &campaigns::RESEND_UNCONFIRMED,
    &uploads::CREATE,
    &uploads::GET,
    &uploads::FAILURES,
    &messages::GET,
    &notifications::LIST,
    &notifications::READ,
    &webhook_endpoints::CREATE,
    &webhook_endpoints::LIST,
    &webhook_endpoints::GET,
    &webhook_endpoints::UPDATE,
    &webhook_endpoints::DELETE,
    &webhook_endpoints::DELIVERIES,
];

/// Every route served without an API key.
pub const PUBLIC: &[&crate::http::PublicEndpoint] = &[
    &webhooks::SMS,
    &webhooks::STRIPE,
    &unsubscribe::POST,
    &unsubscribe::PAGE,
    &openapi::GET,
];
