//! Tidings' domain: the rules every feature shares, free of AWS, Lambda, tokio and any I/O.
//!
//! Each module validates one kind of input and turns it into a type that can only hold valid
//! values, so the layers above never re-check what the domain has accepted.

pub mod actor;
pub mod api_key;
pub mod appointment;
pub mod campaign;
pub mod campaign_step;
pub mod clinic;
pub mod contact;
pub mod credits;
pub mod day_counts;
pub mod digest;
pub mod email;
pub mod export;
pub mod greeting;
pub mod local_time;
pub mod message;
pub mod message_template;
pub mod notification;
pub mod outbound;
pub mod patient;
pub mod phone;
pub mod practitioner;
pub mod pricing;
pub mod purchase;
pub mod referrer;
pub mod reminder;
pub mod reply;
pub mod report;
pub mod schedule_expression;
pub mod sender_id;
pub mod ses_event;
pub mod sms;
pub mod stripe_event;
pub mod template;
pub mod text;
pub mod unsubscribe;
pub mod upload;
pub mod validation;
pub mod webhook;

pub use validation::FieldError;
