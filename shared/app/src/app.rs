//! The state a function builds once per cold start and shares across invocations.

use crate::config::Config;
use crate::delivery::Delivery;
use crate::scheduler::Scheduler;
use crate::store::Store;
use crate::stripe::Stripe;

/// Clients and configuration, built once per cold start.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub delivery: Delivery,
    pub scheduler: Scheduler,
    /// Card payments, when the deployment takes them.
    pub stripe: Option<Stripe>,
    pub config: Config,
}

impl App {
    /// Builds the AWS clients from the standard AWS configuration (region, credentials and
    /// `AWS_ENDPOINT_URL*`), so the same binary runs locally and in AWS.
    pub async fn from_env(config: &Config) -> Self {
        let aws = aws_config::load_from_env().await;
        Self::with_aws(config, &aws)
    }

    /// Builds the clients from an explicit AWS configuration.
    pub fn with_aws(config: &Config, aws: &aws_config::SdkConfig) -> Self {
        Self {
            store: Store::new(
                aws_sdk_dynamodb::Client::new(aws),
                config.table_name.clone(),
            ),
            delivery: Delivery::new(aws)
                .with_configuration_set(config.ses_configuration_set.clone())
                .with_identity_arn_prefix(config.ses_identity_arn_prefix.clone()),
            scheduler: Scheduler::new(
                aws_sdk_scheduler::Client::new(aws),
                config.scheduling.clone(),
            ),
            stripe: config.stripe.as_ref().map(Stripe::new),
            config: config.clone(),
        }
    }
}
