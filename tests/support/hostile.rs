//! Inputs a careless or hostile staff key could send, shared by the tests that check each is
//! refused (and writes nothing) and the benchmark that times the refusals.

use serde_json::{Value, json};

/// Previews that would make work or text beyond their values: each with the field and the error
/// code its 400 names. `{{ "x" * 5000000 }}` once answered 200 with 5 MB, and a few of them
/// could exhaust the function.
pub fn template_previews() -> Vec<(Value, &'static str, &'static str)> {
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
