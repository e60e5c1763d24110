//! Reminder sweep benchmark against the local emulators (`make bench`, or under `make up`'s
//! environment: `cargo bench -p tidings-tests --bench reminder_sweep`).
//!
//! One clinic with `BENCH_APPOINTMENTS` appointments (default 50,000) spread over the 30 days
//! after a start in 2027, and group settings with two rules: 24 hours before, and 1 day before
//! at 09:00. It measures, from `ReturnConsumedCapacity` on DynamoDB Local, the read and write
//! units and the wall time of:
//! - an ordinary 5-minute sweep (the 24-hour rule's appointments in a 5-minute window);
//! - the sweep that crosses 09:00 local (also every appointment of the next day);
//! - the same 5-minute sweep again (a duplicate firing: nothing is due any more).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde_json::json;
use std::time::Instant;
use tidings_app::App;
use tidings_app::services::reminders::{SweepReport, sweep_clinic};
use tidings_domain::appointment::{Appointment, AppointmentFields, AppointmentStatus};
use tidings_domain::patient::PatientInput;
use tidings_tests::meter::{Meter, metered_app, rss_mib};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn measured(app: &App, meter: &Meter, clinic: &str, at: DateTime<Utc>) -> serde_json::Value {
    meter.take();
    meter.breakdown();
    meter.writes_by_target(1.0);
    let start = Instant::now();
    let r: SweepReport = sweep_clinic(app, clinic, at).await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    let (reads, writes) = meter.take();
    json!({
        "at": at.to_rfc3339(),
        "reminders_due": r.due,
        "sent": r.sent,
        "read_units": reads,
        "write_units": writes,
        "read_units_per_reminder": if r.due > 0 { (reads / r.due as f64 * 100.0).round() / 100.0 } else { 0.0 },
        "wall_ms": (secs * 1000.0).round(),
        "capacity_by_operation": meter.breakdown(),
        "write_units_by_target": meter.writes_by_target(1.0),
    })
}

#[tokio::main]
async fn main() {
    let n = tidings_tests::env_number("BENCH_APPOINTMENTS", 50_000);
    let base = tidings_tests::app().await;
    let (app, meter) = metered_app(&base).await;
    let c = tidings_tests::new_clinic(&app).await;
    tidings_tests::grant(&app, &c.id, 10_000).await;
    let patients = (n / 50).max(1);
    eprintln!("seeding {patients} patients and {n} appointments");
    let seeding = Instant::now();
    let ids: Vec<String> = futures::stream::iter(0..patients)
        .map(|i| {
            let (app, clinic_id) = (&app, &c.id);
            async move {
                let input = PatientInput {
                    first_name: Some(format!("P{i}")),
                    last_name: Some("Bench".into()),
                    mobile: Some(format!("+614{:08}", 30_000_000 + i)),
                    ..Default::default()
                };
                tidings_app::services::patients::create(
                    &app.store,
                    clinic_id,
                    input,
                    &tidings_domain::actor::Actor::key("bench"),
                )
                .await
                .unwrap()
                .id
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let from = t("2027-09-01T00:00:00+10:00");
    let step = Duration::days(30).num_seconds() / n as i64;
    futures::stream::iter(0..n)
        .map(|i| {
            let (app, clinic_id, ids) = (&app, &c.id, &ids);
            async move {
                let start = from + Duration::seconds(step * i as i64);
                let a = Appointment {
                    id: uuid::Uuid::now_v7().to_string(),
                    fields: AppointmentFields {
                        patient_id: ids[i % ids.len()].clone(),
                        practitioner_id: None,
                        start,
                        end: start + Duration::minutes(30),
                        location: Some("Room 1".into()),
                        appointment_type: None,
                        status: AppointmentStatus::Scheduled,
                    },
                    created_at: Utc::now(),
                    updated_at: Utc::now(),
                    completed_at: None,
                };
                app.store
                    .write_appointment(clinic_id, &a, None)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let r = tidings_tests::call(&app, &c.admin_key, "PUT", "/settings/reminders", Some(json!({
        "channels": {"sms": {"body": "Hi {{ first_name }}, see you at {{ clinic_name }}:",
                             "append": ["date_time", "room"]}},
        "rules": [{"kind": "hours_before", "hours": 24}, {"kind": "days_before", "days": 1, "at": "09:00"}]}))).await;
    assert_eq!(r.status, 200, "{}", r.json);

    // Day 10 of the book, Sydney time: sweeps every 5 minutes up to 08:55, then the 09:00 one.
    sweep_clinic(&app, &c.id, t("2027-09-10T08:50:00+10:00"))
        .await
        .unwrap();
    let ordinary = measured(&app, &meter, &c.id, t("2027-09-10T08:55:00+10:00")).await;
    let nine = measured(&app, &meter, &c.id, t("2027-09-10T09:00:00+10:00")).await;
    let duplicate = measured(&app, &meter, &c.id, t("2027-09-10T09:00:00+10:00")).await;
    println!(
        "{}",
        json!({
            "appointments": n,
            "days": 30,
            "ordinary_5_minute_sweep": ordinary,
            "sweep_crossing_09_00": nine,
            "duplicate_firing": duplicate,
            "process_peak_rss_mib": rss_mib("VmHWM:").round(),
        })
    );
}
