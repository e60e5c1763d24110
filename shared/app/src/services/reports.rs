//! Saved reports, and running one now.

use super::audience::{Audience, Member, PAGE};
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
    /// Everyone the report lists now (a person listed twice counts once per listing); on the
    /// first page only (`null` on the pages a cursor asks for).
    pub count: Option<u64>,
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

/// A page of the report's results. The first page (no cursor) walks on through the audience
/// to count it; a page with a cursor starts at the cursor's position and reads only until it
/// has its page and knows whether more follow. Positions grow along the walk: a page goes on
/// after the cursor's position even when the member there has left the report since (erased,
/// say). Either way it reads at most `max_reads` times 500 people: a first page that could
/// not count everyone by then has no count, and a page still short of its items (a report few
/// people match) answers what it has, with a cursor at the position it reached.
pub async fn results(
    store: &Store,
    clinic_id: &str,
    id: &str,
    after: Option<&str>,
    limit: usize,
    max_reads: usize,
) -> Result<Results, ServiceError> {
    let report = get(store, clinic_id, id).await?;
    let clinic = load_clinic(store, clinic_id).await?;
    let audience = Audience::prepare(store, &clinic, &report.spec, store.now()).await?;
    let mut count = 0u64;
    let mut items = Vec::new();
    let mut last_pos = None;
    let mut more = false;
    let mut position: Option<String> = after.map(str::to_owned);
    // Read in people: the audience is read at most `max_reads` times 500.
    let mut budget = max_reads.saturating_mul(PAGE);
    let (counted, reached) = loop {
        // The first page counts everyone, in large reads; a later one first reads its page
        // and one more (then larger reads, when few people match).
        let read = if after.is_some() && position.as_deref() == after {
            limit.saturating_add(1)
        } else {
            PAGE
        }
        .min(budget);
        budget -= read;
        let page = audience.page(store, position.as_deref(), read).await?;
        for (pos, m) in &page.members {
            count += 1;
            if after.is_some_and(|a| pos.as_str() <= a) {
                continue;
            }
            if items.len() < limit {
                items.push(row(m, clinic.fields.time_zone));
                last_pos = Some(pos.clone());
            } else {
                more = true;
            }
        }
        // The first page walks on to count; a later one stops once it knows more follow.
        match page.next {
            Some(p) if after.is_none() || !more => {
                if budget == 0 {
                    break (false, (!more).then_some(p));
                }
                position = Some(p);
            }
            _ => break (true, None),
        }
    };
    Ok(Results {
        count: (after.is_none() && counted).then_some(count),
        items,
        next_cursor: if more { last_pos } else { reached },
    })
}
