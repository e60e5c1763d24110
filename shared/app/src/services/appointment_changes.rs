//! What a patient is told when the practice changes a booked appointment (`on_change`,
//! `on_cancel`, `on_missed` in the reminder settings): sent at once by the request that made
//! the change, once per appointment and change, as a reminder is (consent `receive_reminders`,
//! a dependant's contacts, paid as a reminder). In quiet hours it is recorded as skipped
//! `quiet_hours`: news of a change is not held for later.

use super::reminders::{Copy, deliver, settings_for};
use crate::{App, ServiceError};
use tidings_domain::appointment::Appointment;
use tidings_domain::clinic::Clinic;
use tidings_domain::message::SkipReason;
use tidings_domain::reminder::{Change, change_of};

/// What one change is claimed under: the appointment's version after it (to the nanosecond:
/// two changes within a second are two versions), so a change is one message and the next
/// change another. A PATCH that changes nothing writes no version and sends nothing.
fn purpose(change: Change, a: &Appointment) -> String {
    let version = a
        .updated_at
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    format!("{}|{}|{version}", change.as_str(), a.id)
}

/// Sends the message of the change from `before` to `after`, if the settings have one. The
/// change itself is saved whatever becomes of it: a failure is logged with the ids.
pub async fn on_changed(app: &App, clinic: &Clinic, before: &Appointment, after: &Appointment) {
    let result = async {
        let settings =
            settings_for(app, &clinic.id, after.fields.practitioner_id.as_deref()).await?;
        let now = app.now();
        let Some(change) = change_of(&before.fields, &after.fields, &settings.statuses) else {
            return Ok::<_, ServiceError>(());
        };
        let Some(channels) = settings.lifecycle.get(change).filter(|_| settings.enabled) else {
            return Ok(());
        };
        if change == Change::Moved && after.fields.start <= now {
            return Ok(());
        }
        let quiet = settings
            .quiet_hours
            .is_some_and(|q| q.contains(now, clinic.fields.time_zone));
        let copy = Copy {
            channels,
            ask_for_reply: false,
            what: change.as_str().to_owned(),
            link: None,
        };
        let blocked = app.store.blocked(&clinic.id).await?;
        let skip = quiet.then_some(SkipReason::QuietHours);
        deliver(
            app,
            clinic,
            &copy,
            purpose(change, after),
            after,
            skip,
            &blocked,
            now,
        )
        .await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::error!(clinic_id = clinic.id, appointment_id = after.id, error = %e, "appointment change message failed");
    }
}
