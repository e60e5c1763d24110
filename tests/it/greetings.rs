//! Birthday greetings against the local stack, swept "at" chosen instants in 2027 and 2028.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tidings_app::App;
use tidings_app::services::greetings::sweep_clinic;
use tidings_tests::{
    TestClinic, app, assert_rejected, call, grant, moto_sent, new_clinic, snapshot, unique_mobile,
};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn patient(app: &App, c: &TestClinic, born: &str, extra: Value) -> String {
    let mobile = unique_mobile();
    let mut body = json!({"first_name": "Bea", "last_name": "Ray", "mobile": mobile,
                          "date_of_birth": born});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = call(app, &c.admin_key, "POST", "/patients", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    mobile
}

async fn count(mobile: &str) -> usize {
    moto_sent().await.sms_to(mobile).len()
}

#[tokio::test]
async fn settings_validate_and_stay_in_their_clinic() {
    let app = app().await;
    let c = new_clinic(&app).await;
    let r = call(&app, &c.staff_key, "GET", "/settings/greetings", None).await;
    assert_eq!(
        (r.status.as_u16(), &r.json["enabled"]),
        (200, &json!(false))
    );
    let before = snapshot(&app, &c.id).await;
    for (body, field) in [
        (
            json!({"channels": {"sms": {"body": "Happy birthday"}}, "send_at": "9"}),
            "send_at",
        ),
        (json!({"send_at": "09:00"}), "channels"),
        (
            json!({"channels": {"sms": {"body": "See you {{ appointment_date }}"}}}),
            "channels.sms.body",
        ),
        (
            json!({"channels": {"email": {"body": "Happy birthday"}}}),
            "channels.email.subject",
        ),
    ] {
        let r = call(&app, &c.admin_key, "PUT", "/settings/greetings", Some(body)).await;
        assert_rejected(&app, &c.id, &before, &r, 400, field).await;
    }
    let good = json!({"channels": {"sms": {"body": "Happy birthday {{ first_name }} from {{ clinic_name }}!"}},
                      "send_at": "09:30"});
    let r = call(
        &app,
        &c.staff_key,
        "PUT",
        "/settings/greetings",
        Some(good.clone()),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(&app, &c.admin_key, "PUT", "/settings/greetings", Some(good)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["send_at"], "09:30");
    assert_eq!(
        r.json["preview"]["sms"]["text"],
        "Happy birthday Ann from Harbour Dental!"
    );
    let other = new_clinic(&app).await;
    let r = call(&app, &other.staff_key, "GET", "/settings/greetings", None).await;
    assert_eq!(
        r.json["enabled"], false,
        "another clinic's settings are its own"
    );
}

#[tokio::test]
async fn birthdays_on_the_local_day_once_a_year_with_29_february() {
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 100).await;
    let r = call(
        &app,
        &c.admin_key,
        "PUT",
        "/settings/greetings",
        Some(json!({"channels": {"sms": {"body": "Happy birthday {{ first_name }}!"}}, "send_at": "09:00"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let feb28 = patient(&app, &c, "1990-02-28", json!({})).await;
    let leap = patient(&app, &c, "2000-02-29", json!({})).await;
    let march = patient(&app, &c, "1985-03-01", json!({})).await;
    let no_marketing = patient(
        &app,
        &c,
        "1970-02-28",
        json!({"receive_campaigns": {"sms": false, "email": false}}),
    )
    .await;

    // Sydney, 2027 (not a leap year): 28 February also greets 29 February birthdays.
    let r = sweep_clinic(&app, &c.id, t("2027-02-28T08:55:00+11:00"))
        .await
        .unwrap();
    assert_eq!(r.patients, 0, "not before the send time");
    let r = sweep_clinic(&app, &c.id, t("2027-02-28T09:05:00+11:00"))
        .await
        .unwrap();
    assert_eq!((r.patients, r.sent, r.skipped), (3, 2, 1), "{r:?}");
    assert_eq!(count(&feb28).await, 1);
    assert_eq!(count(&leap).await, 1);
    assert_eq!(
        count(&no_marketing).await,
        0,
        "marketing consent is honoured"
    );
    let sent = moto_sent().await;
    assert_eq!(sent.sms_to(&feb28)[0]["message"], "Happy birthday Bea!");
    // A later sweep the same day, and a duplicate firing, send nothing more.
    let again = sweep_clinic(&app, &c.id, t("2027-02-28T09:30:00+11:00"))
        .await
        .unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(count(&march).await, 0);
    // UTC is still 28 February at 09:05 on 1 March in Sydney: the local date decides.
    sweep_clinic(&app, &c.id, t("2027-03-01T09:05:00+11:00"))
        .await
        .unwrap();
    assert_eq!(count(&march).await, 1);

    // 2028 is a leap year: 29 February birthdays wait for their day.
    sweep_clinic(&app, &c.id, t("2028-02-28T09:05:00+11:00"))
        .await
        .unwrap();
    assert_eq!((count(&feb28).await, count(&leap).await), (2, 1));
    let (a, b) = tokio::join!(
        sweep_clinic(&app, &c.id, t("2028-02-29T09:05:00+11:00")),
        sweep_clinic(&app, &c.id, t("2028-02-29T09:05:00+11:00"))
    );
    assert_eq!(
        a.unwrap().sent + b.unwrap().sent,
        1,
        "a duplicate firing greets once"
    );
    assert_eq!(count(&leap).await, 2);
}

/// The `greeting-sweep` function itself, run as Lambda runs it on its schedule: it queues a
/// sweep for every clinic (a date with nobody's birthday, so nothing is sent).
#[tokio::test]
async fn the_greeting_function_queues_every_clinics_sweep() {
    use tidings_tests::lambda_process::{Answer, LambdaProcess};
    let app = app().await;
    new_clinic(&app).await;
    let event = json!({"scheduled_time": "2001-01-01T00:00:00Z"});
    let out = LambdaProcess::start("greeting-sweep", &event, &[])
        .await
        .answer(std::time::Duration::from_secs(120))
        .await;
    let Some(Answer::Response(out)) = out else {
        panic!("{out:?}")
    };
    assert!(out["clinics_queued"].as_u64().unwrap() >= 1, "{out}");
}

/// A `sweep-clinic` copy whose time is up before its first greeting's turn in the account's
/// rate sends nothing, marks the day done for no one and leaves the clinic's message to be
/// tried again (a failure, so that a copy that never has the time ends in the failed-events
/// queue); the next try sends each greeting once.
#[tokio::test]
async fn a_copy_out_of_time_leaves_the_days_greetings_for_its_retry() {
    use tidings_app::queue::{SqsEvent, SqsRecord};
    use tidings_app::sweep_function::{ClinicSweep, Sweep, handle_queue};
    let app = app().await;
    let c = new_clinic(&app).await;
    grant(&app, &c.id, 10).await;
    let r = call(
        &app,
        &c.admin_key,
        "PUT",
        "/settings/greetings",
        Some(json!({"channels": {"sms": {"body": "Happy birthday!"}}, "send_at": "09:00"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let (a, b) = (
        patient(&app, &c, "1991-06-15", json!({})).await,
        patient(&app, &c, "1992-06-15", json!({})).await,
    );
    let at = t("2027-06-15T09:05:00+10:00");
    let unit = ClinicSweep {
        sweep: Sweep::Greetings,
        clinic_id: c.id.clone(),
        at,
    };
    let records = vec![SqsRecord {
        message_id: "first-delivery".into(),
        receipt_handle: "unused".into(),
        body: serde_json::to_string(&unit).unwrap(),
    }];
    let out = handle_queue(&app, SqsEvent { records }, tokio::time::Instant::now()).await;
    let failed: Vec<&str> = out
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["first-delivery"]);
    assert_eq!((count(&a).await, count(&b).await), (0, 0));

    let r = sweep_clinic(&app, &c.id, at).await.unwrap();
    assert_eq!((r.patients, r.sent, r.deferred), (2, 2, 0), "{r:?}");
    assert_eq!((count(&a).await, count(&b).await), (1, 1));
    let later = sweep_clinic(&app, &c.id, t("2027-06-15T09:20:00+10:00"))
        .await
        .unwrap();
    assert_eq!(later.patients, 0, "the day is done: {later:?}");
}
