//! Appointment reminders: the sweep the reminder function runs on its schedule, and the
//! at-creation reminder the appointment create path sends at once.
//!
//! Each settings scope (the group, each practitioner with their own) keeps a checkpoint: the
//! due time it has covered. A sweep at `now` covers `(checkpoint, now]`: for every rule it reads
//! only the appointments whose reminder falls in that range (by start time, or by creation
//! time), re-reads each before sending, and claims each (appointment, rule, start time) once.
//! While a scope's quiet hours last its sweep waits; the first sweep after them sends what fell
//! due meanwhile, or skips it when the appointment has already started.

use super::automatic::{self, Automatic, Tally, Words};
use super::credits::paying_account;
use super::load_clinic;
use super::pacing::Pacer;
use super::reminder_batches::{Collector, MAX_SENDS, send_collected};
use super::rendering::{AppointmentValues, patient_values};
use crate::store::{AppointmentFilter, Blocked, Scope, keys};
use crate::{App, ServiceError};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use std::collections::HashSet;
use tidings_domain::appointment::{Appointment, AppointmentStatus};
use tidings_domain::clinic::Clinic;
use tidings_domain::message::SkipReason;
use tidings_domain::message_template::{Category, Channel};
use tidings_domain::reminder::{
    AfterVisit, Decision, Elements, ReminderChannels, ReminderSettings, Rule, Window,
    date_time_element, decide,
};

/// How far back the first sweep of a scope looks (a little over one schedule period).
pub const FIRST_LOOKBACK_MINUTES: i64 = 15;
/// The most a sweep catches up after an outage: older reminders are not sent late.
pub const MAX_CATCH_UP_HOURS: i64 = 24;
/// Appointments read per page of the appointment book.
const PAGE: usize = 500;
/// Reminders sent at once within one sweep.
const CONCURRENCY: usize = 8;

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SweepReport {
    pub clinics: usize,
    /// Scopes waiting out their quiet hours.
    pub quiet: usize,
    /// Reminders found due.
    pub due: usize,
    pub sent: usize,
    pub skipped: usize,
    /// Reminders found already sent (a duplicate or overlapping sweep).
    pub already_sent: usize,
    /// Reminders left for the clinic's next sweep (its continuation): the time ran out before
    /// their turn in the account's rate. Their scopes' checkpoints stay where they were.
    pub deferred: usize,
}

impl SweepReport {
    fn add(&mut self, t: Tally) {
        self.due += 1;
        self.sent += t.sent;
        self.skipped += t.skipped;
        self.already_sent += t.already;
        self.deferred += t.deferred;
    }

    /// Adds what became of each message due (None: not due after all); the first error stops.
    fn add_all(
        &mut self,
        results: Vec<Result<Option<Tally>, ServiceError>>,
    ) -> Result<(), ServiceError> {
        for t in results {
            if let Some(t) = t? {
                self.add(t);
            }
        }
        Ok(())
    }
}

/// Sweeps one clinic's reminders due up to `now`, as one `sweep-clinic` copy does.
pub async fn sweep_clinic(
    app: &App,
    clinic_id: &str,
    now: DateTime<Utc>,
) -> Result<SweepReport, ServiceError> {
    sweep_clinic_paced(app, &Pacer::for_app(app), clinic_id, now).await
}

/// [`sweep_clinic`], its provider calls taken from `pacer`'s share of the account's rate (a
/// `sweep-clinic` copy paces the clinics of its batch with one pacer).
pub(crate) async fn sweep_clinic_paced(
    app: &App,
    pacer: &Pacer,
    clinic_id: &str,
    now: DateTime<Utc>,
) -> Result<SweepReport, ServiceError> {
    let sweep = sweep_one(app, pacer, clinic_id, now);
    crate::aws_calls::as_function("sweep-clinic", Box::pin(sweep)).await
}

async fn sweep_one(
    app: &App,
    pacer: &Pacer,
    clinic_id: &str,
    now: DateTime<Utc>,
) -> Result<SweepReport, ServiceError> {
    let store = &app.store;
    let clinic = load_clinic(store, clinic_id).await?;
    let tz: Tz = clinic.fields.time_zone;
    let all = store.all_reminder_settings(clinic_id).await?;
    let own: HashSet<String> = all
        .iter()
        .filter_map(|(s, _)| match s {
            Scope::Practitioner(id) => Some(id.clone()),
            Scope::Group => None,
        })
        .collect();
    let mut report = SweepReport::default();
    // Messages of changes made in quiet hours that have ended.
    for t in super::appointment_changes::send_held(app, pacer, &clinic, now).await? {
        report.add(t);
    }
    let mut blocked = None;
    for (scope, settings) in &all {
        if settings.enabled && settings.quiet_hours.is_some_and(|q| q.contains(now, tz)) {
            report.quiet += 1;
            continue;
        }
        let checkpoint = store.reminder_checkpoint(clinic_id, scope).await?;
        let from = checkpoint
            .unwrap_or(now - Duration::minutes(FIRST_LOOKBACK_MINUTES))
            .max(now - Duration::hours(MAX_CATCH_UP_HOURS));
        let deferred_before = report.deferred;
        if settings.enabled && from < now {
            let blocked = match &blocked {
                Some(b) => b,
                None => blocked.insert(store.blocked(clinic_id).await?),
            };
            let ctx = Ctx {
                app,
                clinic: &clinic,
                tz,
                scope,
                settings,
                own: &own,
                blocked,
                pacer,
                from,
                now,
            };
            ctx.run(&mut report).await?;
        }
        // A scope with reminders left for later is swept again from where it was.
        if report.deferred == deferred_before {
            store
                .advance_reminder_checkpoint(clinic_id, scope, now)
                .await?;
        }
    }
    Ok(report)
}

/// One scope's sweep.
struct Ctx<'a> {
    app: &'a App,
    clinic: &'a Clinic,
    tz: Tz,
    scope: &'a Scope,
    settings: &'a ReminderSettings,
    /// Practitioners with their own settings (the group's do not apply to them).
    own: &'a HashSet<String>,
    blocked: &'a Blocked,
    pacer: &'a Pacer,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl Ctx<'_> {
    fn in_scope(&self, a: &Appointment) -> bool {
        match (self.scope, &a.fields.practitioner_id) {
            (Scope::Practitioner(id), Some(p)) => id == p,
            (Scope::Practitioner(_), None) => false,
            (Scope::Group, Some(p)) => !self.own.contains(p),
            (Scope::Group, None) => true,
        }
    }

    async fn run(&self, report: &mut SweepReport) -> Result<(), ServiceError> {
        let store = &self.app.store;
        let filter = AppointmentFilter {
            practitioner_id: match self.scope {
                Scope::Practitioner(id) => Some(id.clone()),
                Scope::Group => None,
            },
            statuses: self.settings.statuses.clone(),
        };
        for rule in &self.settings.rules {
            for window in rule.windows(self.from, self.now, self.tz) {
                let found = match window {
                    Window::Created(a, b) => {
                        store
                            .appointments_created_between(&self.clinic.id, a, b)
                            .await?
                    }
                    Window::Starts(a, b) => {
                        let mut all = Vec::new();
                        let mut after = None;
                        loop {
                            let page = store
                                .appointments_between(
                                    &self.clinic.id,
                                    a,
                                    b,
                                    &filter,
                                    after.as_deref(),
                                    PAGE,
                                )
                                .await?;
                            all.extend(page.appointments);
                            match page.next_after {
                                Some(n) => after = Some(n),
                                None => break,
                            }
                        }
                        all
                    }
                };
                // A part at a time, planned first, then sent as batches (see
                // `reminder_batches`). The first part is one round of planning, so the first
                // reminder goes out as soon as that is done, not after the whole window's.
                let (first, rest) = found.split_at(found.len().min(CONCURRENCY));
                for part in std::iter::once(first).chain(rest.chunks(MAX_SENDS)) {
                    let batch = Collector::default();
                    let results = futures::stream::iter(part)
                        .map(|a| self.remind(rule, a, &batch))
                        .buffer_unordered(CONCURRENCY)
                        .collect()
                        .await;
                    report.add_all(results)?;
                    let sent = send_collected(self.app, self.clinic, &batch, self.pacer).await?;
                    report.add_all(sent.into_iter().map(|t| Ok(Some(t))).collect())?;
                }
            }
        }
        if let Some(av) = &self.settings.after_visit {
            let hours = Duration::hours(i64::from(av.hours));
            let ids = store
                .appointments_completed_between(
                    &self.clinic.id,
                    self.from - hours,
                    self.now - hours + Duration::seconds(1),
                )
                .await?;
            let results = futures::stream::iter(&ids)
                .map(|id| self.follow_up(av, id))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            report.add_all(results)?;
        }
        Ok(())
    }

    /// Sends the after-visit message of an appointment completed `av.hours` before a time in
    /// this sweep's span, if it is still completed (re-read) and in scope: once per completion.
    async fn follow_up(&self, av: &AfterVisit, id: &str) -> Result<Option<Tally>, ServiceError> {
        if self.pacer.out_of_time() {
            return Ok(Some(Tally::DEFERRED));
        }
        let Some(a) = self.app.store.get_appointment(&self.clinic.id, id).await? else {
            return Ok(None);
        };
        let Some(done) = a
            .completed_at
            .filter(|_| a.fields.status == AppointmentStatus::Completed)
        else {
            return Ok(None);
        };
        let due = done + Duration::hours(i64::from(av.hours));
        if !self.in_scope(&a) || due <= self.from || due > self.now {
            return Ok(None);
        }
        let purpose = format!("after_visit|{}|{}", a.id, keys::time_key(&done));
        if automatic::already_claimed(self.app, &self.clinic.id, &purpose, None).await? {
            return Ok(Some(Tally {
                already: 1,
                ..Tally::default()
            }));
        }
        let copy = Copy {
            channels: &av.channels,
            ask_for_reply: false,
            what: "after_visit".to_owned(),
            link: av.link.as_deref(),
        };
        deliver(
            self.app,
            self.clinic,
            &copy,
            purpose,
            &a,
            None,
            self.blocked,
            How::paced(self.pacer),
            self.now,
        )
        .await
        .map(Some)
    }

    /// Plans one reminder into `batch` if it is still due: the appointment is re-read, and
    /// must still exist, be in scope, have a status that gets reminders and fall due in this
    /// sweep. `None` when it is not due or was planned (its tally comes from the batch).
    async fn remind(
        &self,
        rule: &Rule,
        listed: &Appointment,
        batch: &Collector,
    ) -> Result<Option<Tally>, ServiceError> {
        if !self.in_scope(listed) {
            return Ok(None);
        }
        if self.pacer.out_of_time() {
            return Ok(Some(Tally::DEFERRED));
        }
        let Some(a) = self
            .app
            .store
            .get_appointment(&self.clinic.id, &listed.id)
            .await?
        else {
            return Ok(None);
        };
        let due = rule.due(a.fields.start, a.created_at, self.tz);
        let booked_in_time =
            matches!(rule, Rule::AtCreation | Rule::AfterCreation { .. }) || due >= a.created_at;
        // A reminder due once the appointment has begun (a creation rule for an appointment
        // booked after the fact) is no reminder at all: nothing is sent or recorded.
        if !self.in_scope(&a)
            || !self.settings.covers(a.fields.status)
            || due <= self.from
            || due > self.now
            || due >= a.fields.start
            || !booked_in_time
        {
            return Ok(None);
        }
        let decision = decide(
            due,
            a.fields.start,
            self.now,
            self.settings.quiet_hours.as_ref(),
            self.tz,
        );
        let how = How {
            pacer: Some(self.pacer),
            due: Some(due),
            batch: Some(batch),
        };
        let t = send(
            self.app,
            self.clinic,
            self.settings,
            rule,
            &a,
            decision,
            self.blocked,
            how,
            self.now,
        )
        .await?;
        Ok(Some(t).filter(|t| *t != Tally::default()))
    }
}

/// What one reminder is claimed under: moving the appointment makes a new one.
fn purpose(a: &Appointment, rule: &Rule) -> String {
    format!(
        "reminder|{}|{}|{}",
        a.id,
        rule.id(),
        keys::time_key(&a.fields.start)
    )
}

/// Sends (or records as skipped) one reminder, once; paced when a sweep sends it, and in the
/// sweep's batch (an empty tally) when it has one.
#[allow(clippy::too_many_arguments)]
async fn send(
    app: &App,
    clinic: &Clinic,
    settings: &ReminderSettings,
    rule: &Rule,
    a: &Appointment,
    decision: Decision,
    blocked: &Blocked,
    how: How<'_>,
    now: DateTime<Utc>,
) -> Result<Tally, ServiceError> {
    let purpose = purpose(a, rule);
    if automatic::already_claimed(app, &clinic.id, &purpose, how.due).await? {
        return Ok(Tally {
            already: 1,
            ..Tally::default()
        });
    }
    let skip_all = match decision {
        Decision::Send => None,
        Decision::SkipQuietHours => Some(SkipReason::QuietHours),
        Decision::SkipStarted => Some(SkipReason::AppointmentStarted),
    };
    let copy = Copy {
        channels: &settings.channels,
        ask_for_reply: settings.ask_for_reply,
        what: rule.id(),
        link: None,
    };
    deliver(app, clinic, &copy, purpose, a, skip_all, blocked, how, now).await
}

/// How an appointment message goes.
#[derive(Clone, Copy, Default)]
pub(crate) struct How<'a> {
    /// The sender's share of the account's rate: each message waits for its turn (a request's
    /// pacer gives up soon).
    pub pacer: Option<&'a Pacer>,
    /// When a reminder fell due (see [`Automatic::due`]).
    pub due: Option<DateTime<Utc>>,
    /// The sweep's batch, which sends it after planning every reminder of the window.
    pub batch: Option<&'a Collector>,
}

impl<'a> How<'a> {
    /// At once, paced by `pacer`.
    pub(crate) fn paced(pacer: &'a Pacer) -> Self {
        Self {
            pacer: Some(pacer),
            ..Self::default()
        }
    }
}

/// The words an appointment message is made of: its channels' templates, whether the SMS asks
/// for a reply, and what it is (for the log: a rule's id, or a change).
pub(crate) struct Copy<'a> {
    pub channels: &'a ReminderChannels,
    pub ask_for_reply: bool,
    pub what: String,
    /// What `{{ link }}` inserts (the after-visit message's link).
    pub link: Option<&'a str>,
}

/// Renders `copy` for the appointment's patient (or a dependant's contacts) with the
/// appointment's details, and sends it once under `purpose`, paid as a reminder; a sweep's
/// sends wait for their turn in the account's rate (`pacer`), a request's go at once.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn deliver(
    app: &App,
    clinic: &Clinic,
    copy: &Copy<'_>,
    purpose: String,
    a: &Appointment,
    skip_all: Option<SkipReason>,
    blocked: &Blocked,
    how: How<'_>,
    now: DateTime<Utc>,
) -> Result<Tally, ServiceError> {
    let store = &app.store;
    let Some(patient) = store.get_patient(&clinic.id, &a.fields.patient_id).await? else {
        return Ok(Tally::default());
    };
    let patient = patient.patient;
    let practitioner_id = a.fields.practitioner_id.as_deref();
    let practitioner = match practitioner_id {
        Some(id) => store.get_practitioner(&clinic.id, id).await?,
        None => None,
    };
    let tz: Tz = clinic.fields.time_zone;
    let values = patient_values(
        clinic,
        &patient.fields,
        practitioner.as_ref(),
        Some(&AppointmentValues {
            start: Some(a.fields.start.fixed_offset()),
            location: a.fields.location.clone(),
        }),
        copy.link,
    );
    let elements = Elements {
        date_time: Some(date_time_element(a.fields.start, tz)),
        practitioner: practitioner.as_ref().map(|p| p.fields.name.clone()),
        room: a.fields.location.clone(),
    };
    let caps = &clinic.fields.placeholder_caps;
    let words = [Channel::Sms, Channel::Email]
        .into_iter()
        .filter_map(|channel| {
            let c = copy.channels.get(channel)?;
            let prompt = channel == Channel::Sms && copy.ask_for_reply;
            Some(Words {
                channel,
                subject: c.subject.as_deref(),
                body: &c.body,
                suffix: c.suffix(&elements, caps, prompt),
            })
        })
        .collect();
    let contacts = automatic::contacts_of(app, &clinic.id, &patient).await?;
    let t = automatic::send(
        app,
        Automatic {
            clinic,
            purpose,
            category: Category::Appointment,
            patient: &patient,
            values: &values,
            words,
            appointment_id: Some(&a.id),
            skip_all,
            account: paying_account(store, &clinic.id, practitioner_id).await?,
            blocked,
            pacer: how.pacer,
            now,
            sent_by: tidings_domain::actor::Actor::Reminders,
            contacts: &contacts,
            due: how.due,
            batch: how.batch,
        },
    )
    .await?;
    if how.batch.is_some() {
        return Ok(t);
    }
    tracing::info!(
        clinic_id = clinic.id,
        appointment_id = a.id,
        what = copy.what,
        sent = t.sent,
        skipped = t.skipped,
        "appointment message"
    );
    Ok(t)
}

/// The settings that apply to an appointment: its practitioner's own, else the group's.
pub async fn settings_for(
    app: &App,
    clinic_id: &str,
    practitioner_id: Option<&str>,
) -> Result<ReminderSettings, ServiceError> {
    let store = &app.store;
    if let Some(id) = practitioner_id
        && let Some(own) = store
            .reminder_settings(clinic_id, &Scope::Practitioner(id.to_owned()))
            .await?
    {
        return Ok(own);
    }
    Ok(store
        .reminder_settings(clinic_id, &Scope::Group)
        .await?
        .unwrap_or_default())
}

/// The at-creation reminder of a new appointment, sent at once when its settings have that
/// rule (outside quiet hours; in them, the sweep sends it when they end). The sweep covers the
/// same rule, so a failure here is logged and the reminder still goes out, once; so does a
/// reminder whose turn in the account's send rate would keep the request waiting.
pub async fn on_created(app: &App, clinic: &Clinic, a: &Appointment) {
    let result = async {
        let settings = settings_for(app, &clinic.id, a.fields.practitioner_id.as_deref()).await?;
        let tz: Tz = clinic.fields.time_zone;
        let now = app.now();
        if !settings.rules.contains(&Rule::AtCreation)
            || a.fields.start <= now
            || !settings.covers(a.fields.status)
            || settings.quiet_hours.is_some_and(|q| q.contains(now, tz))
        {
            return Ok::<_, ServiceError>(None);
        }
        let blocked = app.store.blocked(&clinic.id).await?;
        let decision = decide(a.created_at, a.fields.start, now, None, tz);
        let pacer = Pacer::for_request(app);
        // Due as the sweep works it out, so both plan the same messages.
        let how = How {
            due: Some(Rule::AtCreation.due(a.fields.start, a.created_at, tz)),
            ..How::paced(&pacer)
        };
        send(
            app,
            clinic,
            &settings,
            &Rule::AtCreation,
            a,
            decision,
            &blocked,
            how,
            now,
        )
        .await
        .map(Some)
    }
    .await;
    match result {
        Ok(Some(t)) if t.deferred > 0 => {
            tracing::info!(
                clinic_id = clinic.id,
                appointment_id = a.id,
                "at-creation reminder left for the sweep: the send rate is taken"
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(clinic_id = clinic.id, appointment_id = a.id, error = %e, "at-creation reminder failed; the sweep will send it");
        }
    }
}
