//! Services: each applies the domain rules to one kind of record through the store.

pub mod api_keys;
pub mod appointment_changes;
pub mod appointments;
pub mod audience;
pub mod auto_top_up;
pub mod automatic;
pub mod campaign_estimate;
pub mod campaign_run;
pub mod campaigns;
pub mod clinics;
pub mod contacts;
pub mod credit_stats;
pub mod credits;
pub mod day_counts;
pub mod email_events;
pub mod greetings;
pub mod inbound;
pub mod messages;
pub(crate) mod pacing;
pub mod patients;
pub mod practitioners;
pub mod preview;
pub mod provider_posts;
pub mod purchases;
pub mod referrers;
pub(crate) mod reminder_batches;
pub mod reminder_settings;
pub mod reminders;
pub mod rendering;
pub mod reports;
pub mod sending;
pub mod sent_batches;
pub mod stripe_events;
pub mod templates;
pub mod unconfirmed;
pub mod unsubscribe;
pub mod uploads;
pub mod webhook_delivery;
pub mod webhook_endpoints;
pub mod webhook_events;

use crate::ServiceError;
use crate::store::{Store, StoreError, TxError};
use chrono::NaiveDate;
use tidings_domain::clinic::Clinic;

/// The caller's clinic; 404 if it no longer exists.
pub async fn load_clinic(store: &Store, clinic_id: &str) -> Result<Clinic, ServiceError> {
    store
        .get_clinic(clinic_id)
        .await?
        .ok_or(ServiceError::NotFound("clinic"))
}

/// The date at `now` where the clinic is.
pub fn clinic_today(clinic: &Clinic, now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    now.with_timezone(&clinic.fields.time_zone).date_naive()
}

/// An id in a request body that names nothing in the clinic: a 400 on that field.
pub(crate) fn not_found_as_field(e: ServiceError, field: &str) -> ServiceError {
    match e {
        ServiceError::NotFound(what) => {
            tidings_domain::FieldError::new(field, "not_found", format!("{what} not found")).into()
        }
        other => other,
    }
}

/// The 409 for a record that changed between read and write.
pub(crate) fn concurrent_update() -> ServiceError {
    ServiceError::conflict(
        "concurrent_update",
        None,
        "the record changed while this request ran; read it again and retry",
    )
}

/// Splits a transaction failure into its condition meaning or a storage error.
pub(crate) fn condition<F>(e: TxError<F>) -> Result<F, StoreError> {
    match e {
        TxError::Condition(f) => Ok(f),
        TxError::Store(s) => Err(s),
    }
}
