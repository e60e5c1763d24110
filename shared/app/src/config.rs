//! Configuration read once at cold start from the environment.

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
}

/// Everything a function needs to know about its deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The DynamoDB table that holds every clinic's data (`TABLE_NAME`).
    pub table_name: String,
    /// Credits one email costs (`EMAIL_CREDIT_COST`, default 0); an SMS costs one a segment.
    pub email_credit_cost: u32,
}

impl Config {
    /// Reads the configuration, failing with the name of the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: required("TABLE_NAME", "the name of the Tidings DynamoDB table")?,
            email_credit_cost: match std::env::var("EMAIL_CREDIT_COST") {
                Err(_) => 0,
                Ok(v) if v.trim().is_empty() => 0,
                Ok(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                    name: "EMAIL_CREDIT_COST",
                    hint: "a whole number of credits from 0",
                })?,
            },
        })
    }
}

fn required(name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing { name, hint })
}
