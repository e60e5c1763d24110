//! The values a template is rendered with, from the clinic, the patient, the practitioner and
//! an appointment, with dates and times in the clinic's time zone.

use chrono::{DateTime, FixedOffset};
use tidings_domain::clinic::Clinic;
use tidings_domain::patient::PatientFields;
use tidings_domain::practitioner::Practitioner;
use tidings_domain::template::{Placeholder, Values};

/// An appointment's part of a message.
#[derive(Debug, Clone, Default)]
pub struct AppointmentValues {
    pub start: Option<DateTime<FixedOffset>>,
    pub location: Option<String>,
}

/// The clinic's own values: name, and phone when it has one.
pub fn clinic_values(clinic: &Clinic) -> Values {
    let mut v = Values::default().with(Placeholder::ClinicName, clinic.fields.name.clone());
    if let Some(phone) = &clinic.fields.phone {
        v.set(Placeholder::ClinicPhone, phone.clone());
    }
    v
}

/// Everything known for one patient's message.
pub fn patient_values(
    clinic: &Clinic,
    patient: &PatientFields,
    practitioner: Option<&Practitioner>,
    appointment: Option<&AppointmentValues>,
    link: Option<&str>,
) -> Values {
    let mut v = clinic_values(clinic);
    v.set(Placeholder::FirstName, patient.first_name.clone())
        .set(Placeholder::LastName, patient.last_name.clone())
        .set(
            Placeholder::FullName,
            format!("{} {}", patient.first_name, patient.last_name),
        );
    if let Some(p) = practitioner {
        v.set(Placeholder::Practitioner, p.fields.name.clone());
    }
    if let Some(a) = appointment {
        if let Some(start) = a.start {
            let tz: chrono_tz::Tz = clinic.fields.time_zone;
            let local = start.with_timezone(&tz);
            v.set(
                Placeholder::AppointmentDate,
                local.format("%a %-d %b").to_string(),
            )
            .set(
                Placeholder::AppointmentTime,
                local.format("%-I:%M%P").to_string(),
            );
        }
        if let Some(l) = &a.location {
            v.set(Placeholder::Location, l.clone());
        }
    }
    if let Some(l) = link {
        v.set(Placeholder::Link, l);
    }
    v
}
