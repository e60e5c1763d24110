//! Campaigns as the API sees them: create (and schedule), the communication report, cancel,
//! and who each run reached. `campaign_run` does the sending when a schedule fires.

use super::{load_clinic, not_found_as_field, templates};
use crate::scheduler::ScheduleSpec;
use crate::store::StatusChange;
use crate::{App, ServiceError, ids, json};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use serde_json::Value;
use tidings_domain::FieldError;
use tidings_domain::campaign::{AudienceSource, Campaign, CampaignInput, CampaignStatus, Counts};
use tidings_domain::message::Message;

/// A one-time campaign asked for "now" is scheduled this many seconds ahead, so that the
/// schedule is still in the future when Scheduler stores it.
pub const NOW_LEAD_SECS: i64 = 5;

/// The context attribute Scheduler replaces with the firing's scheduled time.
pub const SCHEDULED_TIME: &str = "<aws.scheduler.scheduled-time>";

/// A campaign as the communication report shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub next_send_at: Option<DateTime<Utc>>,
}

impl CampaignView {
    /// The campaign and when it next sends, seen at `now`.
    fn at(campaign: Campaign, now: DateTime<Utc>) -> Self {
        Self {
            next_send_at: campaign.next_send_at(now),
            campaign,
        }
    }
}

/// The JSON a campaign's schedule sends to the campaign function.
pub fn fire_input(clinic_id: &str, campaign_id: &str, scheduled_time: &str) -> String {
    serde_json::json!({
        "clinic_id": clinic_id,
        "campaign_id": campaign_id,
        "scheduled_time": scheduled_time,
    })
    .to_string()
}

pub async fn create(
    app: &App,
    clinic_id: &str,
    input: CampaignInput,
    key_id: &str,
) -> Result<CampaignView, ServiceError> {
    let store = &app.store;
    let now = app.now();
    let fields = input.validate(now)?;
    let clinic = load_clinic(store, clinic_id).await?;
    match &fields.audience {
        AudienceSource::Report(id) => {
            super::reports::get(store, clinic_id, id)
                .await
                .map_err(|e| not_found_as_field(e, "report_id"))?;
        }
        AudienceSource::Upload(id) => {
            super::uploads::get(store, clinic_id, id)
                .await
                .map_err(|e| not_found_as_field(e, "upload_id"))?;
        }
    }
    for (channel, template_id) in fields.channels.used() {
        let field = format!("channels.{}", channel.as_str());
        let t = templates::get(store, clinic_id, template_id)
            .await
            .map_err(|e| match e {
                ServiceError::NotFound(_) => {
                    FieldError::new(field.clone(), "not_found", "template not found").into()
                }
                other => other,
            })?;
        if t.fields.channel != channel {
            return Err(FieldError::new(
                field,
                "wrong_channel",
                format!("this is a {} template", t.fields.channel.as_str()),
            )
            .into());
        }
    }
    if let Some(p) = &fields.on_behalf_of {
        super::practitioners::get(store, clinic_id, p)
            .await
            .map_err(|e| not_found_as_field(e, "on_behalf_of"))?;
    }
    let tz = clinic.fields.time_zone;
    let mut fields = fields;
    let (expression, start) = match &fields.repeat {
        None => {
            let at = fields
                .send_at
                .max(now + Duration::seconds(NOW_LEAD_SECS))
                .duration_round_up(Duration::seconds(1))
                .unwrap_or(fields.send_at);
            fields.send_at = at;
            let local = at.with_timezone(&tz).naive_local();
            let at_expr = format!("at({})", local.format("%Y-%m-%dT%H:%M:%S"));
            (at_expr, None)
        }
        Some(r) => {
            // A schedule expression names whole minutes: the first firing is the first whole
            // minute at or after `send_at` (so "now" is within the minute, never tomorrow).
            let first = fields
                .send_at
                .max(now + Duration::seconds(NOW_LEAD_SECS))
                .duration_round_up(Duration::minutes(1))
                .unwrap_or(fields.send_at);
            fields.send_at = first;
            (
                r.expression(first.with_timezone(&tz).naive_local()),
                Some(first),
            )
        }
    };
    let id = ids::new_id();
    let campaign = Campaign {
        schedule_name: format!("campaign-{id}"),
        id,
        fields,
        status: CampaignStatus::Scheduled,
        status_reason: None,
        schedule_expression: expression,
        time_zone: tz,
        runs: 0,
        last_run_id: None,
        counts: Counts::default(),
        credits_used: 0,
        created_by: Some(key_id.to_owned()),
        created_at: now,
        updated_at: now,
    };
    if !store.create_campaign(clinic_id, &campaign).await? {
        return Err(ServiceError::conflict(
            "duplicate_id",
            None,
            "a campaign with this id exists",
        ));
    }
    let scheduled = app
        .scheduler
        .create(ScheduleSpec {
            name: &campaign.schedule_name,
            expression: &campaign.schedule_expression,
            time_zone: campaign.time_zone.name(),
            start,
            input: fire_input(clinic_id, &campaign.id, SCHEDULED_TIME),
            one_off: campaign.fields.repeat.is_none(),
        })
        .await;
    if let Err(e) = scheduled {
        // Leave nothing half made: a campaign without a schedule would never send.
        if let Err(undo) = store.delete_campaign(clinic_id, &campaign.id).await {
            tracing::error!(campaign_id = campaign.id, error = %undo, "unscheduled campaign left behind");
        }
        return Err(e.into());
    }
    tracing::info!(clinic_id, campaign_id = campaign.id, "campaign scheduled");
    Ok(CampaignView::at(campaign, app.now()))
}

pub async fn load(app: &App, clinic_id: &str, id: &str) -> Result<Campaign, ServiceError> {
    app.store
        .get_campaign(clinic_id, id)
        .await?
        .ok_or(ServiceError::NotFound("campaign"))
}

pub async fn get(app: &App, clinic_id: &str, id: &str) -> Result<CampaignView, ServiceError> {
    Ok(CampaignView::at(load(app, clinic_id, id).await?, app.now()))
}

/// The communication report: campaigns newest first, optionally of one status.
pub async fn list(
    app: &App,
    clinic_id: &str,
    status: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<CampaignView>, Option<String>), ServiceError> {
    let status = status
        .map(|s| CampaignStatus::parse("status", s))
        .transpose()?;
    let (items, next) = app
        .store
        .list_campaigns(clinic_id, status, after, limit)
        .await?;
    Ok((
        items
            .into_iter()
            .map(|c| CampaignView::at(c, app.now()))
            .collect(),
        next,
    ))
}

/// Fields a PATCH may not change: the schedule and what it sends are fixed once created.
const FIXED: &[&str] = &[
    "send_at",
    "repeat",
    "channels",
    "report_id",
    "upload_id",
    "notify_contacts",
    "on_behalf_of",
];

/// `PATCH /campaigns/{id}`: only the name can change.
pub async fn update(
    app: &App,
    clinic_id: &str,
    id: &str,
    patch: &Value,
) -> Result<CampaignView, ServiceError> {
    let prev = load(app, clinic_id, id).await?;
    let Some(obj) = patch.as_object() else {
        return Err(FieldError::new("body", "invalid", "send a JSON object").into());
    };
    for key in obj.keys() {
        if let Some(f) = FIXED.iter().find(|f| **f == key) {
            return Err(ServiceError::conflict(
                "schedule_not_editable",
                Some(f),
                "a campaign's schedule and content cannot be changed: cancel it and create a new one",
            ));
        }
        if key != "name" {
            return Err(FieldError::new(
                key.as_str(),
                "unknown_field",
                format!("{key} is not a campaign field"),
            )
            .into());
        }
    }
    let name = match obj.get("name") {
        Some(v) => tidings_domain::text::required(
            "name",
            json::from_value::<String>(v.clone())
                .map_err(|e| e.within("name"))?
                .as_str(),
            200,
        )?,
        None => prev.fields.name.clone(),
    };
    if name == prev.fields.name {
        return Ok(CampaignView::at(prev, app.now()));
    }
    let mut c = prev.clone();
    c.fields.name = name;
    c.updated_at = app.now();
    if !app.store.replace_campaign(clinic_id, &c, &prev).await? {
        return Err(super::concurrent_update());
    }
    Ok(CampaignView::at(c, app.now()))
}

/// `POST /campaigns/{id}/cancel`: deletes the schedule and marks the campaign cancelled; a
/// run in progress stops at its next page.
pub async fn cancel(app: &App, clinic_id: &str, id: &str) -> Result<CampaignView, ServiceError> {
    let c = load(app, clinic_id, id).await?;
    if c.status == CampaignStatus::Cancelled {
        return Ok(CampaignView::at(c, app.now()));
    }
    if !c.status.is_live() {
        return Err(ServiceError::conflict(
            "not_cancellable",
            None,
            format!(
                "the campaign is {} and will not send again",
                c.status.as_str()
            ),
        ));
    }
    app.scheduler.delete(&c.schedule_name).await?;
    let changed = app
        .store
        .set_campaign_status(
            clinic_id,
            id,
            StatusChange {
                to: CampaignStatus::Cancelled,
                from: &[
                    CampaignStatus::Scheduled,
                    CampaignStatus::Sending,
                    CampaignStatus::Paused,
                ],
                reason: Some("cancelled"),
            },
            None,
            app.now(),
        )
        .await?;
    let now = load(app, clinic_id, id).await?;
    if !changed && now.status != CampaignStatus::Cancelled {
        return Err(ServiceError::conflict(
            "not_cancellable",
            None,
            format!(
                "the campaign is {} and will not send again",
                now.status.as_str()
            ),
        ));
    }
    tracing::info!(clinic_id, campaign_id = id, "campaign cancelled");
    Ok(CampaignView::at(now, app.now()))
}

/// One person of a run as `GET /campaigns/{id}/recipients` shows them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RecipientRow {
    pub message_id: String,
    pub patient_id: String,
    pub recipient: tidings_domain::message::RecipientKind,
    pub contact_id: Option<String>,
    pub channel: tidings_domain::message_template::Channel,
    pub to: Option<String>,
    pub status: tidings_domain::message::Status,
    pub reason: Option<String>,
    pub credits: u32,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<&Message> for RecipientRow {
    fn from(m: &Message) -> Self {
        Self {
            message_id: m.id.clone(),
            patient_id: m.patient_id.clone(),
            recipient: m.recipient,
            contact_id: m.contact_id.clone(),
            channel: m.channel,
            to: m.to.clone(),
            status: m.status,
            reason: m.reason.clone(),
            credits: m.credits,
            sent_at: m.sent_at,
        }
    }
}

/// A page of the recipients of one run (default: the last) of a campaign.
pub async fn recipients(
    app: &App,
    clinic_id: &str,
    id: &str,
    run_id: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<RecipientRow>, Option<String>), ServiceError> {
    let c = load(app, clinic_id, id).await?;
    let run = match run_id {
        Some(r) => {
            app.store.get_run(clinic_id, id, r).await?.ok_or_else(|| {
                FieldError::new("run_id", "not_found", "no such run of this campaign")
            })?;
            r.to_owned()
        }
        None => match c.last_run_id {
            Some(r) => r,
            None => return Ok((Vec::new(), None)),
        },
    };
    let (messages, next) = app
        .store
        .request_messages_page(clinic_id, &run, after, limit)
        .await?;
    Ok((messages.iter().map(RecipientRow::from).collect(), next))
}

/// The same rows as CSV (header included on the first chunk).
pub fn recipients_csv(rows: &[RecipientRow], header: bool) -> Result<Vec<u8>, ServiceError> {
    let mut w = crate::csv_out::CsvOut::new();
    if header {
        w.row([
            "message_id",
            "patient_id",
            "recipient",
            "contact_id",
            "channel",
            "to",
            "status",
            "reason",
            "credits",
            "sent_at",
        ])?;
    }
    for r in rows {
        w.row([
            r.message_id.clone(),
            r.patient_id.clone(),
            plain(&r.recipient),
            r.contact_id.clone().unwrap_or_default(),
            r.channel.as_str().to_owned(),
            r.to.clone().unwrap_or_default(),
            plain(&r.status),
            r.reason.clone().unwrap_or_default(),
            r.credits.to_string(),
            r.sent_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ])?;
    }
    Ok(w.finish()?)
}

/// A unit-variant enum as its JSON string.
fn plain<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}
