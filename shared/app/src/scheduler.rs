//! EventBridge Scheduler: the schedules that fire the campaign function.

use crate::config::SchedulingConfig;
use aws_sdk_scheduler::error::{DisplayErrorContext, SdkError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use chrono::{DateTime, Utc};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SchedulerError {
    /// Scheduler refused or failed the call; the text names the operation and the SDK's error.
    #[error("EventBridge Scheduler {op} failed: {detail}")]
    Sdk { op: &'static str, detail: String },
    #[error("a Scheduler request could not be built")]
    Build(#[from] aws_sdk_scheduler::error::BuildError),
    /// This function was deployed without the scheduling settings.
    #[error("scheduling is not configured for this function")]
    NotConfigured,
}

fn sdk<E: std::error::Error + 'static, R: std::fmt::Debug>(
    op: &'static str,
    e: SdkError<E, R>,
) -> SchedulerError {
    SchedulerError::Sdk {
        op,
        detail: DisplayErrorContext(e).to_string(),
    }
}

/// Deliveries Scheduler tries again when the campaign function could not be invoked.
const RETRY_ATTEMPTS: i32 = 5;
/// How long Scheduler keeps trying one firing (seconds).
const MAX_EVENT_AGE_SECS: i32 = 3600;

/// One schedule to create.
pub struct ScheduleSpec<'a> {
    pub name: &'a str,
    /// `at(...)`, `cron(...)` or `rate(...)`.
    pub expression: &'a str,
    /// IANA name the expression is evaluated in.
    pub time_zone: &'a str,
    /// A repeating schedule's first possible firing.
    pub start: Option<DateTime<Utc>>,
    /// The JSON the campaign function receives.
    pub input: String,
    /// Delete the schedule once it has fired (one-time schedules).
    pub one_off: bool,
}

/// The Scheduler client and where this stage's schedules go.
#[derive(Clone)]
pub struct Scheduler {
    client: aws_sdk_scheduler::Client,
    config: Option<SchedulingConfig>,
}

impl Scheduler {
    pub fn new(client: aws_sdk_scheduler::Client, config: Option<SchedulingConfig>) -> Self {
        Self { client, config }
    }

    fn config(&self) -> Result<&SchedulingConfig, SchedulerError> {
        self.config.as_ref().ok_or(SchedulerError::NotConfigured)
    }

    /// Creates a schedule targeting the campaign function.
    pub async fn create(&self, spec: ScheduleSpec<'_>) -> Result<(), SchedulerError> {
        self.create_inner(spec, false).await
    }

    /// Like [`Scheduler::create`], and a schedule of that name existing already is no error
    /// (two copies of a run asking for the same one).
    pub async fn create_unless_exists(&self, spec: ScheduleSpec<'_>) -> Result<(), SchedulerError> {
        self.create_inner(spec, true).await
    }

    async fn create_inner(
        &self,
        spec: ScheduleSpec<'_>,
        exists_ok: bool,
    ) -> Result<(), SchedulerError> {
        let cfg = self.config()?;
        // A firing Scheduler cannot deliver is retried for an hour, then kept in the failed
        // events queue (when the deployment names one) instead of vanishing.
        let retry = RetryPolicy::builder()
            .maximum_retry_attempts(RETRY_ATTEMPTS)
            .maximum_event_age_in_seconds(MAX_EVENT_AGE_SECS)
            .build();
        let target = Target::builder()
            .arn(&cfg.campaign_function_arn)
            .role_arn(&cfg.role_arn)
            .input(spec.input)
            .retry_policy(retry)
            .set_dead_letter_config(
                cfg.dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()?;
        let res = self
            .client
            .create_schedule()
            .name(spec.name)
            .group_name(&cfg.group)
            .schedule_expression(spec.expression)
            .schedule_expression_timezone(spec.time_zone)
            .set_start_date(
                spec.start
                    .map(|t| aws_smithy_types::DateTime::from_secs(t.timestamp())),
            )
            .flexible_time_window(window)
            .target(target)
            .set_action_after_completion(spec.one_off.then_some(ActionAfterCompletion::Delete))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e)
                if exists_ok
                    && e.as_service_error()
                        .is_some_and(|s| s.is_conflict_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk("CreateSchedule", e)),
        }
    }

    /// Deletes a schedule; one already gone is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), SchedulerError> {
        let cfg = self.config()?;
        match self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&cfg.group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk("DeleteSchedule", e)),
        }
    }
}
