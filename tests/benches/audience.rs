//! The bench audience: seeded patients and a campaign to them, shared by the campaign benches.

use futures::StreamExt;
use serde_json::json;
use std::time::Instant;
use tidings_app::App;
use tidings_domain::message_template::Channel;
use tidings_domain::patient::PatientInput;

/// The mobile or address of bench person `i`.
pub fn address(channel: Channel, i: usize) -> String {
    match channel {
        Channel::Sms => format!("+614{i:08}"),
        Channel::Email => format!("p{i}@bench.example"),
    }
}

/// Seeds `n` patients in clinic `c`, numbered from `first`, with a mobile or an address for
/// `channel` and credits for them all, and creates a campaign to them on that channel
/// (scheduled a day ahead: the bench fires it).
pub async fn prepare(
    app: &App,
    c: &tidings_tests::TestClinic,
    (n, first): (usize, usize),
    channel: Channel,
) -> String {
    tidings_tests::grant(app, &c.id, (n as i64) * 2).await;
    eprintln!("seeding {n} patients");
    let t = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| async move {
            let to = address(channel, first + i);
            let (mobile, email) = match channel {
                Channel::Sms => (Some(to), None),
                Channel::Email => (None, Some(to)),
            };
            let input = PatientInput {
                first_name: Some(format!("P{i}")),
                last_name: Some("Bench".into()),
                mobile,
                email,
                ..Default::default()
            };
            tidings_app::services::patients::create(
                &app.store,
                &c.id,
                input,
                &tidings_domain::actor::Actor::key("bench"),
            )
            .await
            .unwrap();
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    eprintln!("seeded in {:.1} s", t.elapsed().as_secs_f64());
    let key = &c.staff_key;
    let report =
        tidings_tests::campaigns::report(app, key, json!({"name": "All", "type": "patient"})).await;
    let (name, body) = match channel {
        Channel::Sms => (
            "sms",
            json!({"name": "B", "channel": "sms", "category": "recall",
            "body": "Hi {{ first_name }}, time for a check-up at {{ clinic_name }}."}),
        ),
        Channel::Email => (
            "email",
            json!({"name": "B", "channel": "email", "category": "recall",
            "subject": "Time for a check-up", "body": "Hi {{ first_name }}, time for a check-up at {{ clinic_name }}."}),
        ),
    };
    let template = tidings_tests::call(app, key, "POST", "/templates", Some(body))
        .await
        .id();
    let campaign = tidings_tests::call(app, key, "POST", "/campaigns", Some(json!({"name": "Bench", "report_id": report,
        "channels": {name: template}, "send_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}))).await;
    assert_eq!(campaign.status, 201, "{}", campaign.json);
    campaign.id()
}
