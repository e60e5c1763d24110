//! Birthday greetings: `/settings/greetings`, and the sweep the greeting function runs on its
//! schedule. At or after the clinic's send time, each patient whose birthday is the clinic's
//! local date gets one greeting that year (29 February birthdays on 28 February in other
//! years), on the channels their campaign consent allows.

use super::automatic::{self, Automatic, Tally, Words};
use super::load_clinic;
use super::pacing::Pacer;
use super::preview::{Preview, of_sample};
use super::rendering::patient_values;
use crate::{App, ServiceError};
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;
use tidings_domain::clinic::Clinic;
use tidings_domain::credits::GROUP_ACCOUNT;
use tidings_domain::greeting::{GreetingSettings, GreetingSettingsInput, birthdays_on};
use tidings_domain::message_template::{Category, Channel};

/// Greeting settings with a preview of each channel's message.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GreetingView {
    #[serde(flatten)]
    pub settings: GreetingSettings,
    pub preview: BTreeMap<&'static str, Preview>,
}

fn view(
    app: &App,
    clinic: &Clinic,
    settings: GreetingSettings,
) -> Result<GreetingView, ServiceError> {
    let mut preview = BTreeMap::new();
    for channel in [Channel::Sms, Channel::Email] {
        if let Some(copy) = settings.channels.get(channel) {
            let p = of_sample(
                app,
                clinic,
                channel,
                copy.subject.as_deref(),
                &copy.body,
                "",
            )?;
            preview.insert(channel.as_str(), p);
        }
    }
    Ok(GreetingView { settings, preview })
}

/// `GET /settings/greetings`.
pub async fn get(app: &App, clinic_id: &str) -> Result<GreetingView, ServiceError> {
    let clinic = load_clinic(&app.store, clinic_id).await?;
    let settings = app
        .store
        .greeting_settings(clinic_id)
        .await?
        .unwrap_or_default();
    view(app, &clinic, settings)
}

/// `PUT /settings/greetings`.
pub async fn put(
    app: &App,
    clinic_id: &str,
    input: GreetingSettingsInput,
) -> Result<GreetingView, ServiceError> {
    let clinic = load_clinic(&app.store, clinic_id).await?;
    let settings = input.validate(clinic.fields.max_sms_length)?;
    app.store
        .put_greeting_settings(clinic_id, &settings)
        .await?;
    view(app, &clinic, settings)
}

/// What a greeting sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GreetingReport {
    pub clinics: usize,
    pub patients: usize,
    pub sent: usize,
    pub skipped: usize,
    pub already_sent: usize,
    /// Greetings left for the clinic's continuation: the time ran out before their turn in
    /// the account's rate (the day is not marked done).
    pub deferred: usize,
}

/// Sends one clinic's greetings for its local date at `now`, once that date's send time has
/// come; a later sweep the same day finds the day done.
/// (As a `sweep-clinic` copy does.)
pub async fn sweep_clinic(
    app: &App,
    clinic_id: &str,
    now: DateTime<Utc>,
) -> Result<GreetingReport, ServiceError> {
    sweep_clinic_paced(app, &Pacer::for_app(app), clinic_id, now).await
}

/// [`sweep_clinic`], its provider calls taken from `pacer`'s share of the account's rate.
pub(crate) async fn sweep_clinic_paced(
    app: &App,
    pacer: &Pacer,
    clinic_id: &str,
    now: DateTime<Utc>,
) -> Result<GreetingReport, ServiceError> {
    let sweep = sweep_one(app, pacer, clinic_id, now);
    crate::aws_calls::as_function("sweep-clinic", Box::pin(sweep)).await
}

async fn sweep_one(
    app: &App,
    pacer: &Pacer,
    clinic_id: &str,
    now: DateTime<Utc>,
) -> Result<GreetingReport, ServiceError> {
    let store = &app.store;
    let mut report = GreetingReport::default();
    let Some(settings) = store.greeting_settings(clinic_id).await? else {
        return Ok(report);
    };
    let clinic = load_clinic(store, clinic_id).await?;
    let tz: Tz = clinic.fields.time_zone;
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    if !settings.enabled
        || local.time() < settings.send_at.0
        || store.greetings_done(clinic_id).await? >= Some(today)
    {
        return Ok(report);
    }
    report.clinics = 1;
    let blocked = store.blocked(clinic_id).await?;
    for key in birthdays_on(today) {
        for patient_id in store.patients_born_on(clinic_id, &key).await? {
            report.patients += 1;
            if pacer.out_of_time() {
                report.deferred += 1;
                continue;
            }
            let purpose = format!("greeting|{patient_id}|{}", today.year());
            if automatic::already_claimed(app, clinic_id, &purpose, None).await? {
                report.already_sent += 1;
                continue;
            }
            let Some(patient) = store.get_patient(clinic_id, &patient_id).await? else {
                continue;
            };
            let patient = patient.patient;
            let values = patient_values(&clinic, &patient.fields, None, None, None);
            let words = [Channel::Sms, Channel::Email]
                .into_iter()
                .filter_map(|channel| {
                    let copy = settings.channels.get(channel)?;
                    Some(Words {
                        channel,
                        subject: copy.subject.as_deref(),
                        body: &copy.body,
                        suffix: String::new(),
                    })
                })
                .collect();
            let t: Tally = automatic::send(
                app,
                Automatic {
                    clinic: &clinic,
                    purpose,
                    category: Category::Greeting,
                    patient: &patient,
                    values: &values,
                    words,
                    appointment_id: None,
                    skip_all: None,
                    account: GROUP_ACCOUNT.to_owned(),
                    blocked: &blocked,
                    pacer: Some(pacer),
                    now,
                    sent_by: tidings_domain::actor::Actor::Greetings,
                    contacts: &[],
                    due: None,
                    batch: None,
                },
            )
            .await?;
            report.sent += t.sent;
            report.skipped += t.skipped;
            report.already_sent += t.already;
            report.deferred += t.deferred;
        }
    }
    if report.deferred == 0 {
        store.set_greetings_done(clinic_id, today).await?;
    }
    Ok(report)
}
