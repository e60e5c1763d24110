//! Secrets from SSM Parameter Store, read once at cold start.
//!
//! A deployment never puts a secret in a function's environment: it names, for each secret a
//! function needs, the SecureString parameter that holds it (`<SECRET>_PARAMETER`, e.g.
//! `STRIPE_SECRET_KEY_PARAMETER=/tidings/prod/stripe-secret-key`), and gives that function
//! `ssm:GetParameter` on that parameter alone. The function reads it, decrypted, before it serves
//! anything, and a parameter it cannot read stops the cold start with the parameter's name (never
//! the value). Without a `_PARAMETER` variable, `<SECRET>` itself may hold the value, for running a
//! binary by hand.

use crate::config::ConfigError;
use aws_config::SdkConfig;
use std::collections::HashMap;

/// The secrets a function may be given.
pub const NAMES: [&str; 4] = [
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "WEBHOOK_SECRET",
    "UNSUBSCRIBE_SECRET",
];

/// The secrets read from Parameter Store, by name.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: HashMap<&'static str, String>,
}

impl Secrets {
    /// Reads every secret whose `<SECRET>_PARAMETER` the environment names.
    pub async fn load(aws: &SdkConfig) -> Result<Self, ConfigError> {
        let named: Vec<(&'static str, String)> = NAMES
            .iter()
            .filter_map(|name| {
                std::env::var(format!("{name}_PARAMETER"))
                    .ok()
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .map(|p| (*name, p))
            })
            .collect();
        let mut values = HashMap::new();
        if named.is_empty() {
            return Ok(Self { values });
        }
        let mut ssm = aws_sdk_ssm::config::Builder::from(aws);
        if let Some(calls) = crate::aws_calls::AwsCallLog::from_env() {
            ssm.push_interceptor(
                aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(calls),
            );
        }
        let ssm = aws_sdk_ssm::Client::from_conf(ssm.build());
        for (name, parameter) in named {
            let out = ssm
                .get_parameter()
                .name(&parameter)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| ConfigError::Secret {
                    name,
                    parameter: parameter.clone(),
                    source: Box::new(e),
                })?;
            let value = out
                .parameter()
                .and_then(|p| p.value())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ConfigError::Secret {
                    name,
                    parameter: parameter.clone(),
                    source: "the parameter has no value".into(),
                })?;
            values.insert(name, value.to_owned());
        }
        Ok(Self { values })
    }

    /// The secret `name`: read from its parameter, else the environment variable itself.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }
}
