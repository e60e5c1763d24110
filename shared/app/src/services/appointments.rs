//! Appointments of a clinic: the appointment book reports and reminders read.

use super::{concurrent_update, condition, load_clinic};
use crate::store::{AppointmentFilter, AppointmentWrite, Store, keys};
use crate::{App, ServiceError, ids, json};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde_json::Value;
use tidings_domain::FieldError;
use tidings_domain::appointment::{
    Appointment, AppointmentFields, AppointmentInput, AppointmentStatus, AppointmentView,
};

/// The longest range one `GET /appointments` may ask for.
pub const MAX_LIST_DAYS: i64 = 366;

fn write_error(e: AppointmentWrite) -> ServiceError {
    match e {
        AppointmentWrite::Exists => {
            ServiceError::conflict("duplicate_id", None, "an appointment with this id exists")
        }
        AppointmentWrite::Changed => concurrent_update(),
        AppointmentWrite::UnknownPatient => {
            FieldError::new("patient_id", "not_found", "patient not found").into()
        }
        AppointmentWrite::UnknownPractitioner => {
            FieldError::new("practitioner_id", "not_found", "practitioner not found").into()
        }
    }
}

/// Books an appointment; its at-creation reminder (when the settings have one) goes out now.
pub async fn create(
    app: &App,
    clinic_id: &str,
    input: AppointmentInput,
) -> Result<AppointmentView, ServiceError> {
    let store = &app.store;
    let clinic = load_clinic(store, clinic_id).await?;
    let now = app.now();
    let fields = input.validate()?;
    let a = Appointment {
        id: ids::new_id(),
        completed_at: (fields.status == AppointmentStatus::Completed).then_some(now),
        fields,
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = store.write_appointment(clinic_id, &a, None).await {
        return Err(write_error(condition(e)?));
    }
    super::reminders::on_created(app, &clinic, &a).await;
    Ok(a.view(clinic.fields.time_zone))
}

async fn load(store: &Store, clinic_id: &str, id: &str) -> Result<Appointment, ServiceError> {
    store
        .get_appointment(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("appointment"))
}

pub async fn get(
    store: &Store,
    clinic_id: &str,
    id: &str,
) -> Result<AppointmentView, ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    Ok(load(store, clinic_id, id)
        .await?
        .view(clinic.fields.time_zone))
}

/// The stored fields as a PATCH merges into them (times in the clinic's zone).
fn as_input(f: &AppointmentFields, tz: chrono_tz::Tz) -> Value {
    let t = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
    serde_json::json!({
        "patient_id": f.patient_id,
        "practitioner_id": f.practitioner_id,
        "start": t(f.start),
        "end": t(f.end),
        "location": f.location,
        "appointment_type": f.appointment_type,
        "status": f.status,
    })
}

/// Changes an appointment; the message of the change (moved, cancelled, missed), when the
/// settings have one, goes out now.
pub async fn update(
    app: &App,
    clinic_id: &str,
    id: &str,
    patch: &Value,
) -> Result<AppointmentView, ServiceError> {
    let store = &app.store;
    let clinic = load_clinic(store, clinic_id).await?;
    let prev = load(store, clinic_id, id).await?;
    let mut merged = as_input(&prev.fields, clinic.fields.time_zone);
    json::merge_patch(&mut merged, patch)?;
    let fields = json::from_value::<AppointmentInput>(merged)?.validate()?;
    if fields == prev.fields {
        return Ok(prev.view(clinic.fields.time_zone));
    }
    let now = store.now();
    let a = Appointment {
        completed_at: prev.completion(&fields, now),
        fields,
        updated_at: now,
        ..prev.clone()
    };
    if let Err(e) = store.write_appointment(clinic_id, &a, Some(&prev)).await {
        return Err(match condition(e)? {
            AppointmentWrite::Changed if store.get_appointment(clinic_id, id).await?.is_none() => {
                ServiceError::NotFound("appointment")
            }
            other => write_error(other),
        });
    }
    super::appointment_changes::on_changed(app, &clinic, &prev, &a).await;
    Ok(a.view(clinic.fields.time_zone))
}

pub async fn delete(store: &Store, clinic_id: &str, id: &str) -> Result<(), ServiceError> {
    if !store.delete_appointment(clinic_id, id).await? {
        return Err(ServiceError::NotFound("appointment"));
    }
    Ok(())
}

/// `GET /appointments` query.
#[derive(Debug, Default)]
pub struct ListQuery<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub practitioner_id: Option<&'a str>,
    pub status: Option<&'a str>,
}

/// A date (local midnight in `tz`) or a full RFC 3339 time.
fn bound(field: &str, v: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(d) = v.trim().parse::<NaiveDate>() {
        return tz
            .from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| {
                FieldError::new(field, "invalid", format!("{field} is not a valid date"))
            });
    }
    tidings_domain::appointment::parse_time(field, v).map_err(|_| {
        FieldError::new(
            field,
            "invalid",
            format!("{field} must be a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    })
}

/// A page of the appointment book from `from` (default: today) up to `to` (default: 30 days
/// later; a date `to` includes that whole day), in start order.
pub async fn list(
    store: &Store,
    clinic_id: &str,
    q: ListQuery<'_>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<AppointmentView>, Option<String>), ServiceError> {
    let clinic = load_clinic(store, clinic_id).await?;
    let tz: chrono_tz::Tz = clinic.fields.time_zone;
    let from = match q.from {
        Some(v) => bound("from", v, tz)?,
        None => bound(
            "from",
            &super::clinic_today(&clinic, store.now()).to_string(),
            tz,
        )?,
    };
    let to = match q.to {
        Some(v) if v.trim().parse::<NaiveDate>().is_ok() => bound("to", v, tz)? + Duration::days(1),
        Some(v) => bound("to", v, tz)?,
        None => from + Duration::days(30),
    };
    if to <= from || to - from > Duration::days(MAX_LIST_DAYS) {
        return Err(FieldError::new(
            "to",
            "out_of_range",
            format!("to must be after from and at most {MAX_LIST_DAYS} days later"),
        )
        .into());
    }
    let filter = AppointmentFilter {
        practitioner_id: q.practitioner_id.map(str::to_owned),
        statuses: q
            .status
            .map(|s| {
                s.split(',')
                    .map(|v| AppointmentStatus::parse("status", v))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default(),
    };
    // A cursor holds a place in the book: it must lie in the range read (with other dates the
    // same cursor points elsewhere), and name an appointment id after its time.
    if let Some(a) = after {
        let in_range =
            a >= keys::time_key(&from).as_str() && a < format!("{}#", keys::time_key(&to)).as_str();
        let id_ok = a.rsplit_once('#').is_some_and(|(_, id)| {
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !(in_range && id_ok) {
            return Err(crate::store::cursor::out_of_range().into());
        }
    }
    let page = store
        .appointments_between(clinic_id, from, to, &filter, after, limit)
        .await?;
    Ok((
        page.appointments
            .iter()
            .map(|a| a.view(clinic.fields.time_zone))
            .collect(),
        page.next_after,
    ))
}
