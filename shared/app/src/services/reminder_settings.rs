//! `/settings/reminders` (the clinic's, the group's) and `/practitioners/{id}/reminder-settings`
//! (one practitioner's own, which replace the group's for their appointments until deleted).

use super::preview::{Preview, of_sample, sample_values};
use super::{load_clinic, practitioners};
use crate::store::Scope;
use crate::{App, ServiceError};
use serde::Serialize;
use std::collections::BTreeMap;
use tidings_domain::clinic::Clinic;
use tidings_domain::message_template::Channel;
use tidings_domain::reminder::{
    Elements, Limits, ReminderSettings, ReminderSettingsInput, date_time_element,
};
use tidings_domain::template::{Placeholder, Values};

/// Reminder settings as the API shows them, with a preview of each channel's message.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SettingsView {
    /// `group` (the clinic's) or `individual` (the practitioner's own).
    pub level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub practitioner_id: Option<String>,
    #[serde(flatten)]
    pub settings: ReminderSettings,
    /// What a patient would receive, with sample values: per channel (`sms`, `email`), and
    /// per change and channel (`on_cancel.sms`, …).
    pub preview: BTreeMap<String, Preview>,
}

fn view(
    app: &App,
    clinic: &Clinic,
    scope: &Scope,
    settings: ReminderSettings,
) -> Result<SettingsView, ServiceError> {
    let mut preview = BTreeMap::new();
    let elements = sample_elements(clinic, &sample_values(clinic), app.now());
    let copies = std::iter::once(("", &settings.channels, settings.ask_for_reply))
        .chain(settings.lifecycle.all().map(|(name, c)| (name, c, false)))
        .chain(
            settings
                .after_visit
                .iter()
                .map(|a| ("after_visit", &a.channels, false)),
        );
    for (name, channels, ask_for_reply) in copies {
        for channel in [Channel::Sms, Channel::Email] {
            if let Some(copy) = channels.get(channel) {
                let prompt = channel == Channel::Sms && ask_for_reply;
                let suffix = copy.suffix(&elements, &clinic.fields.placeholder_caps, prompt);
                let p = of_sample(
                    app,
                    clinic,
                    channel,
                    copy.subject.as_deref(),
                    &copy.body,
                    &suffix,
                )?;
                let key = if name.is_empty() {
                    channel.as_str().to_owned()
                } else {
                    format!("{name}.{}", channel.as_str())
                };
                preview.insert(key, p);
            }
        }
    }
    let (level, practitioner_id) = match scope {
        Scope::Group => ("group", None),
        Scope::Practitioner(id) => ("individual", Some(id.clone())),
    };
    Ok(SettingsView {
        level,
        practitioner_id,
        settings,
        preview,
    })
}

fn sample_elements(
    clinic: &Clinic,
    values: &Values,
    now: chrono::DateTime<chrono::Utc>,
) -> Elements {
    let tz: chrono_tz::Tz = clinic.fields.time_zone;
    Elements {
        // Tomorrow at 09:30 where the clinic is.
        date_time: Some(date_time_element(
            tidings_domain::local_time::instant(
                tz,
                super::clinic_today(clinic, now)
                    .succ_opt()
                    .unwrap_or_default(),
                chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default(),
            ),
            tz,
        )),
        practitioner: values.get(Placeholder::Practitioner).map(str::to_owned),
        room: Some("3".into()),
    }
}

/// `GET /settings/reminders`.
pub async fn get_group(app: &App, clinic_id: &str) -> Result<SettingsView, ServiceError> {
    let clinic = load_clinic(&app.store, clinic_id).await?;
    let settings = app
        .store
        .reminder_settings(clinic_id, &Scope::Group)
        .await?
        .unwrap_or_default();
    view(app, &clinic, &Scope::Group, settings)
}

/// `PUT /settings/reminders`.
pub async fn put_group(
    app: &App,
    clinic_id: &str,
    input: ReminderSettingsInput,
) -> Result<SettingsView, ServiceError> {
    put(app, clinic_id, Scope::Group, input).await
}

/// `GET /practitioners/{id}/reminder-settings`: their own settings, or the group's they use.
pub async fn get_practitioner(
    app: &App,
    clinic_id: &str,
    practitioner_id: &str,
) -> Result<SettingsView, ServiceError> {
    let clinic = load_clinic(&app.store, clinic_id).await?;
    practitioners::get(&app.store, clinic_id, practitioner_id).await?;
    let scope = Scope::Practitioner(practitioner_id.to_owned());
    match app.store.reminder_settings(clinic_id, &scope).await? {
        Some(own) => view(app, &clinic, &scope, own),
        None => {
            let group = app
                .store
                .reminder_settings(clinic_id, &Scope::Group)
                .await?
                .unwrap_or_default();
            let mut v = view(app, &clinic, &Scope::Group, group)?;
            v.practitioner_id = Some(practitioner_id.to_owned());
            Ok(v)
        }
    }
}

/// `PUT /practitioners/{id}/reminder-settings`.
pub async fn put_practitioner(
    app: &App,
    clinic_id: &str,
    practitioner_id: &str,
    input: ReminderSettingsInput,
) -> Result<SettingsView, ServiceError> {
    practitioners::get(&app.store, clinic_id, practitioner_id).await?;
    put(
        app,
        clinic_id,
        Scope::Practitioner(practitioner_id.to_owned()),
        input,
    )
    .await
}

/// `DELETE /practitioners/{id}/reminder-settings`: back to the group's settings.
pub async fn delete_practitioner(
    app: &App,
    clinic_id: &str,
    practitioner_id: &str,
) -> Result<(), ServiceError> {
    practitioners::get(&app.store, clinic_id, practitioner_id).await?;
    let scope = Scope::Practitioner(practitioner_id.to_owned());
    if !app
        .store
        .delete_reminder_settings(clinic_id, &scope)
        .await?
    {
        return Err(ServiceError::NotFound("reminder settings"));
    }
    Ok(())
}

async fn put(
    app: &App,
    clinic_id: &str,
    scope: Scope,
    input: ReminderSettingsInput,
) -> Result<SettingsView, ServiceError> {
    let clinic = load_clinic(&app.store, clinic_id).await?;
    let clinic_values = super::rendering::clinic_values(&clinic);
    let settings = input.validate(&Limits {
        max_sms_length: clinic.fields.max_sms_length,
        caps: &clinic.fields.placeholder_caps,
        clinic: &clinic_values,
    })?;
    app.store
        .put_reminder_settings(clinic_id, &scope, &settings)
        .await?;
    view(app, &clinic, &scope, settings)
}
