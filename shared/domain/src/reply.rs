//! What a patient's SMS reply asks for: opt out, opt back in, help, or an answer to a
//! reminder. Anything else is free text for the practice to read.

/// The opt-out keywords every clinic honours; a clinic may add its own.
pub const DEFAULT_OPT_OUT: &[&str] = &[
    "ARRET",
    "CANCEL",
    "END",
    "OPT-OUT",
    "OPTOUT",
    "QUIT",
    "REMOVE",
    "STOP",
    "STOPALL",
    "TD",
    "UNSUBSCRIBE",
];
const OPT_IN: &[&str] = &["START", "UNSTOP"];
const HELP: &[&str] = &["HELP", "INFO"];
const YES: &[&str] = &["YES", "Y", "CONFIRM"];
const NO: &[&str] = &["NO", "N"];

/// The meaning of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
    /// Confirms the appointment it answers.
    Yes,
    /// Asks to cancel the appointment it answers.
    No,
}

/// The reply's keyword, read the way carriers read them: case, surrounding spaces and
/// surrounding punctuation do not matter ("  Stop! " is STOP); anything more is free text.
/// `extra_opt_out` are the clinic's own opt-out words.
pub fn classify(body: &str, extra_opt_out: &[String]) -> Option<Keyword> {
    let word = normalize(body);
    if word.is_empty() {
        return None;
    }
    let is = |list: &[&str]| list.contains(&word.as_str());
    if is(DEFAULT_OPT_OUT) || extra_opt_out.iter().any(|w| normalize(w) == word) {
        Some(Keyword::OptOut)
    } else if is(OPT_IN) {
        Some(Keyword::OptIn)
    } else if is(HELP) {
        Some(Keyword::Help)
    } else if is(YES) {
        Some(Keyword::Yes)
    } else if is(NO) {
        Some(Keyword::No)
    } else {
        None
    }
}

/// Upper case, without surrounding white space and punctuation.
pub fn normalize(word: &str) -> String {
    word.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .to_uppercase()
}

/// Words that mean something else and so cannot be a clinic's own opt-out word: a patient
/// confirming an appointment, opting back in or asking for help must never be opted out.
pub const RESERVED: &[&str] = &[
    "YES", "Y", "NO", "N", "CONFIRM", "START", "UNSTOP", "HELP", "INFO",
];

/// Checks a clinic's extra opt-out words: each one word of letters, digits and hyphens,
/// at most 20 characters, none of [`RESERVED`], at most 20 words. Returned normalized.
pub fn validate_keywords(words: &[String]) -> Result<Vec<String>, crate::FieldError> {
    if words.len() > 20 {
        return Err(crate::FieldError::new(
            "opt_out_keywords",
            "too_many",
            "at most 20 keywords",
        ));
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let n = normalize(w);
            let ok = !n.is_empty()
                && n.chars().count() <= 20
                && n.chars().all(|c| c.is_alphanumeric() || c == '-');
            if RESERVED.contains(&n.as_str()) {
                Err(crate::FieldError::new(
                    format!("opt_out_keywords[{i}]"),
                    "reserved",
                    format!(
                        "{n} answers a reminder, opts back in or asks for help; it cannot opt out"
                    ),
                ))
            } else if ok {
                Ok(n)
            } else {
                Err(crate::FieldError::new(
                    format!("opt_out_keywords[{i}]"),
                    "invalid",
                    "a keyword is one word of letters, digits or hyphens, at most 20 characters",
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_ignore_case_spaces_and_surrounding_punctuation() {
        assert_eq!(classify("  stop! ", &[]), Some(Keyword::OptOut));
        assert_eq!(classify("Opt-Out.", &[]), Some(Keyword::OptOut));
        assert_eq!(classify("unstop", &[]), Some(Keyword::OptIn));
        assert_eq!(classify("HELP?", &[]), Some(Keyword::Help));
        assert_eq!(classify("info", &[]), Some(Keyword::Help));
        assert_eq!(classify("y", &[]), Some(Keyword::Yes));
        assert_eq!(classify("Confirm", &[]), Some(Keyword::Yes));
        assert_eq!(classify("no.", &[]), Some(Keyword::No));
        assert_eq!(classify("please stop", &[]), None);
        assert_eq!(classify("...", &[]), None);
        assert_eq!(classify("halt", &["Halt".into()]), Some(Keyword::OptOut));
    }

    #[test]
    fn extra_keywords_are_single_words() {
        assert_eq!(
            validate_keywords(&["halt".into()]).unwrap(),
            vec!["HALT".to_owned()]
        );
        assert_eq!(
            validate_keywords(&["ok".into(), "two words".into()])
                .unwrap_err()
                .field,
            "opt_out_keywords[1]"
        );
        for word in [
            "yes", "Y", "no", "n.", "Confirm", "START", "unstop", "help", "Info",
        ] {
            let e = validate_keywords(&["halt".into(), word.into()]).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code),
                ("opt_out_keywords[1]", "reserved"),
                "{word}"
            );
        }
    }
}
