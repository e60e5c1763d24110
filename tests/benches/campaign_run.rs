//! Campaign benchmark against the local emulators (`make bench`, or under `make up`'s
//! environment: `cargo bench -p tidings-tests --bench campaign_run`).
//!
//! After a warm-up round of `BENCH_WARMUP` recipients (default 1,000; not measured), for
//! `BENCH_RECIPIENTS` patients (default 10,000) it measures, in one process and one run:
//! - a bare loop of SNS `Publish` calls to moto at the campaign's concurrency: messages/s;
//! - one campaign run through the campaign function's code (`campaign_run::fire`) to the
//!   same patients: messages/s, and the ratio to the bare loop;
//! - with `BENCH_CHANNEL=email`, the same for an email campaign against SES `SendEmail`;
//! - DynamoDB capacity of the run from `ReturnConsumedCapacity` on DynamoDB Local (an SDK
//!   interceptor asks for it on every call and adds it up): write and read units per message;
//! - the process's resident memory before and at its peak during the run (sampled every
//!   10 ms from /proc/self/status), to show it does not grow with the audience;
//! - moto's CPU in each phase (from /proc), as cores used and milliseconds a call: moto's CPU
//!   a call moves between runs and phases, and the ratio with it, so these say how much of
//!   the provider's capacity the campaign kept busy against the bare loop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use serde_json::json;
mod audience;

use audience::{address, prepare};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tidings_app::App;
use tidings_app::delivery::{Email, Sms};
use tidings_app::services::campaign_run::{FireEvent, FireOutcome, Limits, fire};
use tidings_domain::campaign::Counts;
use tidings_domain::message_template::Channel;
use tidings_tests::meter::{metered_app, rss_mib};

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let channel = match std::env::var("BENCH_CHANNEL").as_deref() {
        Ok("email") => Channel::Email,
        Ok("sms") | Err(_) => Channel::Sms,
        Ok(other) => panic!("BENCH_CHANNEL is sms or email, not {other}"),
    };
    // No pacing: the bench measures what the code and the emulators can do.
    let base = tidings_tests::app().await;
    let mut config = base.config.clone();
    config.campaigns.sms_per_second = 1_000_000;
    config.campaigns.email_per_second = 1_000_000;
    config.campaigns.concurrency = concurrency;
    let (mut app, meter) = metered_app(&base).await;
    app.config = config;
    // Warm-up, not measured: a smaller campaign and bare loop first, so that both measured
    // loops meet emulators whose code paths are already compiled (DynamoDB Local's JIT).
    let warmup: usize = std::env::var("BENCH_WARMUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    if warmup > 0 {
        let w = tidings_tests::new_clinic(&app).await;
        let campaign = prepare(&app, &w, (warmup, 70_000_000), channel).await;
        bare_loop(&app, (warmup, 80_000_000), concurrency, channel).await;
        run_campaign(&app, &w.id, campaign).await;
        eprintln!("warmed up with {warmup} recipients");
    }
    let c = tidings_tests::new_clinic(&app).await;
    let campaign = prepare(&app, &c, (n, 20_000_000), channel).await;
    eprintln!("bare loop from {}", epoch());
    let moto_before_bare = moto_cpu_s();
    let bare = bare_loop(&app, (n, 60_000_000), concurrency, channel).await;
    let moto_bare = moto_use(moto_before_bare, bare, n);
    eprintln!("bare loop until {}", epoch());

    meter.take();
    meter.breakdown();
    meter.writes_by_target(1.0);
    let before = rss_mib("VmRSS:");
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let now = (rss_mib("VmRSS:") * 1024.0) as u64;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    eprintln!("campaign from {}", epoch());
    let moto_before_run = moto_cpu_s();
    let t = Instant::now();
    let out = run_campaign(&app, &c.id, campaign).await;
    let run = t.elapsed().as_secs_f64();
    let moto_run = moto_use(moto_before_run, run, n);
    eprintln!("campaign until {}", epoch());
    sampler.abort();
    let (reads, writes) = meter.take();
    assert_eq!(out.sent as usize, n, "{out:?}");
    let peak_mib = peak.load(Ordering::SeqCst) as f64 / 1024.0;
    let result = json!({
        "channel": channel,
        "recipients": n,
        "concurrency": concurrency,
        "bare_send_per_s": (n as f64 / bare).round(),
        "campaign_per_s": (n as f64 / run).round(),
        "ratio": ((bare / run) * 1000.0).round() / 1000.0,
        "wcu_per_message": (writes / n as f64 * 1000.0).round() / 1000.0,
        "rcu_per_message": (reads / n as f64 * 1000.0).round() / 1000.0,
        "rss_before_run_mib": before.round(),
        "rss_peak_during_run_mib": peak_mib.round(),
        "rss_growth_mib": (peak_mib - before).round(),
        "moto_cores_bare": moto_bare.map(|m| m.0),
        "moto_cores_campaign": moto_run.map(|m| m.0),
        "moto_ms_per_call_bare": moto_bare.map(|m| m.1),
        "moto_ms_per_call_campaign": moto_run.map(|m| m.1),
        "capacity_by_operation": meter.breakdown(),
        "wcu_per_message_by_target": meter.writes_by_target(n as f64),
    });
    println!("{result}");
}

/// CPU seconds moto's processes have used (user and system), if they can be read from /proc
/// (the emulators run on this machine).
fn moto_cpu_s() -> Option<f64> {
    // /proc/<pid>/stat counts in clock ticks: USER_HZ, 100 a second on Linux.
    const TICKS_PER_S: f64 = 100.0;
    let mut ticks = 0u64;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let dir = entry.path();
        let Ok(cmd) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmd).contains("moto_server") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let used: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        ticks += used;
        found = true;
    }
    found.then(|| ticks as f64 / TICKS_PER_S)
}

/// Moto's use over a phase of `seconds` that made `calls` calls, from its CPU at the start:
/// (cores used, milliseconds of CPU a call), rounded.
fn moto_use(before: Option<f64>, seconds: f64, calls: usize) -> Option<(f64, f64)> {
    let used = moto_cpu_s()? - before?;
    let round = |x: f64, places: f64| (x * places).round() / places;
    Some((
        round(used / seconds, 100.0),
        round(used * 1000.0 / calls as f64, 100.0),
    ))
}

/// Seconds since the epoch, to line the phases up with samples of the emulators' CPU.
fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `n` bare SNS `Publish` (or SES `SendEmail`) calls to people numbered from `first`, same
/// client, same concurrency as the campaign: the seconds they took.
async fn bare_loop(
    app: &App,
    (n, first): (usize, usize),
    concurrency: usize,
    channel: Channel,
) -> f64 {
    let t = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| async move {
            let to = address(channel, first + i);
            let text = "Hi P1, time for a check-up at Harbour Dental.";
            let sent = match channel {
                Channel::Sms => {
                    app.delivery
                        .send_sms(&Sms {
                            to: &to,
                            text,
                            sender_id: "HarbourDent",
                            transactional: false,
                        })
                        .await
                }
                Channel::Email => {
                    app.delivery
                        .send_email(&Email {
                            from_name: Some("Harbour Dental"),
                            from_address: "hello@harbour.example",
                            identity: "harbour.example",
                            reply_to: None,
                            to: &to,
                            subject: "Time for a check-up",
                            text,
                            html: None,
                            tags: &[("clinic_id", "bench"), ("message_id", "bench")],
                            headers: &[],
                        })
                        .await
                }
            };
            sent.unwrap();
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    t.elapsed().as_secs_f64()
}

/// Fires the campaign once through the campaign function's code, to the end.
async fn run_campaign(app: &App, clinic_id: &str, campaign_id: String) -> Counts {
    let ev = FireEvent {
        clinic_id: clinic_id.to_owned(),
        campaign_id,
        scheduled_time: "2026-12-01T09:00:00Z".into(),
        wake_time: None,
    };
    let limits = Limits {
        stop_at: tokio::time::Instant::now() + Duration::from_secs(3600),
        lease: chrono::Duration::minutes(5),
    };
    match fire(app, &ev, &limits).await.unwrap() {
        FireOutcome::Finished { counts, .. } => counts,
        out => panic!("{out:?}"),
    }
}
