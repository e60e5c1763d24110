//! The integration tests: one binary, a module per feature (crashes of real processes are
//! `tests/crash/`, a binary run apart). They talk to the local stack that `make test` starts
//! (DynamoDB Local, moto, localstripe, `cargo lambda watch`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod appointment_changes;
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
mod credit_accounts;
mod dependants;
mod deployment;
mod end_to_end;
mod export;
mod functions;
mod greetings;
mod keys;
mod messaging;
mod metrics;
mod openapi;
mod outbound_webhooks;
mod patients;
mod practitioners;
mod provider_faults;
mod purchases;
mod reminders;
mod reports;
mod routes;
mod secrets;
mod sent_by;
mod ses_events;
mod smoke;
mod stats;
mod sweep_fanout;
mod sweeps_local;
mod templates;
mod unconfirmed;
mod unsubscribe;
mod uploads;
mod webhooks;
