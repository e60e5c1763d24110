//! Configuration read once at cold start from the environment.

use crate::secrets::Secrets;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("environment variable {name} is invalid: {hint}")]
    Invalid {
        name: &'static str,
        hint: &'static str,
    },
    #[error("the HTTP client for {service} cannot be built")]
    HttpClient {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("secret {name}: SSM parameter {parameter} cannot be read")]
    Secret {
        name: &'static str,
        parameter: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Everything a function needs to know about its deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The DynamoDB table that holds every clinic's data (`TABLE_NAME`).
    pub table_name: String,
    /// The deployment's stage (`STAGE`, default `local`): the dimension of every metric.
    pub stage: String,
    /// Credits one email costs (`EMAIL_CREDIT_COST`, default 0); an SMS costs one a segment.
    pub email_credit_cost: u32,
    /// Where campaign schedules go; set for the functions that create, cancel or run them.
    pub scheduling: Option<SchedulingConfig>,
    pub campaigns: CampaignSettings,
    /// The API's public base URL without a trailing slash (`PUBLIC_API_URL`): Twilio signs the
    /// full URL it posts to, and emails link back to it.
    pub public_url: Option<String>,
    /// What the SMS webhook needs; set for the function that serves it.
    pub webhooks: Option<WebhookConfig>,
    /// The SES configuration set emails go through (`SES_CONFIGURATION_SET`), whose event
    /// destination reports deliveries, bounces and complaints to the `ses-events` function.
    pub ses_configuration_set: Option<String>,
    /// `arn:<partition>:ses:<region>:<account>:identity/` (`SES_IDENTITY_ARN_PREFIX`): every
    /// email names the clinic's own SES identity with it, so SES refuses a send as another's.
    pub ses_identity_arn_prefix: Option<String>,
    /// Unsubscribe links in marketing, recall and greeting email (`PUBLIC_API_URL` and
    /// `UNSUBSCRIBE_SECRET`); without them no link is added.
    pub unsubscribe: Option<UnsubscribeConfig>,
    /// What credits cost, per currency (`CREDIT_PRICES`, default [`DEFAULT_CREDIT_PRICES`]).
    pub prices: Vec<tidings_domain::pricing::PriceList>,
    /// Card payments for credits (`STRIPE_SECRET_KEY`, and `STRIPE_API_URL`, by default
    /// Stripe's own); without them purchases are refused.
    pub stripe: Option<StripeConfig>,
    /// Seconds after its claim a one-off send, reminder or greeting still has queued messages
    /// only because its function died (`SEND_LEASE_SECS`, default 900, the longest any
    /// function runs): the sweep then marks them unconfirmed.
    pub send_lease_secs: u64,
    /// Where to record every AWS call for the IAM check of `make test`
    /// (`TIDINGS_AWS_CALL_LOG`; see `aws_calls`). Never set in a deployment.
    pub aws_call_log: Option<std::path::PathBuf>,
    /// Where clinics' webhook endpoints may point (`WEBHOOK_ENDPOINTS_ALLOW_PRIVATE`, default
    /// `false`): only https to public addresses, unless set to `true` (the local stack, whose
    /// receiver is on 127.0.0.1 over http).
    pub endpoint_reach: tidings_domain::outbound::url::Reach,
    /// The SQS queue of webhook deliveries (`WEBHOOK_DELIVERY_QUEUE_URL`), for the functions
    /// that queue them and deliver them.
    pub webhook_delivery_queue_url: Option<String>,
    /// `SWEEP_QUEUE_URL`: the queue the reminder and greeting schedules put one message per
    /// clinic on (the sweep functions need it).
    pub sweep_queue_url: Option<String>,
    /// How long a clinic whose sweep failed waits before it is tried again
    /// (`SWEEP_RETRY_SECS`, default 60).
    pub sweep_retry_secs: i32,
    /// The most patient-list reads (each up to 10 DynamoDB pages) one export answer makes
    /// before it returns what it has with a cursor (`EXPORT_MAX_READS`, default 20: about
    /// 20,000 patients scanned, a few seconds).
    pub export_reads: usize,
    /// The most audience reads (each up to 500 people) one report page or campaign estimate
    /// makes before it answers what it has with a cursor (`AUDIENCE_MAX_READS`, default 20:
    /// about 10,000 people, a few seconds).
    pub audience_reads: usize,
}

/// Where and how Tidings calls Stripe.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api_url: String,
    pub secret_key: String,
    /// The signing secret of the Stripe webhook endpoint (`STRIPE_WEBHOOK_SECRET`, `whsec_…`):
    /// Stripe's events settle pending purchases and take back refunded or disputed credits.
    pub webhook_secret: Option<String>,
    /// Whether a PaymentIntent is confirmed with `off_session=true`, as a merchant-initiated
    /// charge of a saved card should be (`STRIPE_CONFIRM_OFF_SESSION`, default true; the local
    /// stack sets false because localstripe refuses the parameter on confirm).
    pub confirm_off_session: bool,
}

/// The price lists when `CREDIT_PRICES` is not set.
pub const DEFAULT_CREDIT_PRICES: &str = "AUD:1=0.10,500=0.08,2000=0.065";

/// How unsubscribe links are made (`UNSUBSCRIBE_SECRET`; `PUBLIC_API_URL` must be set with it).
#[derive(Debug, Clone)]
pub struct UnsubscribeConfig {
    /// The key that signs unsubscribe tokens. Known only to this service (unlike the webhook
    /// key, which providers hold).
    pub secret: String,
}

/// The SMS webhook's settings (`WEBHOOK_SECRET`, and optionally `SNS_CERT_URL_PREFIX`);
/// `PUBLIC_API_URL` must be set with them.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The key of the `generic` provider's HMAC-SHA256 signatures.
    pub secret: String,
    /// SNS signing certificates (and subscription URLs) are fetched only under this prefix;
    /// by default `https://sns.<AWS_REGION>.amazonaws.com/`.
    pub sns_cert_prefix: String,
    /// The SNS topics whose posts are accepted (`SNS_TOPIC_ARNS`, comma-separated ARNs).
    /// Empty: every SNS post is refused.
    pub sns_topic_arns: Vec<String>,
    /// How old an SNS post may be (`SNS_MAX_AGE_SECS`, default 3600): SNS retries a failed
    /// delivery for about an hour with its default policy.
    pub sns_max_age: chrono::Duration,
}

/// The oldest SNS post accepted when `SNS_MAX_AGE_SECS` is not set.
pub const DEFAULT_SNS_MAX_AGE_SECS: u32 = 3600;

/// EventBridge Scheduler settings (`SCHEDULE_GROUP`, `CAMPAIGN_FUNCTION_ARN`,
/// `SCHEDULER_ROLE_ARN`): all three or none.
#[derive(Debug, Clone)]
pub struct SchedulingConfig {
    /// The schedule group of this stage.
    pub group: String,
    /// The campaign function every campaign schedule targets.
    pub campaign_function_arn: String,
    /// The role Scheduler assumes to invoke it.
    pub role_arn: String,
    /// The SQS queue a firing Scheduler could not deliver goes to (`FAILED_EVENTS_QUEUE_ARN`;
    /// optional): ops see it, and an alarm says so.
    pub dead_letter_arn: Option<String>,
}

/// How fast a campaign run sends.
#[derive(Debug, Clone, Copy)]
pub struct CampaignSettings {
    /// Most SMS handed to SNS per second by every paced sender together: campaign runs,
    /// resends and the reminder and greeting sweeps (`CAMPAIGN_SMS_PER_SECOND`, default 20,
    /// the default SNS SMS quota).
    pub sms_per_second: u32,
    /// Most emails per second, likewise (`CAMPAIGN_EMAIL_PER_SECOND`, default 14, SES's
    /// default quota).
    pub email_per_second: u32,
    /// Provider calls in flight at once (`CAMPAIGN_CONCURRENCY`, default 16).
    pub concurrency: usize,
    /// Seconds one invocation works before it hands over to a continuation
    /// (`CAMPAIGN_TIME_BUDGET_SECS`, default 780; the function's timeout is 900).
    pub time_budget_secs: u64,
    /// Minutes between the wake-ups of a run paused for credits (`CAMPAIGN_WAKE_MINUTES`,
    /// default 5).
    pub wake_minutes: u32,
    /// Seconds a claimed page or message belongs to the invocation that claimed it
    /// (`CAMPAIGN_LEASE_SECS`, default 300): longer than any provider call with its retries.
    pub lease_secs: u64,
}

impl Default for CampaignSettings {
    fn default() -> Self {
        Self {
            sms_per_second: 20,
            email_per_second: 14,
            concurrency: 16,
            time_budget_secs: 780,
            wake_minutes: 5,
            lease_secs: 300,
        }
    }
}

impl Config {
    /// Reads the secrets from Parameter Store (see `secrets`), then the configuration, failing
    /// with the name of the first missing variable or unreadable parameter.
    pub async fn load(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Self::from_env_with(&Secrets::load(aws).await?)
    }

    /// The configuration with secrets given in the environment itself (no Parameter Store).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(&Secrets::default())
    }

    fn from_env_with(secrets: &Secrets) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: required("TABLE_NAME", "the name of the Tidings DynamoDB table")?,
            stage: optional("STAGE").unwrap_or_else(|| "local".to_owned()),
            email_credit_cost: match std::env::var("EMAIL_CREDIT_COST") {
                Err(_) => 0,
                Ok(v) if v.trim().is_empty() => 0,
                Ok(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                    name: "EMAIL_CREDIT_COST",
                    hint: "a whole number of credits from 0",
                })?,
            },
            scheduling: scheduling()?,
            public_url: optional("PUBLIC_API_URL").map(|u| u.trim_end_matches('/').to_owned()),
            webhooks: webhooks(secrets)?,
            unsubscribe: unsubscribe(secrets)?,
            prices: tidings_domain::pricing::parse(
                &optional("CREDIT_PRICES").unwrap_or_else(|| DEFAULT_CREDIT_PRICES.to_owned()),
            )
            .map_err(|_| ConfigError::Invalid {
                name: "CREDIT_PRICES",
                hint: "CURRENCY:min=price,... per currency, separated by ';', e.g. AUD:1=0.10,500=0.08 (tiers start at 1 credit and never cost more per credit)",
            })?,
            stripe: secrets.get("STRIPE_SECRET_KEY").map(|secret_key| StripeConfig {
                api_url: optional("STRIPE_API_URL")
                    .unwrap_or_else(|| "https://api.stripe.com".to_owned()),
                secret_key,
                webhook_secret: secrets.get("STRIPE_WEBHOOK_SECRET"),
                confirm_off_session: !optional("STRIPE_CONFIRM_OFF_SESSION")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("false")),
            }),
            ses_configuration_set: std::env::var("SES_CONFIGURATION_SET")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            ses_identity_arn_prefix: identity_arn_prefix()?,
            send_lease_secs: number("SEND_LEASE_SECS", 900, "a whole number of seconds from 1")?,
            aws_call_log: optional("TIDINGS_AWS_CALL_LOG").map(std::path::PathBuf::from),
            endpoint_reach: endpoint_reach()?,
            webhook_delivery_queue_url: optional("WEBHOOK_DELIVERY_QUEUE_URL"),
            sweep_queue_url: optional("SWEEP_QUEUE_URL"),
            sweep_retry_secs: number("SWEEP_RETRY_SECS", 60, "a whole number of seconds from 1")?,
            export_reads: number("EXPORT_MAX_READS", 20, "a whole number from 1")?,
            audience_reads: number("AUDIENCE_MAX_READS", 20, "a whole number from 1")?,
            campaigns: CampaignSettings {
                sms_per_second: number("CAMPAIGN_SMS_PER_SECOND", 20, "a whole number from 1")?,
                email_per_second: number("CAMPAIGN_EMAIL_PER_SECOND", 14, "a whole number from 1")?,
                concurrency: number("CAMPAIGN_CONCURRENCY", 16, "a whole number from 1")?,
                time_budget_secs: number(
                    "CAMPAIGN_TIME_BUDGET_SECS",
                    780,
                    "a whole number of seconds from 1",
                )?,
                wake_minutes: number("CAMPAIGN_WAKE_MINUTES", 5, "a whole number from 1")?,
                lease_secs: number("CAMPAIGN_LEASE_SECS", 300, "a whole number of seconds from 1")?,
            },
        })
    }

    /// The scheduling settings, for the functions that cannot work without them.
    pub fn require_scheduling(&self) -> Result<&SchedulingConfig, ConfigError> {
        self.scheduling.as_ref().ok_or(ConfigError::Missing {
            name: "SCHEDULE_GROUP",
            hint: "with CAMPAIGN_FUNCTION_ARN and SCHEDULER_ROLE_ARN: where campaign schedules go",
        })
    }
}

impl Config {
    /// The webhook settings, for the public endpoints that cannot work without them.
    pub fn require_webhooks(&self) -> Result<&WebhookConfig, ConfigError> {
        self.webhooks.as_ref().ok_or(ConfigError::Missing {
            name: "WEBHOOK_SECRET",
            hint: "with PUBLIC_API_URL: the generic webhook's key",
        })
    }
}

impl Config {
    /// The Stripe webhook's signing secret, for the endpoint Stripe posts events to.
    pub fn require_stripe_webhook(&self) -> Result<&str, ConfigError> {
        self.stripe
            .as_ref()
            .and_then(|s| s.webhook_secret.as_deref())
            .ok_or(ConfigError::Missing {
                name: "STRIPE_WEBHOOK_SECRET",
                hint: "with STRIPE_SECRET_KEY: the signing secret (whsec_…) of the Stripe webhook endpoint",
            })
    }
}

impl Config {
    /// The unsubscribe settings, for the unsubscribe endpoints.
    pub fn require_unsubscribe(&self) -> Result<&UnsubscribeConfig, ConfigError> {
        self.unsubscribe.as_ref().ok_or(ConfigError::Missing {
            name: "UNSUBSCRIBE_SECRET",
            hint: "with PUBLIC_API_URL: the key that signs unsubscribe links",
        })
    }
}

fn endpoint_reach() -> Result<tidings_domain::outbound::url::Reach, ConfigError> {
    use tidings_domain::outbound::url::Reach;
    match optional("WEBHOOK_ENDPOINTS_ALLOW_PRIVATE")
        .as_deref()
        .map(str::trim)
    {
        None | Some("false") => Ok(Reach::PublicOnly),
        Some("true") => Ok(Reach::AllowPrivate),
        Some(_) => Err(ConfigError::Invalid {
            name: "WEBHOOK_ENDPOINTS_ALLOW_PRIVATE",
            hint: "true (the local stack only) or false",
        }),
    }
}

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Fails when `secret` is set without `PUBLIC_API_URL`.
fn needs_public_url(secrets: &Secrets, secret: &'static str) -> Result<(), ConfigError> {
    if secrets.get(secret).is_some() && optional("PUBLIC_API_URL").is_none() {
        return Err(ConfigError::Invalid {
            name: "PUBLIC_API_URL",
            hint: "set it with WEBHOOK_SECRET and UNSUBSCRIBE_SECRET: the API's public URL",
        });
    }
    Ok(())
}

fn unsubscribe(secrets: &Secrets) -> Result<Option<UnsubscribeConfig>, ConfigError> {
    needs_public_url(secrets, "UNSUBSCRIBE_SECRET")?;
    Ok(secrets
        .get("UNSUBSCRIBE_SECRET")
        .map(|secret| UnsubscribeConfig { secret }))
}

fn webhooks(secrets: &Secrets) -> Result<Option<WebhookConfig>, ConfigError> {
    needs_public_url(secrets, "WEBHOOK_SECRET")?;
    let Some(secret) = secrets.get("WEBHOOK_SECRET") else {
        return Ok(None);
    };
    let sns_cert_prefix = match optional("SNS_CERT_URL_PREFIX") {
        Some(p) => p,
        None => {
            let region = optional("AWS_REGION").ok_or(ConfigError::Missing {
                name: "AWS_REGION",
                hint: "the region whose SNS host signs webhook posts",
            })?;
            format!("https://sns.{region}.amazonaws.com/")
        }
    };
    if !sns_cert_prefix.ends_with('/') {
        return Err(ConfigError::Invalid {
            name: "SNS_CERT_URL_PREFIX",
            hint: "a URL prefix ending in '/'",
        });
    }
    let sns_topic_arns = topic_arns(&optional("SNS_TOPIC_ARNS").unwrap_or_default())?;
    let max_age: u32 = number(
        "SNS_MAX_AGE_SECS",
        DEFAULT_SNS_MAX_AGE_SECS,
        "a whole number of seconds from 1",
    )?;
    Ok(Some(WebhookConfig {
        secret,
        sns_cert_prefix,
        sns_topic_arns,
        sns_max_age: chrono::Duration::seconds(i64::from(max_age)),
    }))
}

/// `SES_IDENTITY_ARN_PREFIX`: `arn:<partition>:ses:<region>:<account>:identity/`.
fn identity_arn_prefix() -> Result<Option<String>, ConfigError> {
    let Some(p) = optional("SES_IDENTITY_ARN_PREFIX") else {
        return Ok(None);
    };
    let parts: Vec<&str> = p.split(':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "ses"
        && parts[5] == "identity/"
        && parts[1..5].iter().all(|x| !x.is_empty());
    if ok {
        Ok(Some(p))
    } else {
        Err(ConfigError::Invalid {
            name: "SES_IDENTITY_ARN_PREFIX",
            hint: "arn:<partition>:ses:<region>:<account>:identity/",
        })
    }
}

/// Comma-separated SNS topic ARNs (`arn:<partition>:sns:<region>:<account>:<name>`).
fn topic_arns(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let parts: Vec<&str> = t.split(':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "sns"
                && parts.iter().all(|p| !p.is_empty());
            ok.then(|| t.to_owned()).ok_or(ConfigError::Invalid {
                name: "SNS_TOPIC_ARNS",
                hint: "comma-separated SNS topic ARNs, e.g. arn:aws:sns:ap-southeast-2:123456789012:tidings-sms",
            })
        })
        .collect()
}

fn scheduling() -> Result<Option<SchedulingConfig>, ConfigError> {
    let get = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (
        get("SCHEDULE_GROUP"),
        get("CAMPAIGN_FUNCTION_ARN"),
        get("SCHEDULER_ROLE_ARN"),
    ) {
        (None, None, None) => Ok(None),
        (Some(group), Some(campaign_function_arn), Some(role_arn)) => Ok(Some(SchedulingConfig {
            group,
            campaign_function_arn,
            role_arn,
            dead_letter_arn: get("FAILED_EVENTS_QUEUE_ARN"),
        })),
        _ => Err(ConfigError::Invalid {
            name: "SCHEDULE_GROUP",
            hint: "set SCHEDULE_GROUP, CAMPAIGN_FUNCTION_ARN and SCHEDULER_ROLE_ARN together",
        }),
    }
}

/// A positive whole number, or `default` when unset.
fn number<T: std::str::FromStr + PartialOrd + From<u8>>(
    name: &'static str,
    default: T,
    hint: &'static str,
) -> Result<T, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) if v.trim().is_empty() => Ok(default),
        Ok(v) => v
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| *n >= T::from(1))
            .ok_or(ConfigError::Invalid { name, hint }),
    }
}

fn required(name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing { name, hint })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_lists_are_exact_arns() {
        assert_eq!(topic_arns("").unwrap(), Vec::<String>::new());
        assert_eq!(
            topic_arns(" arn:aws:sns:ap-southeast-2:123456789012:a ,arn:aws:sns:us-east-1:1:b")
                .unwrap(),
            vec![
                "arn:aws:sns:ap-southeast-2:123456789012:a",
                "arn:aws:sns:us-east-1:1:b"
            ]
        );
        assert!(topic_arns("arn:aws:sqs:ap-southeast-2:123456789012:a").is_err());
        assert!(topic_arns("my-topic").is_err());
    }
}
