//! The integration tests: one binary, a module per feature. They talk to the local stack that
//! `make test` starts (DynamoDB Local, moto, localstripe, `cargo lambda watch`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod appointments;
mod auth;
mod campaign_credits;
mod campaign_leases;
mod campaign_pacing;
mod campaign_recovery;
mod campaign_stops;
mod campaigns;
mod clinic;
mod contacts;
mod crash;
mod credit_accounts;
mod deployment;
mod end_to_end;
mod export;
mod greetings;
mod messaging;
mod metrics;
mod patients;
mod practitioners;
mod provider_faults;
mod purchases;
mod reminders;
mod reports;
mod routes;
mod secrets;
mod ses_events;
mod smoke;
mod sweeps_local;
mod templates;
mod unconfirmed;
mod unsubscribe;
mod uploads;
mod webhooks;
