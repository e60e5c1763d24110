//! Columns of the patient CSV export.

use crate::FieldError;
use crate::patient::{Gender, Patient, ProfileType};

/// A column a clinic can choose for the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    FirstName,
    LastName,
    DateOfBirth,
    Gender,
    Mobile,
    Email,
    ProfileType,
    ExternalId,
    PractitionerId,
    ReceiveRemindersSms,
    ReceiveRemindersEmail,
    ReceiveCampaignsSms,
    ReceiveCampaignsEmail,
    CreatedAt,
}

/// Every column, in the default order.
pub const ALL: [Column; 15] = [
    Column::Id,
    Column::FirstName,
    Column::LastName,
    Column::DateOfBirth,
    Column::Gender,
    Column::Mobile,
    Column::Email,
    Column::ProfileType,
    Column::ExternalId,
    Column::PractitionerId,
    Column::ReceiveRemindersSms,
    Column::ReceiveRemindersEmail,
    Column::ReceiveCampaignsSms,
    Column::ReceiveCampaignsEmail,
    Column::CreatedAt,
];

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::FirstName => "first_name",
            Column::LastName => "last_name",
            Column::DateOfBirth => "date_of_birth",
            Column::Gender => "gender",
            Column::Mobile => "mobile",
            Column::Email => "email",
            Column::ProfileType => "profile_type",
            Column::ExternalId => "external_id",
            Column::PractitionerId => "practitioner_id",
            Column::ReceiveRemindersSms => "receive_reminders_sms",
            Column::ReceiveRemindersEmail => "receive_reminders_email",
            Column::ReceiveCampaignsSms => "receive_campaigns_sms",
            Column::ReceiveCampaignsEmail => "receive_campaigns_email",
            Column::CreatedAt => "created_at",
        }
    }

    /// The cell for one patient, as stored: the CSV writer makes every cell safe for a
    /// spreadsheet ([`spreadsheet_safe`]).
    pub fn value(self, p: &Patient) -> String {
        let f = &p.fields;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        match self {
            Column::Id => p.id.clone(),
            Column::FirstName => f.first_name.clone(),
            Column::LastName => f.last_name.clone(),
            Column::DateOfBirth => f.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            Column::Gender => f.gender.map(gender_name).unwrap_or_default().to_owned(),
            Column::Mobile => opt(&f.mobile),
            Column::Email => opt(&f.email),
            Column::ProfileType => profile_name(f.profile_type).to_owned(),
            Column::ExternalId => opt(&f.external_id),
            Column::PractitionerId => opt(&f.practitioner_id),
            Column::ReceiveRemindersSms => f.receive_reminders.sms.to_string(),
            Column::ReceiveRemindersEmail => f.receive_reminders.email.to_string(),
            Column::ReceiveCampaignsSms => f.receive_campaigns.sms.to_string(),
            Column::ReceiveCampaignsEmail => f.receive_campaigns.email.to_string(),
            Column::CreatedAt => p.created_at.to_rfc3339(),
        }
    }
}

/// Parses `first_name,last_name,...`; `None` or empty means every column.
pub fn parse_columns(spec: Option<&str>) -> Result<Vec<Column>, FieldError> {
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(ALL.to_vec());
    };
    let mut cols = Vec::new();
    for name in spec.split(',').map(str::trim) {
        let col = ALL
            .iter()
            .copied()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                let known: Vec<_> = ALL.iter().map(|c| c.name()).collect();
                FieldError::new(
                    "columns",
                    "unknown_column",
                    format!(
                        "unknown column '{name}'; known columns: {}",
                        known.join(", ")
                    ),
                )
            })?;
        if cols.contains(&col) {
            return Err(FieldError::new(
                "columns",
                "duplicate_column",
                format!("column '{name}' is listed twice"),
            ));
        }
        cols.push(col);
    }
    Ok(cols)
}

/// A cell a spreadsheet shows as text: one that starts with `=`, `+`, `-`, `@`, tab or CR
/// (which a spreadsheet would run as a formula) is prefixed with `'`. A plain number (`-3`,
/// `+61412345678`, an E.164 phone) is left as it is: it cannot call anything, and phone
/// numbers stay importable.
pub fn spreadsheet_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let plain_number = {
        let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && !frac.is_empty()
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !plain_number {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn gender_name(g: Gender) -> &'static str {
    match g {
        Gender::Female => "female",
        Gender::Male => "male",
        Gender::Other => "other",
        Gender::Unknown => "unknown",
    }
}

fn profile_name(p: ProfileType) -> &'static str {
    match p {
        ProfileType::Patient => "patient",
        ProfileType::Dependant => "dependant",
        ProfileType::ContactOnly => "contact_only",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns() {
        assert_eq!(parse_columns(None).unwrap().len(), ALL.len());
        assert_eq!(
            parse_columns(Some("email, first_name")).unwrap(),
            vec![Column::Email, Column::FirstName]
        );
        assert_eq!(
            parse_columns(Some("email,password")).unwrap_err().code,
            "unknown_column"
        );
        assert_eq!(
            parse_columns(Some("email,email")).unwrap_err().code,
            "duplicate_column"
        );
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for (cell, safe) in [
            ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("+", "'+"),
            ("Ann", "Ann"),
            ("+61412345678", "+61412345678"),
            ("-3", "-3"),
            ("-3.5", "-3.5"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(cell), safe, "{cell:?}");
        }
    }
}
