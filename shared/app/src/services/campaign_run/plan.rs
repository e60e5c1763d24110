//! Planning a campaign run: what every page needs (templates, sender, paying account), the
//! audience of the moment, and one decided message per person and channel.

use crate::services::audience::{Audience, Member};
use crate::services::rendering::{AppointmentValues, clinic_values, patient_values};
use crate::services::sending::{fill, render, skip};
use crate::services::templates;
use crate::{App, ServiceError, ids};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tidings_domain::actor::Actor;
use tidings_domain::campaign::{AudienceSource, Campaign, StopReason, message_id};
use tidings_domain::clinic::Clinic;
use tidings_domain::credits::{EntryKind, GROUP_ACCOUNT, LedgerEntry, Spend};
use tidings_domain::message::{Message, RecipientKind, SkipReason, reach_contact, reach_patient};
use tidings_domain::message_template::{Category, Channel, CompiledMessage};
use tidings_domain::practitioner::Practitioner;
use tidings_domain::template::{Placeholder, Values};

/// Everything a run needs that does not change from page to page.
pub(crate) struct Plan {
    pub(crate) clinic: Clinic,
    pub(crate) campaign: Campaign,
    pub(crate) run_id: String,
    words: Vec<(Channel, CompiledMessage, Category, String)>,
    on_behalf_of: Option<Practitioner>,
    from_name: Option<String>,
    reply_to: Option<String>,
    /// The credit account that pays ([`crate::services::credits::paying_account`]).
    pub(crate) account: String,
}

impl Plan {
    /// This run's message, not yet rendered, to `person` (a patient or a referrer) or to their
    /// `contact`, on `channel`, from the template `template_id`.
    fn message(
        &self,
        (person, contact): (&str, Option<&str>),
        kind: RecipientKind,
        (channel, category, template_id): (Channel, Category, &str),
        now: DateTime<Utc>,
    ) -> Message {
        let mut m = Message::planned(
            message_id(&self.run_id, person, contact, channel),
            &self.run_id,
            channel,
            category,
            person,
            kind,
            now,
        );
        m.contact_id = contact.map(str::to_owned);
        m.template_id = Some(template_id.to_owned());
        m.account = (self.account != GROUP_ACCOUNT).then(|| self.account.clone());
        m.sent_by = self.campaign.created_by.as_deref().map(Actor::key);
        m
    }
}

/// The campaign's audience as of `now`; `Ok(Err(reason))` when its report or upload is gone.
pub(crate) async fn audience_of(
    app: &App,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Result<Audience, StopReason>, ServiceError> {
    let store = &app.store;
    let clinic_id = &plan.clinic.id;
    Ok(Ok(match &plan.campaign.fields.audience {
        AudienceSource::Report(report_id) => {
            let Some(report) = store.get_report(clinic_id, report_id).await? else {
                return Ok(Err(StopReason::ReportDeleted));
            };
            Audience::prepare(store, &plan.clinic, &report.spec, now).await?
        }
        AudienceSource::Upload(upload_id) => {
            let Some(upload) = store.get_upload(clinic_id, upload_id).await? else {
                return Ok(Err(StopReason::UploadDeleted));
            };
            Audience::Upload {
                upload_id: upload.id,
                chunks: upload.matched_chunks,
                clinic_id: clinic_id.clone(),
            }
        }
    }))
}

/// Loads what every page needs; `Ok(Err(reason))` when the campaign cannot run at all.
pub(crate) async fn prepare(
    app: &App,
    clinic_id: &str,
    campaign: Campaign,
    run_id: &str,
) -> Result<Result<Plan, StopReason>, ServiceError> {
    let account = crate::services::credits::paying_account(
        &app.store,
        clinic_id,
        campaign.fields.on_behalf_of.as_deref(),
    )
    .await?;
    Ok(load_plan(app, clinic_id, campaign, run_id)
        .await
        .map(|plan| Plan { account, ..plan }))
}

async fn load_plan(
    app: &App,
    clinic_id: &str,
    campaign: Campaign,
    run_id: &str,
) -> Result<Plan, StopReason> {
    let store = &app.store;
    let clinic = crate::services::load_clinic(store, clinic_id)
        .await
        .map_err(|_| StopReason::ClinicUnavailable)?;
    let mut words = Vec::new();
    for (channel, template_id) in campaign.fields.channels.used() {
        let t = templates::get(store, clinic_id, template_id)
            .await
            .map_err(|_| StopReason::TemplateUnavailable(channel))?;
        let compiled = t
            .fields
            .compile()
            .map_err(|_| StopReason::TemplateInvalid(channel))?;
        words.push((channel, compiled, t.fields.category, t.id.clone()));
    }
    let on_behalf_of = match &campaign.fields.on_behalf_of {
        Some(id) => Some(
            store
                .get_practitioner(clinic_id, id)
                .await
                .ok()
                .flatten()
                .ok_or(StopReason::PractitionerDeleted)?,
        ),
        None => None,
    };
    let from_name = on_behalf_of.as_ref().map(Practitioner::sender_name);
    let reply_to = on_behalf_of
        .as_ref()
        .and_then(|p| p.fields.reply_to.clone());
    Ok(Plan {
        clinic,
        campaign,
        run_id: run_id.to_owned(),
        words,
        on_behalf_of,
        from_name,
        reply_to,
        account: GROUP_ACCOUNT.to_owned(),
    })
}

/// A message of the run for one person on one channel, decided: queued with its words, or
/// skipped with the reason.
fn decide(
    plan: &Plan,
    app: &App,
    base: Message,
    to: Result<String, SkipReason>,
    words: &CompiledMessage,
    values: &Values,
) -> Message {
    let mut m = base;
    m.spent_on = Some(Spend::Campaign);
    m.on_behalf_of = plan.campaign.fields.on_behalf_of.clone();
    if m.channel == Channel::Email {
        m.from_name = plan.from_name.clone();
        m.reply_to = plan.reply_to.clone();
    }
    let rendered = to
        .map_err(|r| (r, None))
        .and_then(|to| Ok((to, render(words, values, &plan.clinic)?)));
    match rendered {
        Ok((to, w)) => {
            if fill(&mut m, to, w, &plan.clinic, app.config.email_credit_cost).is_err() {
                skip(&mut m, SkipReason::TooLong, None);
            }
        }
        Err((reason, detail)) => skip(&mut m, reason, detail.as_deref()),
    }
    m
}

/// The messages for one member: one per channel, plus email copies to contacts.
pub(crate) async fn plan_member(
    app: &App,
    plan: &Plan,
    member: &Member,
    practitioners: &mut HashMap<String, Option<Practitioner>>,
) -> Result<Vec<Message>, ServiceError> {
    let store = &app.store;
    let now = app.now();
    let mut out = Vec::new();
    match member {
        Member::Patient {
            patient,
            appointment,
        } => {
            let practitioner = match (&plan.on_behalf_of, &patient.fields.practitioner_id) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(pid)) => {
                    if !practitioners.contains_key(pid) {
                        let p = store.get_practitioner(&plan.clinic.id, pid).await?;
                        practitioners.insert(pid.clone(), p);
                    }
                    practitioners.get(pid).cloned().flatten()
                }
                (None, None) => None,
            };
            let appt = appointment.as_ref().map(|a| AppointmentValues {
                start: Some(a.fields.start.fixed_offset()),
                location: a.fields.location.clone(),
            });
            let values = patient_values(
                &plan.clinic,
                &patient.fields,
                practitioner.as_ref(),
                appt.as_ref(),
                None,
            );
            for (channel, words, category, template_id) in &plan.words {
                let mut base = plan.message(
                    (&patient.id, None),
                    RecipientKind::Patient,
                    (*channel, *category, template_id),
                    now,
                );
                // A reminder: a YES or NO reply answers this appointment.
                base.appointment_id = appointment.as_ref().map(|a| a.id.clone());
                let to = reach_patient(&patient.fields, *channel, *category);
                out.push(decide(plan, app, base, to, words, &values));
            }
            let email = plan.words.iter().find(|(c, ..)| *c == Channel::Email);
            if plan.campaign.fields.notify_contacts
                && let Some((_, words, category, template_id)) = email
            {
                for contact in store.list_contacts(&plan.clinic.id, &patient.id).await? {
                    let linked = match &contact.fields.contact_patient_id {
                        Some(pid) if contact.fields.email.is_none() => store
                            .get_patient(&plan.clinic.id, pid)
                            .await?
                            .and_then(|r| r.patient.fields.email),
                        _ => None,
                    };
                    let base = plan.message(
                        (&patient.id, Some(&contact.id)),
                        RecipientKind::Contact,
                        (Channel::Email, *category, template_id),
                        now,
                    );
                    let to = reach_contact(&contact.fields, linked.as_deref());
                    out.push(decide(plan, app, base, to, words, &values));
                }
            }
        }
        Member::Referrer(r) => {
            let mut values = clinic_values(&plan.clinic);
            let (first, last) = r
                .fields
                .name
                .split_once(' ')
                .unwrap_or((&r.fields.name, ""));
            values
                .set(Placeholder::FullName, r.fields.name.clone())
                .set(Placeholder::FirstName, first.to_owned());
            if !last.is_empty() {
                values.set(Placeholder::LastName, last.to_owned());
            }
            for (channel, words, category, template_id) in &plan.words {
                let base = plan.message(
                    (&r.id, None),
                    RecipientKind::Referrer,
                    (*channel, *category, template_id),
                    now,
                );
                let to = match channel {
                    Channel::Sms => r.fields.mobile.clone().ok_or(SkipReason::NoMobile),
                    Channel::Email => r.fields.email.clone().ok_or(SkipReason::NoEmail),
                };
                out.push(decide(plan, app, base, to, words, &values));
            }
        }
    }
    Ok(out)
}

/// A ledger entry of the account that pays for the run.
pub(crate) fn run_entry(
    plan: &Plan,
    (kind, credits): (EntryKind, i64),
    note: String,
    now: DateTime<Utc>,
) -> LedgerEntry {
    account_entry((&plan.account, &plan.run_id), (kind, credits), note, now)
}

/// A ledger entry of `account` for run `run_id`.
pub(crate) fn account_entry(
    (account, run_id): (&str, &str),
    (kind, credits): (EntryKind, i64),
    note: String,
    now: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        id: ids::new_id(),
        account: account.to_owned(),
        kind,
        credits,
        reference: Some(run_id.to_owned()),
        note: Some(note),
        created_at: now,
        spent_on: Some(Spend::Campaign),
    }
}
