//! The state a function builds once per cold start and shares across invocations.

use crate::aws_calls::AwsCallLog;
use crate::config::{Config, ConfigError};
use crate::delivery::Delivery;
use crate::queue::Queue;
use crate::scheduler::Scheduler;
use crate::sns_http::SnsHttp;
use crate::store::Store;
use crate::stripe::Stripe;
use crate::webhook_http::WebhookHttp;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// Clients and configuration, built once per cold start.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub delivery: Delivery,
    pub scheduler: Scheduler,
    /// Card payments, when the deployment takes them.
    pub stripe: Option<Stripe>,
    /// SNS's certificates and subscription confirmations, for the functions that take
    /// provider posts (those with webhook settings).
    pub sns_http: Option<SnsHttp>,
    /// Where webhook deliveries are queued, and the client that posts them.
    pub webhook_queue: Queue,
    /// The sweeps' queue: one message per clinic (`sweep_function`).
    pub sweep_queue: Queue,
    pub webhook_http: WebhookHttp,
    pub config: Config,
}

impl App {
    /// Now, by the app's clock (the store's: one clock for the whole app).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.store.now()
    }

    /// A function's cold start: the standard AWS configuration, the secrets from Parameter
    /// Store, the configuration, then the clients. What stops it is logged with its cause.
    pub async fn cold_start() -> Result<Self, ConfigError> {
        let aws = aws_config::load_from_env().await;
        let config = Config::load(&aws).await.inspect_err(|e| {
            let cause = std::error::Error::source(e).map(ToString::to_string);
            tracing::error!(error = %e, cause = cause.as_deref().unwrap_or("-"), "configuration");
        })?;
        Self::with_aws(&config, &aws).inspect_err(|e| {
            let cause = std::error::Error::source(e).map(ToString::to_string);
            tracing::error!(error = %e, cause = cause.as_deref().unwrap_or("-"), "cold start");
        })
    }

    /// Builds the AWS clients from the standard AWS configuration (region, credentials and
    /// `AWS_ENDPOINT_URL*`), so the same binary runs locally and in AWS.
    pub async fn from_env(config: &Config) -> Result<Self, ConfigError> {
        let aws = aws_config::load_from_env().await;
        Self::with_aws(config, &aws)
    }

    /// Builds the clients from an explicit AWS configuration, once; a client that cannot be
    /// built stops the cold start.
    pub fn with_aws(config: &Config, aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let http = |service| move |source| ConfigError::HttpClient { service, source };
        let stripe = config
            .stripe
            .as_ref()
            .map(Stripe::new)
            .transpose()
            .map_err(http("Stripe"))?;
        let sns_http = config
            .webhooks
            .as_ref()
            .map(|_| SnsHttp::new())
            .transpose()
            .map_err(http("SNS"))?;
        let calls = config.aws_call_log.as_deref().and_then(|path| {
            AwsCallLog::open(path)
                .inspect_err(
                    |e| tracing::error!(error = %e, "TIDINGS_AWS_CALL_LOG cannot be opened"),
                )
                .ok()
        });
        let webhook_http =
            WebhookHttp::new(config.endpoint_reach).map_err(http("webhook endpoints"))?;
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(aws);
        let mut sqs = aws_sdk_sqs::config::Builder::from(aws);
        let mut scheduler = aws_sdk_scheduler::config::Builder::from(aws);
        if let Some(calls) = &calls {
            dynamodb.push_interceptor(SharedInterceptor::new(calls.clone()));
            scheduler.push_interceptor(SharedInterceptor::new(calls.clone()));
            sqs.push_interceptor(SharedInterceptor::new(calls.clone()));
        }
        let sqs_client = aws_sdk_sqs::Client::from_conf(sqs.build());
        Ok(Self {
            store: Store::new(
                aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
                config.table_name.clone(),
            ),
            delivery: Delivery::for_stage(aws, calls.as_ref(), config),
            scheduler: Scheduler::new(
                aws_sdk_scheduler::Client::from_conf(scheduler.build()),
                config.scheduling.clone(),
            ),
            stripe,
            sns_http,
            webhook_queue: Queue::new(
                sqs_client.clone(),
                config.webhook_delivery_queue_url.clone(),
                "WEBHOOK_DELIVERY_QUEUE_URL",
            ),
            sweep_queue: Queue::new(
                sqs_client,
                config.sweep_queue_url.clone(),
                "SWEEP_QUEUE_URL",
            ),
            webhook_http,
            config: config.clone(),
        })
    }
}
