//! Uploaded patient lists (seed 003): a CSV exported from the practice system, read into rows
//! to be matched to the clinic's patients by external id and date of birth.
//!
//! Columns (header names, any order; case, spaces, hyphens and underscores do not matter, so
//! `External ID`, `external-id` and `EXTERNAL_ID` are one column; other columns are ignored):
//! `external_id` and `date_of_birth` (required; `DOB` is read as `date_of_birth`),
//! `first_name`, `last_name`, `mobile`, `email`. A field is at most [`MAX_FIELD_BYTES`].

use crate::FieldError;
use serde::{Deserialize, Serialize};

/// The largest file accepted; larger is a 413.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most rows one file may hold.
pub const MAX_ROWS: usize = 10_000;
/// The longest field read (in UTF-8 bytes): no name, number, address or id is longer, and
/// rows stored 100 to an item stay far below DynamoDB's 400 KB item limit.
pub const MAX_FIELD_BYTES: usize = 200;

/// A header as a practice system may write it, reduced to compare: lower case, without
/// spaces, hyphens and underscores (`Date of Birth` and `date_of_birth` are one).
fn header_key(h: &str) -> String {
    h.chars()
        .filter(|c| !(c.is_whitespace() || *c == '-' || *c == '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// One data row as the file gave it. `line` is its line in the file (the header is line 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UploadRow {
    pub line: u64,
    pub external_id: String,
    pub date_of_birth: String,
    pub first_name: String,
    pub last_name: String,
    pub mobile: String,
    pub email: String,
}

impl UploadRow {
    /// The columns of a row as uploaded, after its line number: what names the person.
    pub const COLUMNS: [&'static str; 6] = [
        "external_id",
        "date_of_birth",
        "first_name",
        "last_name",
        "mobile",
        "email",
    ];
}

/// Why a row matched no one (or could not be used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowFailure {
    NotFound,
    DateOfBirthMismatch,
    InvalidMobile,
    InvalidEmail,
    NoContactDetail,
    DuplicateRow,
}

impl RowFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::DateOfBirthMismatch => "date_of_birth_mismatch",
            Self::InvalidMobile => "invalid_mobile",
            Self::InvalidEmail => "invalid_email",
            Self::NoContactDetail => "no_contact_detail",
            Self::DuplicateRow => "duplicate_row",
        }
    }
}

fn line_error(line: u64, message: impl Into<String>) -> FieldError {
    FieldError::new(format!("line {line}"), "malformed_csv", message)
}

/// Reads the file. A structural problem (no header, a required column missing, a row with a
/// different number of fields, text that is not UTF-8, too many rows) is an error naming the
/// line; a row's values are checked when it is matched.
pub fn parse(bytes: &[u8]) -> Result<Vec<UploadRow>, FieldError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| line_error(1, format!("the header could not be read: {e}")))?
        .clone();
    let keys: Vec<String> = headers.iter().map(header_key).collect();
    let col = |names: &[&str]| keys.iter().position(|k| names.contains(&k.as_str()));
    let ext = col(&["externalid"])
        .ok_or_else(|| line_error(1, "the header has no external_id column"))?;
    let dob = col(&["dateofbirth", "dob"])
        .ok_or_else(|| line_error(1, "the header has no date_of_birth column"))?;
    let (first, last, mobile, email) = (
        col(&["firstname"]),
        col(&["lastname"]),
        col(&["mobile"]),
        col(&["email"]),
    );
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            line_error(
                line,
                format!("line {line} could not be read: {}", e.kind_message()),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if let Some(i) = record.iter().position(|f| f.trim().len() > MAX_FIELD_BYTES) {
            let name = headers.get(i).unwrap_or_default().trim();
            return Err(line_error(
                line,
                format!("line {line}: the field '{name}' is longer than {MAX_FIELD_BYTES} bytes"),
            ));
        }
        if rows.len() == MAX_ROWS {
            return Err(line_error(
                line,
                format!("a list may have at most {MAX_ROWS} rows"),
            ));
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        rows.push(UploadRow {
            line,
            external_id: get(Some(ext)),
            date_of_birth: get(Some(dob)),
            first_name: get(first),
            last_name: get(last),
            mobile: get(mobile),
            email: get(email),
        });
    }
    Ok(rows)
}

trait KindMessage {
    fn kind_message(&self) -> String;
}

impl KindMessage for csv::Error {
    fn kind_message(&self) -> String {
        match self.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("it has {len} fields where the header has {expected_len}"),
            csv::ErrorKind::Utf8 { .. } => "it is not UTF-8 text".to_owned(),
            _ => "it is not valid CSV".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_rows_by_header_name() {
        let csv = "\u{feff}First_Name, External_ID ,date_of_birth,notes\nAnn,E1,1990-01-02,x\n,,,\nBob,E2,1980-05-06,\n";
        let rows = parse(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].line,
                rows[0].external_id.as_str(),
                rows[0].first_name.as_str()
            ),
            (2, "E1", "Ann")
        );
        assert_eq!(rows[1].line, 4);
    }

    #[test]
    fn headers_are_read_as_practice_systems_write_them() {
        for header in [
            "External ID,Date of Birth,First Name,Last Name,Mobile,E-mail",
            "EXTERNAL_ID,DOB,first-name,LAST NAME,mobile,Email",
            "externalId,dateOfBirth,firstname,lastname,Mobile,email",
        ] {
            let rows = parse(
                format!("{header}\nE1,1990-01-02,Ann,Lee,0412345678,a@x.example\n").as_bytes(),
            )
            .unwrap_or_else(|e| panic!("{header}: {e:?}"));
            assert_eq!(
                (
                    rows[0].external_id.as_str(),
                    rows[0].date_of_birth.as_str(),
                    rows[0].last_name.as_str()
                ),
                ("E1", "1990-01-02", "Lee"),
                "{header}"
            );
        }
    }

    #[test]
    fn a_field_longer_than_the_limit_fails_the_file_naming_its_line() {
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        let e = parse(
            format!(
                "external_id,date_of_birth,first_name\nE1,1990-01-01,Ann\nE2,1990-01-01,{long}\n"
            )
            .as_bytes(),
        )
        .unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("line 3", "malformed_csv"));
        assert!(e.message.contains("first_name"), "{}", e.message);
        let fits = "é".repeat(MAX_FIELD_BYTES / 2);
        assert!(parse(format!("external_id,date_of_birth\nE1,{fits}\n").as_bytes()).is_ok());
    }

    #[test]
    fn malformed_files_name_the_line() {
        let e = parse(b"external_id,date_of_birth\nE1,1990-01-01\nE2\n").unwrap_err();
        assert_eq!(e.field, "line 3");
        let e = parse(b"id,dob\nE1,1990-01-01\n").unwrap_err();
        assert_eq!(e.field, "line 1");
        let e = parse(b"external_id,date_of_birth\nE1,\xff\xfe\n").unwrap_err();
        assert_eq!(e.field, "line 2");
    }
}
