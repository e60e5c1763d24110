//! Inputs a careless or hostile staff key could send, shared by the tests that check each is
//! refused (and writes nothing) and the benchmark that times the refusals.

use crate::call;
use serde_json::{Value, json};
use tidings_app::App;

/// A hostile input with the field and the error code its 400 names.
pub type Refused = (Value, &'static str, &'static str);

/// Previews `body` with `key` and checks it is a 400 naming `field` with `code`.
pub async fn preview_is_refused(app: &App, key: &str, (body, field, code): &Refused) {
    let r = call(app, key, "POST", "/templates/preview", Some(body.clone())).await;
    assert_eq!(
        (r.status.as_u16(), r.field(), r.code()),
        (400, *field, *code),
        "{}",
        r.json
    );
}

/// Previews that would make work or text beyond their values: each with the field and the error
/// code its 400 names. `{{ "x" * 5000000 }}` once answered 200 with 5 MB, and a few of them
/// could exhaust the function.
pub fn template_previews() -> Vec<Refused> {
    let huge_link = format!("https://x.example/{}", "y".repeat(50_000));
    vec![
        (
            json!({"channel": "email", "subject": "Hi", "body": "{{ \"x\" * 5000000 }}"}),
            "body",
            "invalid_template",
        ),
        (
            json!({"channel": "email", "subject": "{{ \"x\" * 99999999 }}", "body": "Hi"}),
            "subject",
            "invalid_template",
        ),
        (
            json!({"channel": "email", "subject": "Hi", "body": "Hi",
            "html_body": "{% for i in range(99999999) %}x{% endfor %}"}),
            "html_body",
            "unknown_placeholder",
        ),
        // Plain substitution, but 150 copies of a 50 KB value: refused before rendering.
        (
            json!({"channel": "email", "subject": "Hi", "body": "{{ link }}".repeat(150), "values": {"link": huge_link}}),
            "body",
            "too_long",
        ),
    ]
}
