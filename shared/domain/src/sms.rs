//! SMS encoding and segments, as carriers count them.
//!
//! A message that uses only the GSM 03.38 alphabet is sent in GSM-7: 160 septets in one
//! segment, 153 per segment once it is split (the rest carries the concatenation header).
//! Characters of the extension table (`^ { } \ [ ~ ] |`, `€` and form feed) take two septets,
//! and an escape pair is never split across segments. Any other character makes the whole
//! message UCS-2: 70 UTF-16 units in one segment, 67 per segment when split, where an emoji
//! (or any character outside the Basic Multilingual Plane) takes two units and a surrogate pair
//! is never split.

use serde::{Deserialize, Serialize};

/// How a message is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// What a message costs to send by SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SmsShape {
    pub encoding: Encoding,
    /// Unicode characters, as a person counts them.
    pub characters: usize,
    /// Septets (GSM-7) or UTF-16 units (UCS-2): what the segment limits count.
    pub units: usize,
    pub segments: usize,
}

const GSM_SINGLE: usize = 160;
const GSM_MULTI: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_MULTI: usize = 67;

/// Septets per ASCII character in GSM-7: 1 (basic set), 2 (extension table) or 0 (not GSM).
const ASCII_SEPTETS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0x20;
    while c < 0x7f {
        t[c] = 1;
        c += 1;
    }
    t[b'\n' as usize] = 1;
    t[b'\r' as usize] = 1;
    t[0x0c] = 2; // form feed
    t[b'`' as usize] = 0;
    t[b'^' as usize] = 2;
    t[b'{' as usize] = 2;
    t[b'}' as usize] = 2;
    t[b'\\' as usize] = 2;
    t[b'[' as usize] = 2;
    t[b'~' as usize] = 2;
    t[b']' as usize] = 2;
    t[b'|' as usize] = 2;
    t
};

/// Septets `c` takes in GSM-7, or `None` if GSM-7 cannot carry it.
pub fn gsm_septets(c: char) -> Option<usize> {
    let n = if c.is_ascii() {
        ASCII_SEPTETS[c as usize]
    } else {
        match c {
            '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Δ' | 'Φ'
            | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | '¤' | '¡'
            | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => 1,
            '€' => 2,
            _ => 0,
        }
    };
    (n > 0).then_some(n as usize)
}

/// The encoding, length and segment count of `text`.
pub fn shape(text: &str) -> SmsShape {
    let mut septets = 0;
    let mut characters = 0;
    let mut gsm = true;
    for c in text.chars() {
        characters += 1;
        match gsm_septets(c) {
            Some(n) => septets += n,
            None => {
                gsm = false;
                break;
            }
        }
    }
    if gsm {
        let segments = split_count(
            text.chars().map(|c| gsm_septets(c).unwrap_or(1)),
            septets,
            GSM_SINGLE,
            GSM_MULTI,
        );
        return SmsShape {
            encoding: Encoding::Gsm7,
            characters,
            units: septets,
            segments,
        };
    }
    let units = text.encode_utf16().count();
    let segments = split_count(
        text.chars().map(char::len_utf16),
        units,
        UCS2_SINGLE,
        UCS2_MULTI,
    );
    SmsShape {
        encoding: Encoding::Ucs2,
        characters: text.chars().count(),
        units,
        segments,
    }
}

/// Segments needed for characters of the given widths, never splitting one character.
fn split_count(
    widths: impl Iterator<Item = usize>,
    total: usize,
    single: usize,
    multi: usize,
) -> usize {
    if total == 0 {
        return 1;
    }
    if total <= single {
        return 1;
    }
    let mut segments = 1;
    let mut used = 0;
    for w in widths {
        if used + w > multi {
            segments += 1;
            used = 0;
        }
        used += w;
    }
    segments
}

/// The distinct characters of `text` that GSM-7 cannot carry (they force UCS-2), in order of
/// first appearance.
pub fn non_gsm_chars(text: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if gsm_septets(c).is_none() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Credits one SMS costs: one per segment.
pub fn credits(shape: &SmsShape) -> u32 {
    u32::try_from(shape.segments).unwrap_or(u32::MAX)
}

/// Something a clinic should know before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Warning {
    /// Longer than the clinic's maximum SMS length.
    OverMaxLength { max: usize, characters: usize },
    /// These characters make the message UCS-2 (70 characters a segment instead of 160).
    ForcesUcs2 { characters: Vec<String> },
}

/// What a clinic sees before sending one SMS: encoding, length, segments, credits, warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SmsPreview {
    #[serde(flatten)]
    pub shape: SmsShape,
    pub credits: u32,
    pub warnings: Vec<Warning>,
}

/// Previews `text` against the clinic's maximum length.
pub fn preview(text: &str, max_characters: usize) -> SmsPreview {
    let shape = shape(text);
    let mut warnings = Vec::new();
    if shape.characters > max_characters {
        warnings.push(Warning::OverMaxLength {
            max: max_characters,
            characters: shape.characters,
        });
    }
    if shape.encoding == Encoding::Ucs2 {
        let characters = non_gsm_chars(text)
            .into_iter()
            .map(|c| format!("{c} (U+{:04X})", c as u32))
            .collect();
        warnings.push(Warning::ForcesUcs2 { characters });
    }
    SmsPreview {
        credits: credits(&shape),
        shape,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gsm(s: &str) -> SmsShape {
        let r = shape(s);
        assert_eq!(r.encoding, Encoding::Gsm7, "{s:?}");
        r
    }

    fn ucs2(s: &str) -> SmsShape {
        let r = shape(s);
        assert_eq!(r.encoding, Encoding::Ucs2, "{s:?}");
        r
    }

    #[test]
    fn gsm_boundaries() {
        assert_eq!(gsm("").segments, 1);
        assert_eq!(gsm(&"a".repeat(160)).segments, 1);
        assert_eq!(gsm(&"a".repeat(161)).segments, 2);
        assert_eq!(gsm(&"a".repeat(306)).segments, 2);
        assert_eq!(gsm(&"a".repeat(307)).segments, 3);
        assert_eq!(ucs2("Ça coûte £5").units, 11, "û is not GSM");
        let accented = "Ça va? £5 à Zürich, Δ§¿";
        assert_eq!(gsm(accented).units, accented.chars().count());
    }

    #[test]
    fn extension_characters_take_two_septets_and_are_never_split() {
        let s = gsm("[]{}€^~|\\");
        assert_eq!((s.characters, s.units), (9, 18));
        assert_eq!(gsm(&"€".repeat(80)).segments, 1, "160 septets");
        assert_eq!(gsm(&"€".repeat(81)).segments, 2);
        // 152 plain septets then an escape pair: the pair moves whole to segment two.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        let r = gsm(&text);
        assert_eq!((r.units, r.segments), (164, 2));
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(
            gsm(&text).segments,
            3,
            "153 + 153 septets would split the pair"
        );
    }

    #[test]
    fn ucs2_boundaries_and_emoji() {
        assert_eq!(ucs2(&"ж".repeat(70)).segments, 1);
        assert_eq!(ucs2(&"ж".repeat(71)).segments, 2);
        assert_eq!(ucs2(&"ж".repeat(134)).segments, 2);
        assert_eq!(ucs2(&"ж".repeat(135)).segments, 3);
        let e = ucs2("Hi 😀");
        assert_eq!((e.characters, e.units), (4, 5));
        assert_eq!(ucs2(&"😀".repeat(35)).segments, 1);
        // 66 units then an emoji: the surrogate pair moves whole to segment two.
        let r = ucs2(&format!("{}😀", "ж".repeat(66)));
        assert_eq!((r.units, r.segments), (68, 1), "68 units fit one segment");
        let r = ucs2(&format!("{}😀{}", "ж".repeat(66), "ж".repeat(67)));
        assert_eq!(r.segments, 3);
        assert_eq!(ucs2("a`b").encoding, Encoding::Ucs2, "backtick is not GSM");
    }

    #[test]
    fn preview_costs_and_warns() {
        let p = preview(&format!("It’s time {}", "x".repeat(70)), 79);
        assert_eq!(
            (p.shape.encoding, p.shape.segments, p.credits),
            (Encoding::Ucs2, 2, 2)
        );
        assert_eq!(
            p.warnings,
            vec![
                Warning::OverMaxLength {
                    max: 79,
                    characters: 80
                },
                Warning::ForcesUcs2 {
                    characters: vec!["’ (U+2019)".into()]
                }
            ]
        );
        assert!(preview("Hi Ann", 160).warnings.is_empty());
    }

    #[test]
    fn names_the_characters_that_force_ucs2() {
        assert_eq!(non_gsm_chars("It’s 5 o’clock 😀"), vec!['’', '😀']);
        assert!(non_gsm_chars("Plain [GSM] €").is_empty());
    }

    proptest! {
        #[test]
        fn gsm_text_stays_gsm_and_segments_are_bounded(s in "[A-Za-z0-9 .,!?@£$¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà{}\\[\\]~|^€\n]{0,600}") {
            let r = shape(&s);
            prop_assert_eq!(r.encoding, Encoding::Gsm7);
            prop_assert!(r.units >= r.characters && r.units <= 2 * r.characters);
            if r.units <= 160 { prop_assert_eq!(r.segments, 1); }
            else {
                prop_assert!(r.segments >= r.units.div_ceil(153));
                prop_assert!(r.segments <= r.units.div_ceil(152));
            }
        }

        #[test]
        fn any_non_gsm_character_forces_ucs2(prefix in "[a-z ]{0,100}", c in any::<char>(), suffix in "[a-z ]{0,100}") {
            let s = format!("{prefix}{c}{suffix}");
            let r = shape(&s);
            prop_assert_eq!(r.encoding == Encoding::Ucs2, gsm_septets(c).is_none());
            prop_assert_eq!(r.characters, s.chars().count());
            if r.encoding == Encoding::Ucs2 {
                prop_assert_eq!(r.units, s.encode_utf16().count());
                if r.units <= 70 { prop_assert_eq!(r.segments, 1); }
                else { prop_assert!(r.segments >= r.units.div_ceil(67) && r.segments <= r.units.div_ceil(66)); }
            }
        }

        #[test]
        fn appending_never_reduces_segments(s in any::<String>(), t in any::<String>()) {
            let joined = format!("{s}{t}");
            prop_assert!(shape(&joined).segments >= shape(&s).segments);
        }
    }
}
