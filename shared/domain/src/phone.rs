//! Mobile numbers: parsed with the clinic's default country and stored in E.164.

use crate::FieldError;
use phonenumber::{Mode, country};
use std::str::FromStr;

/// A country a clinic dials from by default (ISO 3166-1 alpha-2, upper case, e.g. `AU`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(country::Id, [u8; 2]);

impl Country {
    pub fn parse(field: &str, code: &str) -> Result<Self, FieldError> {
        let code = code.trim();
        let invalid = || {
            FieldError::new(
                field,
                "invalid",
                format!("{field} must be an ISO 3166 country code such as AU"),
            )
        };
        if code.len() != 2 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(invalid());
        }
        let id = country::Id::from_str(code).map_err(|_| invalid())?;
        let b = code.as_bytes();
        Ok(Country(id, [b[0], b[1]]))
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.1).unwrap_or("")
    }
}

/// Normalises `input` (national or international form) to E.164, e.g. `0412 345 678` in `AU`
/// becomes `+61412345678`. Numbers that cannot receive SMS (landlines, toll-free, premium) are
/// rejected, so a stored mobile is always one an SMS can be sent to.
pub fn normalise_mobile(
    field: &str,
    input: &str,
    default_country: Country,
) -> Result<String, FieldError> {
    let invalid = |why: &str| FieldError::new(field, "invalid_phone", format!("{field} {why}"));
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(FieldError::required(field));
    }
    if trimmed.len() > 32
        || !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err(invalid("must contain only digits, spaces, +, -, ( and )"));
    }
    let number = phonenumber::parse(Some(default_country.0), trimmed)
        .map_err(|_| invalid("is not a phone number"))?;
    if !phonenumber::is_valid(&number) {
        return Err(invalid("is not a valid phone number"));
    }
    use phonenumber::Type;
    match number.number_type(&phonenumber::metadata::DATABASE) {
        Type::Mobile
        | Type::FixedLineOrMobile
        | Type::PersonalNumber
        | Type::Pager
        | Type::Voip => {}
        _ => return Err(invalid("is not a mobile number that can receive SMS")),
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// [`normalise_mobile`] for an optional field: absent or blank means no number.
pub fn optional_mobile(
    field: &str,
    input: Option<&str>,
    default_country: Country,
) -> Result<Option<String>, FieldError> {
    match input.map(str::trim) {
        None | Some("") => Ok(None),
        Some(m) => normalise_mobile(field, m, default_country).map(Some),
    }
}

/// A number as a provider reports it (international form, `+` optional), in E.164; `None`
/// when it is not a phone number.
pub fn e164(input: &str) -> Option<String> {
    let t = input.trim();
    let with_plus = if t.starts_with('+') {
        t.to_owned()
    } else {
        format!("+{t}")
    };
    let number = phonenumber::parse(None, &with_plus).ok()?;
    phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn au() -> Country {
        Country::parse("country", "AU").unwrap()
    }

    #[test]
    fn national_and_international_forms_normalise_to_e164() {
        assert_eq!(
            normalise_mobile("mobile", "0412 345 678", au()).unwrap(),
            "+61412345678"
        );
        assert_eq!(
            normalise_mobile("mobile", "+61 412-345-678", au()).unwrap(),
            "+61412345678"
        );
        let gb = Country::parse("country", "GB").unwrap();
        assert_eq!(
            normalise_mobile("mobile", "07911 123456", gb).unwrap(),
            "+447911123456"
        );
        assert_eq!(
            normalise_mobile("mobile", "+44 7911 123456", au()).unwrap(),
            "+447911123456"
        );
    }

    #[test]
    fn rejects_landlines_garbage_and_empty() {
        assert_eq!(
            normalise_mobile("mobile", "(02) 9374 4000", au())
                .unwrap_err()
                .code,
            "invalid_phone"
        );
        assert_eq!(
            normalise_mobile("mobile", "1800 123 456", au())
                .unwrap_err()
                .code,
            "invalid_phone"
        );
        assert_eq!(
            normalise_mobile("mobile", "0412", au()).unwrap_err().code,
            "invalid_phone"
        );
        assert_eq!(
            normalise_mobile("mobile", "call me", au())
                .unwrap_err()
                .code,
            "invalid_phone"
        );
        assert_eq!(
            normalise_mobile("mobile", "  ", au()).unwrap_err().code,
            "required"
        );
        let e = normalise_mobile("contacts.mobile", "x", au()).unwrap_err();
        assert_eq!(e.field, "contacts.mobile");
    }

    #[test]
    fn country_codes() {
        assert_eq!(Country::parse("c", "NZ").unwrap().code(), "NZ");
        assert!(Country::parse("c", "nz").is_err());
        assert!(Country::parse("c", "XX").is_err());
        assert!(Country::parse("c", "AUS").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_output_is_e164(s in ".{0,40}") {
            if let Ok(n) = normalise_mobile("mobile", &s, au()) {
                prop_assert!(n.starts_with('+'));
                prop_assert!(n[1..].chars().all(|c| c.is_ascii_digit()));
                prop_assert!(n.len() <= 16);
                // Normalising again is a fixed point.
                prop_assert_eq!(normalise_mobile("mobile", &n, au()).unwrap(), n);
            }
        }

        #[test]
        fn au_mobiles_in_any_spacing_normalise(d in "[0-3][0-9]{7}") {
            // 040x to 043x are all allocated to mobiles in Australia's numbering plan.
            let spaced = format!("04{} {} {}", &d[0..2], &d[2..5], &d[5..8]);
            prop_assert_eq!(normalise_mobile("mobile", &spaced, au()).unwrap(), format!("+614{d}"));
        }
    }
}
