//! Message templates: MiniJinja syntax (`Hi {{ first_name }}`), a fixed set of placeholders,
//! strict about missing values, with no functions or filters beyond plain substitution, and a
//! length cap per placeholder applied when rendering.

use crate::FieldError;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A value a template can insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    FirstName,
    LastName,
    FullName,
    AppointmentDate,
    AppointmentTime,
    Practitioner,
    Location,
    ClinicName,
    ClinicPhone,
    Link,
}

/// Every placeholder, in the order the docs list them.
pub const PLACEHOLDERS: [Placeholder; 10] = [
    Placeholder::FirstName,
    Placeholder::LastName,
    Placeholder::FullName,
    Placeholder::AppointmentDate,
    Placeholder::AppointmentTime,
    Placeholder::Practitioner,
    Placeholder::Location,
    Placeholder::ClinicName,
    Placeholder::ClinicPhone,
    Placeholder::Link,
];

impl Placeholder {
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::FirstName => "first_name",
            Placeholder::LastName => "last_name",
            Placeholder::FullName => "full_name",
            Placeholder::AppointmentDate => "appointment_date",
            Placeholder::AppointmentTime => "appointment_time",
            Placeholder::Practitioner => "practitioner",
            Placeholder::Location => "location",
            Placeholder::ClinicName => "clinic_name",
            Placeholder::ClinicPhone => "clinic_phone",
            Placeholder::Link => "link",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        PLACEHOLDERS.iter().copied().find(|p| p.name() == name)
    }

    /// The cap that bounds this placeholder's value, if any.
    fn cap(self, caps: &Caps) -> Option<usize> {
        match self {
            Placeholder::FirstName | Placeholder::LastName | Placeholder::FullName => {
                Some(caps.patient_name)
            }
            Placeholder::AppointmentDate | Placeholder::AppointmentTime => Some(caps.date_time),
            Placeholder::Practitioner => Some(caps.practitioner),
            Placeholder::Location => Some(caps.location),
            Placeholder::ClinicName | Placeholder::ClinicPhone | Placeholder::Link => None,
        }
    }

    fn sample(self) -> &'static str {
        match self {
            Placeholder::FirstName => "Ann",
            Placeholder::LastName => "Lee",
            Placeholder::FullName => "Ann Lee",
            Placeholder::AppointmentDate => "Tue 24 Nov",
            Placeholder::AppointmentTime => "10:30am",
            Placeholder::Practitioner => "Dr Maya Ng",
            Placeholder::Location => "Rm 2",
            Placeholder::ClinicName => "Harbour Dental",
            Placeholder::ClinicPhone => "02 9374 4000",
            Placeholder::Link => "https://example.com/b/x1",
        }
    }
}

/// Per-placeholder length caps, in characters; a longer value is cut when rendering. The
/// defaults are the ones clinics know from their practice software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Caps {
    pub patient_name: usize,
    pub date_time: usize,
    pub practitioner: usize,
    pub location: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            patient_name: 25,
            date_time: 16,
            practitioner: 22,
            location: 5,
        }
    }
}

/// The values of one recipient's message. A placeholder without a value makes rendering fail
/// with [`Missing`] rather than print an empty gap.
#[derive(Debug, Clone, Default)]
pub struct Values {
    slots: [Option<String>; PLACEHOLDERS.len()],
}

impl Values {
    pub fn set(&mut self, p: Placeholder, value: impl Into<String>) -> &mut Self {
        self.slots[p as usize] = Some(value.into());
        self
    }

    pub fn with(mut self, p: Placeholder, value: impl Into<String>) -> Self {
        self.set(p, value);
        self
    }

    /// A plausible value for every placeholder (previews without a patient, trial renders).
    pub fn samples() -> Self {
        PLACEHOLDERS
            .iter()
            .fold(Self::default(), |v, p| v.with(*p, p.sample()))
    }

    pub fn get(&self, p: Placeholder) -> Option<&str> {
        self.slots[p as usize].as_deref()
    }
}

/// A placeholder the template uses has no value for this recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the template uses {{{{ {} }}}}, which has no value here", .0.name())]
pub struct Missing(pub Placeholder);

/// Whether a template produces plain text (SMS, email text) or HTML (escaped values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Html,
}

/// The most a rendered part (an SMS, an email's subject, text or HTML) may hold, in bytes: far
/// beyond any real message, far below what a function can hold. A render that could pass it
/// is refused before any text is made.
pub const MAX_RENDERED_BYTES: usize = 256 * 1024;

/// A template checked and compiled once, rendered many times.
pub struct Template {
    env: Environment<'static>,
    uses: Vec<Placeholder>,
    /// Every placeholder occurrence, in order (one placeholder may appear many times).
    slots: Vec<Placeholder>,
    /// The source's length: the most text the template itself adds.
    source_bytes: usize,
    format: Format,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("uses", &self.uses)
            .finish_non_exhaustive()
    }
}

const NAME: &str = "t";

impl Template {
    /// Compiles `source`. A syntax error, an unknown placeholder or anything beyond plain
    /// substitution that fails is a [`FieldError`] on `field`, so it surfaces at save time.
    pub fn compile(field: &str, source: &str, format: Format) -> Result<Self, FieldError> {
        let mut env = Environment::empty();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        let escape = if format == Format::Html {
            AutoEscape::Html
        } else {
            AutoEscape::None
        };
        env.set_auto_escape_callback(move |_| escape);
        env.set_fuel(Some(10_000));
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| syntax_error(field, &e))?;
        let mut uses = Vec::new();
        {
            let tmpl = env
                .get_template(NAME)
                .map_err(|e| syntax_error(field, &e))?;
            let mut names: Vec<String> = tmpl.undeclared_variables(false).into_iter().collect();
            names.sort();
            for name in names {
                let p = Placeholder::from_name(&name).ok_or_else(|| {
                    let known: Vec<_> = PLACEHOLDERS.iter().map(|p| p.name()).collect();
                    FieldError::new(
                        field,
                        "unknown_placeholder",
                        format!(
                            "{field} uses unknown placeholder '{name}'; known: {}",
                            known.join(", ")
                        ),
                    )
                })?;
                uses.push(p);
            }
        }
        let slots = substitutions_only(field, source)?;
        let compiled = Self {
            env,
            uses,
            slots,
            source_bytes: source.len(),
            format,
        };
        // A trial render finds what parsing cannot: unknown filters, tests, functions.
        compiled
            .render(&Values::samples(), &Caps::default())
            .map_err(|e| match e {
                RenderError::Missing(m) => {
                    FieldError::new(field, "unknown_placeholder", m.to_string())
                }
                RenderError::Template(detail) => {
                    FieldError::new(field, "invalid_template", format!("{field}: {detail}"))
                }
                e @ RenderError::TooLong { .. } => {
                    FieldError::new(field, "too_long", format!("{field}: {e}"))
                }
            })?;
        Ok(compiled)
    }

    /// The placeholders the template uses.
    pub fn placeholders(&self) -> &[Placeholder] {
        &self.uses
    }

    /// Renders for one recipient, cutting each value to its cap. A render whose text could
    /// pass [`MAX_RENDERED_BYTES`] fails before any of it is made.
    pub fn render(&self, values: &Values, caps: &Caps) -> Result<String, RenderError> {
        let mut ctx: Vec<(&'static str, Value)> = Vec::with_capacity(self.uses.len());
        let mut value_bytes = [0usize; PLACEHOLDERS.len()];
        for p in &self.uses {
            let v = values.get(*p).ok_or(RenderError::Missing(Missing(*p)))?;
            let v = match p.cap(caps) {
                Some(cap) => truncate(v, cap),
                None => Cow::Borrowed(v),
            };
            // HTML escaping makes a character at most six bytes (`&quot;`).
            value_bytes[*p as usize] = match self.format {
                Format::Text => v.len(),
                Format::Html => v.len().saturating_mul(6),
            };
            ctx.push((p.name(), Value::from(v.as_ref())));
        }
        let most = self.slots.iter().fold(self.source_bytes, |sum, p| {
            sum.saturating_add(value_bytes[*p as usize])
        });
        if most > MAX_RENDERED_BYTES {
            return Err(RenderError::TooLong {
                limit: MAX_RENDERED_BYTES,
            });
        }
        let tmpl = self
            .env
            .get_template(NAME)
            .map_err(|e| RenderError::Template(e.to_string()))?;
        let ctx: Value = ctx.into_iter().collect();
        tmpl.render(ctx)
            .map_err(|e| RenderError::Template(e.to_string()))
    }
}

/// Why a render failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Missing(#[from] Missing),
    #[error("the template could not be rendered: {0}")]
    Template(String),
    /// The rendered text could pass `limit` bytes.
    #[error("rendered with these values the text could pass {limit} bytes")]
    TooLong { limit: usize },
}

/// Checks that `source` is text with plain substitutions only (`{{ name }}`, with `-` for
/// whitespace control, and `{# comments #}`): no blocks, loops, operators, filters or
/// calls, so nothing a template says can make work or text beyond its values. Returns every
/// placeholder occurrence in order; the names were already checked against [`PLACEHOLDERS`].
fn substitutions_only(field: &str, source: &str) -> Result<Vec<Placeholder>, FieldError> {
    let refuse = |what: &str| {
        FieldError::new(
            field,
            "invalid_template",
            format!(
                "{field}: {what}; a template holds text and placeholders such as {{{{ first_name }}}} only"
            ),
        )
    };
    let mut slots = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find('{') {
        rest = &rest[i..];
        if rest.starts_with("{%") {
            return Err(refuse("blocks ({% … %}) are not supported"));
        } else if let Some(after) = rest.strip_prefix("{#") {
            let end = after
                .find("#}")
                .ok_or_else(|| refuse("a comment is not closed"))?;
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("{{") {
            let end = after
                .find("}}")
                .ok_or_else(|| refuse("a placeholder is not closed"))?;
            let inner = after[..end]
                .trim_start_matches(['-', '+'])
                .trim_end_matches(['-', '+'])
                .trim();
            let p = Placeholder::from_name(inner).ok_or_else(|| {
                refuse(&format!(
                    "'{{{{{}}}}}' is not a plain placeholder",
                    &after[..end]
                ))
            })?;
            slots.push(p);
            rest = &after[end + 2..];
        } else {
            rest = &rest[1..];
        }
    }
    Ok(slots)
}

fn syntax_error(field: &str, e: &minijinja::Error) -> FieldError {
    let detail = e.detail().unwrap_or("invalid syntax");
    let line = e
        .line()
        .map(|l| format!(" on line {l}"))
        .unwrap_or_default();
    let code = if e.kind() == ErrorKind::SyntaxError {
        "template_syntax"
    } else {
        "invalid_template"
    };
    FieldError::new(field, code, format!("{field}: {detail}{line}"))
}

/// The first `cap` characters of `s`, without splitting a character.
fn truncate(s: &str, cap: usize) -> Cow<'_, str> {
    match s.char_indices().nth(cap) {
        Some((i, _)) => Cow::Owned(s[..i].trim_end().to_owned()),
        None => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compile(s: &str) -> Result<Template, FieldError> {
        Template::compile("body", s, Format::Text)
    }

    fn values() -> Values {
        Values::default()
            .with(Placeholder::FirstName, "Alexandria-Catherine Josephine")
            .with(Placeholder::AppointmentDate, "Tue 24 Nov")
            .with(Placeholder::AppointmentTime, "10:30am")
            .with(
                Placeholder::Practitioner,
                "Dr Bartholomew Fitzgerald-Smythe",
            )
            .with(Placeholder::Location, "Room 12B")
            .with(Placeholder::ClinicName, "Harbour Dental")
    }

    #[test]
    fn renders_with_caps() {
        let t = compile("Hi {{ first_name }}, see {{ practitioner }} in {{ location }} on {{ appointment_date }} at {{ appointment_time }}.").unwrap();
        let out = t.render(&values(), &Caps::default()).unwrap();
        assert_eq!(
            out,
            "Hi Alexandria-Catherine Jose, see Dr Bartholomew Fitzger in Room on Tue 24 Nov at 10:30am."
        );
        let wide = Caps {
            patient_name: 100,
            ..Caps::default()
        };
        assert!(t.render(&values(), &wide).unwrap().contains("Josephine"));
    }

    #[test]
    fn unknown_placeholders_and_syntax_errors_are_named_at_compile_time() {
        let e = compile("Hi {{ frist_name }}").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("body", "unknown_placeholder"));
        assert!(e.message.contains("frist_name"));
        let e = compile("Hi {{ first_name ").unwrap_err();
        assert_eq!(e.code, "template_syntax");
        let e = compile("{{ first_name|upper }}").unwrap_err();
        assert_eq!(e.code, "invalid_template", "no filters: {}", e.message);
        let e = compile("{{ range(10) }}").unwrap_err();
        assert_eq!(e.code, "unknown_placeholder", "no functions: {}", e.message);
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_gap() {
        let t = compile("Hi {{ first_name }}, your link: {{ link }}").unwrap();
        let err = t.render(&values(), &Caps::default()).unwrap_err();
        assert_eq!(err, RenderError::Missing(Missing(Placeholder::Link)));
        assert_eq!(
            t.placeholders(),
            &[Placeholder::FirstName, Placeholder::Link]
        );
    }

    #[test]
    fn html_escapes_values_and_text_does_not() {
        let v = Values::default().with(Placeholder::FirstName, "<b>Ann</b> & co");
        let html =
            Template::compile("html_body", "<p>Hi {{ first_name }}</p>", Format::Html).unwrap();
        assert_eq!(
            html.render(
                &v,
                &Caps {
                    patient_name: 50,
                    ..Caps::default()
                }
            )
            .unwrap(),
            "<p>Hi &lt;b&gt;Ann&lt;&#x2f;b&gt; &amp; co</p>"
        );
        let text = compile("Hi {{ first_name }}").unwrap();
        assert_eq!(
            text.render(
                &v,
                &Caps {
                    patient_name: 50,
                    ..Caps::default()
                }
            )
            .unwrap(),
            "Hi <b>Ann</b> & co"
        );
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate("Zoë Żółć", 3), "Zoë");
        assert_eq!(truncate("Ann", 25), "Ann");
        assert_eq!(truncate("Ann Lee", 4), "Ann");
    }

    proptest! {
        #[test]
        fn compiling_arbitrary_text_never_panics(s in ".{0,200}") {
            let _ = compile(&s);
        }

        #[test]
        fn plain_text_renders_to_itself(s in "[^{}%#]{0,200}") {
            let t = compile(&s).unwrap();
            prop_assert_eq!(t.render(&Values::default(), &Caps::default()).unwrap(), s);
        }

        #[test]
        fn capped_values_never_exceed_their_cap(name in "\\PC{0,60}", cap in 1usize..40) {
            let t = compile("{{ first_name }}").unwrap();
            let out = t.render(&Values::default().with(Placeholder::FirstName, name), &Caps { patient_name: cap, ..Caps::default() }).unwrap();
            prop_assert!(out.chars().count() <= cap);
        }
    }

    #[test]
    fn only_plain_substitution_compiles() {
        for bad in [
            r#"{{ "x" * 5000000 }}"#,
            "{{ first_name * 99999999 }}",
            "{% for i in range(9) %}x{% endfor %}",
            "{% if first_name %}x{% endif %}",
            "{{ first_name ~ last_name }}",
            "{{ first_name }} {{ ",
        ] {
            let e = compile(bad).unwrap_err();
            assert!(
                ["invalid_template", "template_syntax", "unknown_placeholder"].contains(&e.code),
                "{bad}: {e:?}"
            );
        }
        for good in [
            "Hi {{first_name}}",
            "Hi {{- first_name -}}!",
            "{# note #}Hi {{ clinic_name }}",
            "{ not a tag }",
        ] {
            assert!(compile(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_render_that_could_pass_the_limit_fails_before_making_text() {
        let t = compile(&"{{ link }}".repeat(1_000)).unwrap();
        let too_long = Err(RenderError::TooLong {
            limit: MAX_RENDERED_BYTES,
        });
        let big = Values::default().with(Placeholder::Link, "x".repeat(64 * 1024));
        assert_eq!(t.render(&big, &Caps::default()), too_long);
        // Refused on what the text could be, before any of it is made: this text would be
        // 262,000 bytes, within the limit, but the source (its placeholders' own 10,000 bytes)
        // and the values together could be 272,000. A render that measured the text it made
        // would pass it.
        let almost = Values::default().with(Placeholder::Link, "x".repeat(262));
        const { assert!(1_000 * 262 <= MAX_RENDERED_BYTES) };
        assert_eq!(t.render(&almost, &Caps::default()), too_long);
        let small = Values::default().with(Placeholder::Link, "https://x.example/b");
        assert!(t.render(&small, &Caps::default()).is_ok());
        // HTML counts escaping: a value of quotes grows six-fold.
        let h = Template::compile("html_body", &"{{ link }}".repeat(100), Format::Html).unwrap();
        let quotes = Values::default().with(Placeholder::Link, "\"".repeat(500));
        assert!(matches!(
            h.render(&quotes, &Caps::default()),
            Err(RenderError::TooLong { .. })
        ));
    }
}
