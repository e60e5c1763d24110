//! A record of the AWS calls each function makes, for the IAM check of `make test`
//! (`infra/checks/iam_policies.py` compares them with each function's policy in template.yaml,
//! using AWS's service authorization data). Off unless `TIDINGS_AWS_CALL_LOG` names a file,
//! which only `make test` sets.
//!
//! One JSON line per call: the function (the endpoint being served, else the Lambda function's
//! name), the service and operation as the SDK names them, the kinds of item a transaction
//! writes (IAM checks each kind's own action), the index a query reads (IAM checks the index's
//! ARN, not the table's), whether a publish names a topic (an SMS to a number names none) and
//! the parameter a secret is read from.

use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_sns::operation::publish::PublishInput;
use aws_sdk_ssm::operation::get_parameter::GetParameterInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// Runs `f` as the function `name` serves it, so its AWS calls are recorded under that name
/// (the HTTP dispatcher serves every endpoint of an in-process test this way).
pub async fn as_function<F: Future>(name: &'static str, f: F) -> F::Output {
    FUNCTION.scope(name, f).await
}

/// The interceptor that appends each call to the log file.
#[derive(Debug, Clone)]
pub struct AwsCallLog {
    file: Arc<Mutex<File>>,
    /// `AWS_LAMBDA_FUNCTION_NAME`: the function when no endpoint is being served (a scheduled
    /// function, a cold start).
    lambda_function: Option<String>,
}

impl AwsCallLog {
    /// Opens `path` for appending (several processes write to it; each line is one write).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
            lambda_function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
        })
    }

    /// The log `TIDINGS_AWS_CALL_LOG` names, if any (for a client built before the config).
    pub fn from_env() -> Option<Self> {
        let path = std::env::var("TIDINGS_AWS_CALL_LOG").ok()?;
        Self::open(Path::new(path.trim()))
            .inspect_err(|e| tracing::error!(error = %e, "TIDINGS_AWS_CALL_LOG cannot be opened"))
            .ok()
    }

    fn function(&self) -> Option<String> {
        FUNCTION
            .try_with(|f| (*f).to_owned())
            .ok()
            .or_else(|| self.lambda_function.clone())
    }
}

impl Intercept for AwsCallLog {
    fn name(&self) -> &'static str {
        "AwsCallLog"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's
    // settings (its `Metadata`) are in the config bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let input = context.input();
        let items: Vec<&str> = input
            .downcast_ref::<TransactWriteItemsInput>()
            .map(|t| {
                t.transact_items()
                    .iter()
                    .filter_map(|i| {
                        if i.put().is_some() {
                            Some("PutItem")
                        } else if i.update().is_some() {
                            Some("UpdateItem")
                        } else if i.delete().is_some() {
                            Some("DeleteItem")
                        } else if i.condition_check().is_some() {
                            Some("ConditionCheckItem")
                        } else {
                            None
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let index = input
            .downcast_ref::<QueryInput>()
            .and_then(QueryInput::index_name);
        let parameter = input
            .downcast_ref::<GetParameterInput>()
            .and_then(GetParameterInput::name);
        let topic = input
            .downcast_ref::<PublishInput>()
            .is_some_and(|p| p.topic_arn().is_some());
        let line = serde_json::json!({
            "function": self.function(),
            "service": meta.service(),
            "operation": meta.name(),
            "items": items,
            "index": index,
            "topic": topic,
            "parameter": parameter,
        });
        let mut file = self.file.lock().map_err(|_| "the AWS call log's lock")?;
        file.write_all(format!("{line}\n").as_bytes())?;
        Ok(())
    }
}
