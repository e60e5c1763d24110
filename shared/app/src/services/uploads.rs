//! Uploaded lists (seed 003): each row of a CSV matched to a patient by external id and date
//! of birth, for a campaign on one channel; unmatched rows are kept with their reason.

use super::load_clinic;
use crate::store::{FailedRow, MatchedRow, Referenced, Store, UploadSummary, upload_ref_keys};
use crate::{ServiceError, ids};
use chrono::NaiveDate;
use futures::StreamExt;
use std::collections::HashSet;
use tidings_domain::message_template::Channel;
use tidings_domain::phone::{Country, optional_mobile};
use tidings_domain::upload::{RowFailure, UploadRow, parse};
use tidings_domain::{FieldError, email};

/// Rows per stored chunk (and per campaign page).
pub const CHUNK_ROWS: usize = 100;
/// Lookups in flight at once while matching.
const CONCURRENCY: usize = 16;

/// A date of birth as practice systems export it: `YYYY-MM-DD` or `DD/MM/YYYY`.
fn parse_dob(v: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"))
        .ok()
}

async fn match_row(
    store: &Store,
    clinic_id: &str,
    country: Country,
    channel: Channel,
    row: &UploadRow,
) -> Result<Result<MatchedRow, RowFailure>, ServiceError> {
    let Some(dob) = parse_dob(&row.date_of_birth) else {
        return Ok(Err(RowFailure::DateOfBirthMismatch));
    };
    let Some(patient_id) = store
        .patient_id_by_external_id(clinic_id, &row.external_id)
        .await?
    else {
        return Ok(Err(RowFailure::NotFound));
    };
    let Some(p) = store.get_patient(clinic_id, &patient_id).await? else {
        return Ok(Err(RowFailure::NotFound));
    };
    if p.patient.fields.date_of_birth != Some(dob) {
        return Ok(Err(RowFailure::DateOfBirthMismatch));
    }
    let mobile = match optional_mobile("mobile", Some(&row.mobile), country) {
        Ok(m) => m,
        Err(_) => return Ok(Err(RowFailure::InvalidMobile)),
    };
    let email = match email::optional("email", Some(&row.email)) {
        Ok(e) => e,
        Err(_) => return Ok(Err(RowFailure::InvalidEmail)),
    };
    let reachable = match channel {
        Channel::Sms => mobile.is_some() || p.patient.fields.mobile.is_some(),
        Channel::Email => email.is_some() || p.patient.fields.email.is_some(),
    };
    if !reachable {
        return Ok(Err(RowFailure::NoContactDetail));
    }
    Ok(Ok(MatchedRow {
        line: row.line,
        patient_id,
        mobile,
        email,
    }))
}

/// `POST /uploads?channel=`: reads and matches the file, stores the result.
pub async fn create(
    store: &Store,
    clinic_id: &str,
    channel: Option<&str>,
    body: &[u8],
) -> Result<UploadSummary, ServiceError> {
    let channel = match channel.map(str::trim) {
        Some("sms") => Channel::Sms,
        Some("email") => Channel::Email,
        _ => {
            return Err(
                FieldError::new("channel", "invalid", "channel must be sms or email").into(),
            );
        }
    };
    let rows = parse(body)?;
    if rows.is_empty() {
        return Err(FieldError::new("line 2", "malformed_csv", "the file has no rows").into());
    }
    let clinic = load_clinic(store, clinic_id).await?;
    let country = clinic.fields.default_country()?;
    let mut seen = HashSet::new();
    let duplicate: Vec<bool> = rows
        .iter()
        .map(|r| !seen.insert(r.external_id.to_lowercase()))
        .collect();
    let outcomes: Vec<Result<Result<MatchedRow, RowFailure>, ServiceError>> =
        futures::stream::iter(rows.clone().into_iter().zip(duplicate))
            .map(|(row, dup)| async move {
                if dup {
                    return Ok(Err(RowFailure::DuplicateRow));
                }
                match_row(store, clinic_id, country, channel, &row).await
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
    let mut matched = Vec::new();
    let mut failed = Vec::new();
    for (row, outcome) in rows.into_iter().zip(outcomes) {
        match outcome? {
            Ok(m) => matched.push(m),
            Err(reason) => failed.push(FailedRow { row, reason }),
        }
    }
    let id = ids::new_id();
    // The rows first, the summary last: an upload is seen only once all of it is stored. A
    // write that fails takes back the chunks already written, so none is left behind.
    let mut written = Vec::new();
    let to = (clinic_id, country);
    let stored = match put_chunks(store, to, &id, "MATCHED", &matched, &mut written).await {
        Ok(()) => put_chunks(store, to, &id, "FAILED", &failed, &mut written).await,
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        for (kind, n, refs) in written {
            if let Err(del) = store
                .delete_upload_chunk(clinic_id, &id, (kind, n), &refs)
                .await
            {
                tracing::error!(clinic_id, upload_id = id, error = %del, "partial upload chunk left");
            }
        }
        return Err(e.into());
    }
    let summary = UploadSummary {
        id,
        channel,
        rows: matched.len() + failed.len(),
        matched: matched.len(),
        unmatched: failed.len(),
        matched_chunks: matched.len().div_ceil(CHUNK_ROWS),
        failed_chunks: failed.len().div_ceil(CHUNK_ROWS),
        created_at: store.now(),
    };
    store.put_upload_summary(clinic_id, &summary).await?;
    tracing::info!(
        clinic_id,
        upload_id = summary.id,
        matched = summary.matched,
        unmatched = summary.unmatched,
        "list uploaded"
    );
    Ok(summary)
}

pub async fn get(store: &Store, clinic_id: &str, id: &str) -> Result<UploadSummary, ServiceError> {
    store
        .get_upload(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("upload"))
}

/// Stores `rows` in chunks of [`CHUNK_ROWS`] with their references, noting each chunk (and
/// its references) it tried to write, so that a failure takes back all of it.
async fn put_chunks<T: serde::Serialize + Referenced>(
    store: &Store,
    (clinic_id, country): (&str, Country),
    id: &str,
    kind: &'static str,
    rows: &[T],
    written: &mut Vec<(&'static str, usize, Vec<String>)>,
) -> Result<(), crate::store::StoreError> {
    for (n, chunk) in rows.chunks(CHUNK_ROWS).enumerate() {
        let refs = upload_ref_keys(id, (kind, n), chunk, country);
        let put = store
            .put_upload_chunk(clinic_id, id, (kind, n), chunk, &refs)
            .await;
        // Noted even when the write failed: some of its references may be stored.
        written.push((kind, n, refs));
        put?;
    }
    Ok(())
}

/// `GET /uploads/{id}/failures.csv`: every unmatched row as uploaded, with its reason.
pub async fn failures_csv(
    store: &Store,
    clinic_id: &str,
    id: &str,
) -> Result<Vec<u8>, ServiceError> {
    let u = get(store, clinic_id, id).await?;
    let mut w = crate::csv_out::CsvOut::new();
    w.row(
        std::iter::once("line")
            .chain(UploadRow::COLUMNS)
            .chain(["reason"]),
    )?;
    for n in 0..u.failed_chunks {
        for f in store.failed_chunk(clinic_id, id, n).await? {
            let r = &f.row;
            w.row([
                r.line.to_string().as_str(),
                &r.external_id,
                &r.date_of_birth,
                &r.first_name,
                &r.last_name,
                &r.mobile,
                &r.email,
                f.reason.as_str(),
            ])?;
        }
    }
    Ok(w.finish()?)
}
