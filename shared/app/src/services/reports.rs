//! Saved reports, and running one now.

use super::audience::{Audience, Member};
use super::load_clinic;
use crate::store::Store;
use crate::{ServiceError, ids, json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tidings_domain::report::{
    AppointmentFiltersInput, PatientFiltersInput, RecallFiltersInput, ReferralFiltersInput, Report,
    ReportType,
};
use tidings_domain::{FieldError, text};

/// `POST /reports` as a client sends it; `filters` is read by `type`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub report_type: Option<ReportType>,
    pub filters: Option<Value>,
}

pub async fn create(
    store: &Store,
    clinic_id: &str,
    input: ReportInput,
) -> Result<Report, ServiceError> {
    let name = text::required("name", input.name.as_deref().unwrap_or_default(), 200)?;
    let report_type = input
        .report_type
        .ok_or_else(|| FieldError::required("type"))?;
    let filters = input
        .filters
        .unwrap_or_else(|| Value::Object(Default::default()));
    let within = |e: FieldError| {
        if e.field.starts_with("filters") {
            e
        } else {
            e.within("filters")
        }
    };
    let spec = match report_type {
        ReportType::Patient => json::from_value::<PatientFiltersInput>(filters)
            .map_err(within)?
            .validate()?,
        ReportType::Appointment => json::from_value::<AppointmentFiltersInput>(filters)
            .map_err(within)?
            .validate()?,
        ReportType::Recall => json::from_value::<RecallFiltersInput>(filters)
            .map_err(within)?
            .validate()?,
        ReportType::Referral => json::from_value::<ReferralFiltersInput>(filters)
            .map_err(within)?
            .validate()?,
    };
    let r = Report {
        id: ids::new_id(),
        name,
        spec,
        created_at: store.now(),
    };
    if !store.create_report(clinic_id, &r).await? {
        return Err(ServiceError::conflict(
            "duplicate_id",
            None,
            "a report with this id exists",
        ));
    }
    Ok(r)
}

pub async fn get(store: &Store, clinic_id: &str, id: &str) -> Result<Report, ServiceError> {
    store
        .get_report(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("report"))
}

pub async fn list(
    store: &Store,
    clinic_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Report>, Option<String>), ServiceError> {
    Ok(store.list_reports(clinic_id, after, limit).await?)
}

pub async fn delete(store: &Store, clinic_id: &str, id: &str) -> Result<(), ServiceError> {
    if !store.delete_report(clinic_id, id).await? {
        return Err(ServiceError::NotFound("report"));
    }
    Ok(())
}

/// One row of a report's results.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResultRow {
    pub id: String,
    pub kind: &'static str,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub appointment_id: Option<String>,
    pub appointment_start: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// The results of running a report now.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Results {
    /// Everyone the report lists now (a person listed twice counts once per listing).
    pub count: u64,
    pub items: Vec<ResultRow>,
    pub next_cursor: Option<String>,
}

fn row(m: &Member, tz: chrono_tz::Tz) -> ResultRow {
    match m {
        Member::Patient {
            patient,
            appointment,
        } => ResultRow {
            id: patient.id.clone(),
            kind: "patient",
            first_name: Some(patient.fields.first_name.clone()),
            last_name: Some(patient.fields.last_name.clone()),
            name: None,
            mobile: patient.fields.mobile.clone(),
            email: patient.fields.email.clone(),
            appointment_id: appointment.as_ref().map(|a| a.id.clone()),
            appointment_start: appointment.as_ref().map(|a| a.view(tz).start),
        },
        Member::Referrer(r) => ResultRow {
            id: r.id.clone(),
            kind: "referrer",
            first_name: None,
            last_name: None,
            name: Some(r.fields.name.clone()),
            mobile: r.fields.mobile.clone(),
            email: r.fields.email.clone(),
            appointment_id: None,
            appointment_start: None,
        },
    }
}

/// Runs the report now: the count of everyone in it and one page of them.
pub async fn results(
    store: &Store,
    clinic_id: &str,
    id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Results, ServiceError> {
    let report = get(store, clinic_id, id).await?;
    let clinic = load_clinic(store, clinic_id).await?;
    let audience = Audience::prepare(store, &clinic, &report.spec, store.now()).await?;
    let mut count = 0u64;
    let mut items = Vec::new();
    let mut last_pos = None;
    let mut more = false;
    let mut collecting = after.is_none();
    let mut position: Option<String> = None;
    loop {
        let page = audience.page(store, position.as_deref(), 500).await?;
        for (pos, m) in &page.members {
            count += 1;
            // Positions grow along the walk: the page goes on after the cursor's position,
            // even when the member there has left the report since (erased, say).
            if !collecting {
                collecting = after.is_some_and(|a| pos.as_str() > a);
            }
            if !collecting {
                continue;
            }
            if items.len() < limit {
                items.push(row(m, clinic.fields.time_zone));
                last_pos = Some(pos.clone());
            } else {
                more = true;
            }
        }
        match page.next {
            Some(p) => position = Some(p),
            None => break,
        }
    }
    Ok(Results {
        count,
        items,
        next_cursor: last_pos.filter(|_| more),
    })
}
