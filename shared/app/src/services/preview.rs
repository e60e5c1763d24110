//! `POST /templates/preview`: exactly what a patient would receive, and what it costs.

use super::rendering::{self, AppointmentValues};
use super::{load_clinic, not_found_as_field, patients, practitioners, templates};
use crate::{App, ServiceError};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tidings_domain::FieldError;
use tidings_domain::message::credits;
use tidings_domain::message_template::{Channel, CompiledMessage, compile_parts};
use tidings_domain::sms::{self, SmsShape, Warning};
use tidings_domain::template::{Placeholder, RenderError, Values};

/// A preview request: a saved template or a body, and whose values to use.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    pub template_id: Option<String>,
    pub channel: Option<Channel>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub html_body: Option<String>,
    pub patient_id: Option<String>,
    pub appointment: Option<AppointmentInput>,
    /// Sample values by placeholder name, instead of (or on top of) a patient's.
    pub values: Option<BTreeMap<String, String>>,
    pub link: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentInput {
    pub start: Option<DateTime<FixedOffset>>,
    pub practitioner_id: Option<String>,
    pub location: Option<String>,
}

/// What the patient would receive.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Preview {
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// SMS only: encoding, characters, units and segments.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsShape>,
    /// SMS only: over the clinic's maximum length; characters that force UCS-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<Warning>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_characters: Option<usize>,
    pub credits: u32,
}

pub async fn preview(
    app: &App,
    clinic_id: &str,
    input: PreviewInput,
) -> Result<Preview, ServiceError> {
    let store = &app.store;
    let clinic = load_clinic(store, clinic_id).await?;
    let compiled = match (&input.template_id, &input.body) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                "body",
                "not_allowed",
                "give template_id or body, not both",
            )
            .into());
        }
        (Some(id), None) => {
            let t = templates::get(store, clinic_id, id)
                .await
                .map_err(|e| not_found_as_field(e, "template_id"))?;
            if input.channel.is_some_and(|c| c != t.fields.channel) {
                return Err(FieldError::new(
                    "channel",
                    "invalid",
                    "channel differs from the template's",
                )
                .into());
            }
            t.fields.compile()?
        }
        (None, Some(body)) => compile_parts(
            input.channel.unwrap_or(Channel::Sms),
            input.subject.as_deref(),
            body,
            input.html_body.as_deref(),
        )?,
        (None, None) => {
            return Err(
                FieldError::new("template_id", "required", "give template_id or body").into(),
            );
        }
    };
    let practitioner = match input
        .appointment
        .as_ref()
        .and_then(|a| a.practitioner_id.as_deref())
    {
        Some(id) => Some(
            practitioners::get(store, clinic_id, id)
                .await
                .map_err(|e| not_found_as_field(e, "appointment.practitioner_id"))?,
        ),
        None => None,
    };
    let appointment = input.appointment.as_ref().map(|a| AppointmentValues {
        start: a.start,
        location: a.location.clone(),
    });
    let mut values = match &input.patient_id {
        Some(id) => {
            let p = patients::get(store, clinic_id, id)
                .await
                .map_err(|e| not_found_as_field(e, "patient_id"))?;
            let practitioner = match (&practitioner, &p.fields.practitioner_id) {
                (Some(_), _) | (None, None) => practitioner.clone(),
                (None, Some(pid)) => store.get_practitioner(clinic_id, pid).await?,
            };
            rendering::patient_values(
                &clinic,
                &p.fields,
                practitioner.as_ref(),
                appointment.as_ref(),
                input.link.as_deref(),
            )
        }
        None if input.values.is_none() => sample_values(&clinic),
        None => rendering::clinic_values(&clinic),
    };
    for (name, value) in input.values.iter().flatten() {
        let p = Placeholder::from_name(name).ok_or_else(|| {
            FieldError::new(
                format!("values.{name}"),
                "unknown_placeholder",
                format!("'{name}' is not a placeholder"),
            )
        })?;
        values.set(p, value.clone());
    }
    render(&clinic, &compiled, &values, app.config.email_credit_cost)
}

fn render(
    clinic: &tidings_domain::clinic::Clinic,
    compiled: &CompiledMessage,
    values: &Values,
    email_cost: u32,
) -> Result<Preview, ServiceError> {
    let caps = &clinic.fields.placeholder_caps;
    // A failure names the part it is about (a missing value names the value).
    let failed = |field: &'static str| {
        move |e: RenderError| -> ServiceError {
            match e {
                RenderError::Missing(m) => FieldError::new(
                    format!("values.{}", m.0.name()),
                    "missing_value",
                    m.to_string(),
                )
                .into(),
                RenderError::Template(detail) => {
                    FieldError::new(field, "invalid_template", detail).into()
                }
                e @ RenderError::TooLong { .. } => {
                    FieldError::new(field, "too_long", format!("{field}: {e}")).into()
                }
            }
        }
    };
    let text = compiled.body.render(values, caps).map_err(failed("body"))?;
    // An SMS the clinic would refuse to send is refused here too, saying by how much.
    let max = clinic.fields.max_sms_length;
    let characters = tidings_domain::sms::shape(&text).characters;
    if compiled.channel == Channel::Sms && characters > max {
        return Err(FieldError::new(
            "body",
            "too_long",
            format!("this SMS is {characters} characters; the clinic's max_sms_length is {max}"),
        )
        .into());
    }
    let subject = compiled
        .subject
        .as_ref()
        .map(|t| t.render(values, caps))
        .transpose()
        .map_err(failed("subject"))?;
    let html = compiled
        .html_body
        .as_ref()
        .map(|t| t.render(values, caps))
        .transpose()
        .map_err(failed("html_body"))?;
    Ok(of_text(
        clinic,
        compiled.channel,
        subject,
        text,
        html,
        email_cost,
    ))
}

/// The preview of words already rendered: SMS shape, warnings and cost, or an email's cost.
pub(crate) fn of_text(
    clinic: &tidings_domain::clinic::Clinic,
    channel: Channel,
    subject: Option<String>,
    text: String,
    html: Option<String>,
    email_cost: u32,
) -> Preview {
    match channel {
        Channel::Sms => {
            let p = sms::preview(&text, clinic.fields.max_sms_length);
            Preview {
                channel: Channel::Sms,
                subject: None,
                credits: p.credits,
                max_characters: Some(clinic.fields.max_sms_length),
                sms: Some(p.shape),
                warnings: Some(p.warnings),
                text,
                html: None,
            }
        }
        Channel::Email => Preview {
            channel: Channel::Email,
            subject,
            text,
            html,
            sms: None,
            warnings: None,
            max_characters: None,
            credits: credits(Channel::Email, 0, email_cost),
        },
    }
}

/// Sample values for every placeholder, with the clinic's own name and phone.
pub(crate) fn sample_values(clinic: &tidings_domain::clinic::Clinic) -> Values {
    let mut v = Values::samples();
    v.set(Placeholder::ClinicName, clinic.fields.name.clone());
    if let Some(phone) = &clinic.fields.phone {
        v.set(Placeholder::ClinicPhone, phone.clone());
    }
    v
}

/// What a settings template (reminder, greeting) looks like with sample values, followed by
/// plain `suffix` text; errors name `channels.<channel>.body`.
pub(crate) fn of_sample(
    app: &App,
    clinic: &tidings_domain::clinic::Clinic,
    channel: Channel,
    subject: Option<&str>,
    body: &str,
    suffix: &str,
) -> Result<Preview, ServiceError> {
    let values = sample_values(clinic);
    let compiled = compile_parts(channel, subject, body, None)?;
    let render = |t: &tidings_domain::template::Template| {
        t.render(&values, &clinic.fields.placeholder_caps)
            .map_err(|e| {
                FieldError::new(
                    format!("channels.{}.body", channel.as_str()),
                    "invalid_template",
                    e.to_string(),
                )
            })
    };
    let text = render(&compiled.body)? + suffix;
    let subject = compiled.subject.as_ref().map(render).transpose()?;
    Ok(of_text(
        clinic,
        channel,
        subject,
        text,
        None,
        app.config.email_credit_cost,
    ))
}
