//! Partition and sort keys. Every clinic-owned item lives under `CLINIC#<clinic id>`.

pub fn clinic_pk(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}")
}

pub const CLINIC_SK: &str = "CLINIC";
/// `gsi1pk` of every clinic record: the admin command lists clinics from it.
pub const CLINICS_GSI: &str = "CLINICS";

pub fn api_key_pk(key_id: &str) -> String {
    format!("APIKEY#{key_id}")
}
pub const API_KEY_SK: &str = "APIKEY";
pub fn api_keys_gsi(clinic_id: &str) -> String {
    format!("CLINIC#{clinic_id}#APIKEYS")
}

pub const PRACTITIONER_PREFIX: &str = "PRACTITIONER#";
pub fn practitioner_sk(id: &str) -> String {
    format!("{PRACTITIONER_PREFIX}{id}")
}

pub const PATIENT_PREFIX: &str = "PATIENT#";
pub fn patient_sk(id: &str) -> String {
    format!("{PATIENT_PREFIX}{id}")
}
/// `gsi1pk` of a patient assigned to a practitioner: lists a practitioner's patients.
pub fn practitioner_patients_gsi(clinic_id: &str, practitioner_id: &str) -> String {
    format!("CLINIC#{clinic_id}#PRACTITIONER#{practitioner_id}")
}

/// The item that reserves an external id within a clinic.
pub fn external_id_sk(external_id: &str) -> String {
    format!("EXTERNAL_ID#{external_id}")
}

pub fn contacts_prefix(patient_id: &str) -> String {
    format!("CONTACT#{patient_id}#")
}
pub fn contact_sk(patient_id: &str, contact_id: &str) -> String {
    format!("CONTACT#{patient_id}#{contact_id}")
}
