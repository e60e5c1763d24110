//! Campaign benchmark against the local emulators (`make bench`, or under `make up`'s
//! environment: `cargo bench -p tidings-tests --bench campaign_run`).
//!
//! After a warm-up round of `BENCH_WARMUP` recipients (default 1,000; not measured), for
//! `BENCH_RECIPIENTS` patients (default 10,000) it measures, in one process and one run:
//! - a bare loop of SNS `Publish` calls to moto at the campaign's concurrency, once before the
//!   campaign and once after it: messages/s of each, and of the two together;
//! - one campaign run through the campaign function's code (`campaign_run::fire`) to the
//!   same patients: messages/s, and the ratio to the two bare loops together (moto's speed
//!   drifts over a run of minutes; loops on both sides of the campaign take the drift into
//!   the reference), and to the one before alone;
//! - with `BENCH_CHANNEL=email`, the same for an email campaign against SES `SendEmail`;
//! - DynamoDB capacity of the run from `ReturnConsumedCapacity` on DynamoDB Local (an SDK
//!   interceptor asks for it on every call and adds it up): write and read units per message;
//! - the process's resident memory before and at its peak during the run (sampled every
//!   10 ms from /proc/self/status), to show it does not grow with the audience;
//! - moto's CPU in each phase (from /proc), as cores used and milliseconds a call: moto's CPU
//!   a call moves between runs and phases, and the ratio with it, so these say how much of
//!   the provider's capacity the campaign kept busy against the bare loop;
//! - the mean number of requests on the wire to the provider in each phase (an HTTP client
//!   wrapping the SDK's counts them, see `outstanding.rs`): whether the campaign kept the
//!   provider as fed as the bare loop did (at most the concurrency), whatever moto's CPU a
//!   call; and the seconds of the campaign with none on the wire, before its first send, after
//!   its last (the run's end: its messages counted and settled) and between (the run waiting
//!   on DynamoDB: a page set up, claims or records not yet written).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use serde_json::json;
mod audience;
mod outstanding;

use audience::{address, prepare};
use outstanding::Outstanding;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tidings_app::App;
use tidings_app::delivery::{Delivery, Email, Sms};
use tidings_app::services::campaign_run::{FireEvent, FireOutcome, Limits, fire};
use tidings_domain::campaign::Counts;
use tidings_domain::message_template::Channel;
use tidings_tests::meter::{metered_app, rss_mib};

#[tokio::main]
async fn main() {
    let n = tidings_tests::env_number("BENCH_RECIPIENTS", 10_000);
    let concurrency = tidings_tests::env_number("BENCH_CONCURRENCY", 32);
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
    // The provider's calls go through a client that counts them on the wire: the SDK's
    // default client (hyper 1 with rustls on aws-lc), wrapped.
    let sdk_client = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https();
    let wire = Outstanding::wrapping(sdk_client);
    let aws = aws_config::from_env()
        .http_client(wire.clone())
        .load()
        .await;
    app.delivery = Delivery::for_stage(&aws, None, &base.config);
    // Warm-up, not measured: a smaller campaign and bare loop first, so that both measured
    // loops meet emulators whose code paths are already compiled (DynamoDB Local's JIT).
    let warmup = tidings_tests::env_number("BENCH_WARMUP", 1_000);
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
    wire.phase();
    let bare_before = bare_loop(&app, (n, 60_000_000), concurrency, channel).await;
    let wire_before = wire.phase().mean;
    let moto_end_bare_before = moto_cpu_s();
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
    wire.phase();
    let t = Instant::now();
    let out = run_campaign(&app, &c.id, campaign).await;
    let run = t.elapsed().as_secs_f64();
    let wire_run = wire.phase();
    let moto_run = moto_use(moto_before_run, run, n);
    eprintln!("campaign until {}", epoch());
    sampler.abort();
    let (reads, writes) = meter.take();
    assert_eq!(out.sent as usize, n, "{out:?}");

    eprintln!("bare loop after from {}", epoch());
    let moto_start_bare_after = moto_cpu_s();
    let bare_after = bare_loop(&app, (n, 90_000_000), concurrency, channel).await;
    let wire_after = wire.phase().mean;
    eprintln!("bare loop after until {}", epoch());
    // Both loops as one phase: their time and moto's CPU added up.
    let bare = (bare_before + bare_after) / 2.0;
    let moto_bare = moto_use_in(
        [
            (moto_before_bare, moto_end_bare_before),
            (moto_start_bare_after, moto_cpu_s()),
        ],
        bare_before + bare_after,
        2 * n,
    );
    let wire_bare = (wire_before * bare_before + wire_after * bare_after) / (2.0 * bare);
    let peak_mib = peak.load(Ordering::SeqCst) as f64 / 1024.0;
    let result = json!({
        "channel": channel,
        "recipients": n,
        "concurrency": concurrency,
        "bare_send_per_s": (n as f64 / bare).round(),
        "bare_before_per_s": (n as f64 / bare_before).round(),
        "bare_after_per_s": (n as f64 / bare_after).round(),
        "campaign_per_s": (n as f64 / run).round(),
        "ratio": ((bare / run) * 1000.0).round() / 1000.0,
        "ratio_to_bare_before": ((bare_before / run) * 1000.0).round() / 1000.0,
        "provider_requests_on_the_wire_bare": (wire_bare * 10.0).round() / 10.0,
        "provider_requests_on_the_wire_campaign": wire_run.mean,
        "provider_idle_in_campaign_s": {
            "before_first_send": wire_run.idle_before_first,
            "between_sends": wire_run.idle_between,
            "after_last_send": wire_run.idle_after_last,
        },
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
    moto_use_in([(before, moto_cpu_s())], seconds, calls)
}

/// Moto's use over spans (its CPU at the start and at the end of each) that took `seconds`
/// and made `calls` calls in all: (cores used, milliseconds of CPU a call), rounded.
fn moto_use_in<const N: usize>(
    spans: [(Option<f64>, Option<f64>); N],
    seconds: f64,
    calls: usize,
) -> Option<(f64, f64)> {
    let mut used = 0.0;
    for (start, end) in spans {
        used += end? - start?;
    }
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
