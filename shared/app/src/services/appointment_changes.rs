//! What a patient is told when the practice changes a booked appointment (`on_change`,
//! `on_cancel`, `on_missed` in the reminder settings): sent at once by the request that made
//! the change, once per appointment and change, as a reminder is (consent `receive_reminders`,
//! a dependant's contacts, paid as a reminder). In quiet hours it is held, and the reminder
//! sweep sends it when they end, if the appointment is still as the change left it.

use super::automatic::Tally;
use super::pacing::Pacer;
use super::reminders::{Copy, How, deliver, settings_for};
use crate::store::HeldChange;
use crate::{App, ServiceError};
use chrono::{DateTime, SecondsFormat, Utc};
use tidings_domain::appointment::Appointment;
use tidings_domain::clinic::Clinic;
use tidings_domain::reminder::{Change, change_of};

/// The appointment's version: what a change message is claimed under (to the nanosecond: two
/// changes within a second are two versions). A PATCH that changes nothing writes no version
/// and sends nothing.
fn version(a: &Appointment) -> String {
    a.updated_at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn purpose(change: Change, a: &Appointment) -> String {
    format!("{}|{}|{}", change.as_str(), a.id, version(a))
}

/// Sends the message of the change from `before` to `after`, if the settings have one (or
/// holds it, in quiet hours). The change itself is saved whatever becomes of it: a failure is
/// logged with the ids.
pub async fn on_changed(app: &App, clinic: &Clinic, before: &Appointment, after: &Appointment) {
    // Most changes (a status confirmed, a note) are no news: known without reading settings.
    if change_of(&before.fields, &after.fields, &[after.fields.status]).is_none() {
        return;
    }
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
        let tz = clinic.fields.time_zone;
        if let Some(q) = settings.quiet_hours.filter(|q| q.contains(now, tz)) {
            let held = HeldChange {
                appointment_id: after.id.clone(),
                change: change.as_str().to_owned(),
                version: version(after),
            };
            app.store
                .hold_change(&clinic.id, &held, q.end_after(now, tz))
                .await?;
            tracing::info!(
                clinic_id = clinic.id,
                appointment_id = after.id,
                change = change.as_str(),
                "change message held for quiet hours"
            );
            return Ok(());
        }
        let copy = Copy {
            channels,
            ask_for_reply: false,
            what: change.as_str().to_owned(),
            link: None,
        };
        let blocked = app.store.blocked(&clinic.id).await?;
        let pacer = Pacer::for_request(app);
        let t = deliver(
            app,
            clinic,
            &copy,
            purpose(change, after),
            after,
            None,
            &blocked,
            How::paced(&pacer),
            now,
        )
        .await?;
        // Its turn in the account's send rate would keep the request waiting: held for the
        // next sweep, as in quiet hours, which sends it paced.
        if t.deferred > 0 {
            let held = HeldChange {
                appointment_id: after.id.clone(),
                change: change.as_str().to_owned(),
                version: version(after),
            };
            app.store.hold_change(&clinic.id, &held, now).await?;
            tracing::info!(
                clinic_id = clinic.id,
                appointment_id = after.id,
                change = change.as_str(),
                "change message held for the sweep: the send rate is taken"
            );
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::error!(clinic_id = clinic.id, appointment_id = after.id, error = %e, "appointment change message failed");
    }
}

/// Sends the held change messages whose quiet hours have ended (the reminder sweep calls it for
/// each clinic): each only if its appointment is still the version the change made (a later
/// change has its own message), once. What became of each message sent.
pub(crate) async fn send_held(
    app: &App,
    pacer: &Pacer,
    clinic: &Clinic,
    now: DateTime<Utc>,
) -> Result<Vec<Tally>, ServiceError> {
    let store = &app.store;
    let mut tallies = Vec::new();
    let due = store.held_changes_due(&clinic.id, now).await?;
    // What not to send to, read once for all of them (and not at all when none is due).
    let blocked = if due.is_empty() {
        Default::default()
    } else {
        store.blocked(&clinic.id).await?
    };
    for held in due {
        // Left for the clinic's next sweep, held as they are.
        if pacer.out_of_time() {
            tallies.push(Tally::DEFERRED);
            continue;
        }
        let current = store
            .get_appointment(&clinic.id, &held.appointment_id)
            .await?;
        let (Some(a), Some(change)) = (current, Change::parse(&held.change)) else {
            store.drop_held_change(&clinic.id, &held).await?;
            continue;
        };
        if version(&a) != held.version {
            store.drop_held_change(&clinic.id, &held).await?;
            continue;
        }
        let settings = settings_for(app, &clinic.id, a.fields.practitioner_id.as_deref()).await?;
        if settings
            .quiet_hours
            .is_some_and(|q| q.contains(now, clinic.fields.time_zone))
        {
            continue;
        }
        if let Some(channels) = settings.lifecycle.get(change).filter(|_| settings.enabled) {
            let copy = Copy {
                channels,
                ask_for_reply: false,
                what: change.as_str().to_owned(),
                link: None,
            };
            let t = deliver(
                app,
                clinic,
                &copy,
                purpose(change, &a),
                &a,
                None,
                &blocked,
                How::paced(pacer),
                now,
            )
            .await?;
            tallies.push(t);
            if t.deferred > 0 {
                continue;
            }
        }
        store.drop_held_change(&clinic.id, &held).await?;
    }
    Ok(tallies)
}
