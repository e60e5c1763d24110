//! The deployment as AWS reads it: template.yaml and samconfig.toml checked for what the local
//! stack cannot see (IAM's resource checks, API Gateway's time limit, what `sam build` reads).

use serde_yaml_ng::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// Every function of the template: its logical id and its resource.
fn functions(doc: &Value) -> Vec<(String, Value)> {
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The policy statements of a function that allow `action`.
fn statements_allowing(function: &Value, action: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        for st in policy["Statement"].as_sequence().into_iter().flatten() {
            let actions: Vec<&str> = match &st["Action"] {
                Value::Sequence(a) => a.iter().filter_map(Value::as_str).collect(),
                Value::String(a) => vec![a.as_str()],
                _ => Vec::new(),
            };
            if actions.contains(&action) {
                out.push(st.clone());
            }
        }
    }
    out
}

#[test]
fn functions_that_send_email_may_use_the_configuration_set_they_name() {
    // SES authorises SendEmail on the sending identity *and* on the configuration set the call
    // names (Service Authorization Reference, Amazon SES v2: SendEmail, resource types
    // configuration-set and identity); the code names `SES_CONFIGURATION_SET` on every send.
    let doc = template();
    let mut senders = 0;
    for (name, f) in functions(&doc) {
        let statements = statements_allowing(&f, "ses:SendEmail");
        if statements.is_empty() {
            continue;
        }
        senders += 1;
        let resources = format!("{statements:?}");
        assert!(
            resources.contains(":identity/*"),
            "{name}: SendEmail on the identities: {resources}"
        );
        assert!(
            resources.contains(":configuration-set/${SesConfigurationSet}"),
            "{name}: SendEmail must be allowed on the configuration set it sends through: {resources}"
        );
    }
    assert!(senders >= 5, "found {senders} email senders");
}

#[test]
fn no_api_function_outlives_api_gateway() {
    // An HTTP API gives up on its integration after 30 s; a function that runs on is billed and
    // its client has already been told 503.
    let doc = template();
    let default = doc["Globals"]["Function"]["Timeout"].as_u64().unwrap_or(3);
    for (name, f) in functions(&doc) {
        let http = f["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .any(|(_, e)| e["Type"].as_str() == Some("HttpApi"));
        if !http {
            continue;
        }
        let timeout = f["Properties"]["Timeout"].as_u64().unwrap_or(default);
        assert!(
            timeout <= 29,
            "{name}: Timeout {timeout} s is past API Gateway's 30 s"
        );
    }
}

#[test]
fn build_and_deploy_take_the_same_stage_and_architecture() {
    // `sam build` reads a config-env's `build` and `global` sections, `sam deploy` its `deploy`
    // and `global` ones: the Stage and Architecture must be in `global`, and nowhere else.
    let text = std::fs::read_to_string(root().join("samconfig.toml")).unwrap();
    let config: toml::Table = toml::from_str(&text).unwrap();
    for env in ["default", "staging", "prod"] {
        let sections = config[env].as_table().unwrap();
        let overrides = sections["global"]["parameters"]["parameter_overrides"]
            .as_str()
            .unwrap_or_else(|| panic!("{env}: parameter_overrides belong in global"));
        assert!(overrides.contains("Stage="), "{env}: {overrides}");
        assert!(overrides.contains("Architecture="), "{env}: {overrides}");
        for command in ["build", "deploy", "validate"] {
            let params = sections
                .get(command)
                .and_then(|s| s.get("parameters"))
                .and_then(toml::Value::as_table);
            assert!(
                params.is_none_or(|p| !p.contains_key("parameter_overrides")),
                "{env}.{command} must not override what global sets"
            );
        }
    }
}

#[test]
fn ses_can_publish_its_events_to_the_encrypted_topic() {
    // SES publishes to an encrypted topic only with `kms:GenerateDataKey` and `kms:Decrypt` on
    // its key, granted in the key's policy: impossible with the AWS-managed alias/aws/sns key.
    let doc = template();
    let topic = &doc["Resources"]["SesEventsTopic"]["Properties"];
    let key_ref = format!("{:?}", topic["KmsMasterKeyId"]);
    assert!(!key_ref.contains("alias/aws/sns"), "{key_ref}");
    let (key_name, key) = doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .find(|(name, r)| {
            r["Type"].as_str() == Some("AWS::KMS::Key") && key_ref.contains(name.as_str().unwrap())
        })
        .unwrap_or_else(|| panic!("the topic's key {key_ref} is defined in the template"));
    let statements = key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap();
    let ses = statements
        .iter()
        .find(|s| s["Principal"]["Service"].as_str() == Some("ses.amazonaws.com"))
        .unwrap_or_else(|| panic!("{key_name:?} lets SES use it"));
    let actions: Vec<&str> = ses["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for needed in ["kms:GenerateDataKey", "kms:Decrypt"] {
        assert!(actions.contains(&needed), "{key_name:?}: {actions:?}");
    }
    // And SES may publish to the topic, from this account only.
    let policy = format!("{:?}", doc["Resources"]["SesEventsTopicPolicy"]);
    assert!(policy.contains("ses.amazonaws.com") && policy.contains("AWS:SourceAccount"));
}

#[test]
fn logs_are_kept_for_the_retention_ops_choose_and_the_api_logs_each_request() {
    let doc = template();
    assert!(
        doc["Parameters"]["LogRetentionDays"]["Default"]
            .as_u64()
            .is_some()
    );
    let group = format!(
        "{:?}",
        doc["Globals"]["Function"]["LoggingConfig"]["LogGroup"]
    );
    let groups: Vec<(String, Value)> = doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Logs::LogGroup"))
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r.clone()))
        .collect();
    let (name, functions_group) = groups
        .iter()
        .find(|(name, _)| group.contains(name.as_str()))
        .unwrap_or_else(|| panic!("every function logs to a log group of the template: {group}"));
    for (name, g) in &groups {
        let retention = format!("{:?}", g["Properties"]["RetentionInDays"]);
        assert!(
            retention.contains("LogRetentionDays"),
            "{name}: {retention}"
        );
    }
    assert!(
        functions_group["Properties"]["RetentionInDays"] != Value::Null,
        "{name}"
    );
    // No function logs elsewhere (to a group kept forever).
    for (f, res) in functions(&doc) {
        assert!(
            res["Properties"]["LoggingConfig"]["LogGroup"] == Value::Null,
            "{f} overrides the log group"
        );
    }
    // The HTTP API writes a JSON access log line per request, without bodies or query strings.
    let access = &doc["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let format = access["Format"].as_str().unwrap();
    let fields: serde_json::Value = serde_json::from_str(format).unwrap();
    assert!(
        fields["requestId"].is_string() && fields["status"].is_string(),
        "{format}"
    );
    assert!(
        !format.contains("$context.path") && !format.contains("querystring"),
        "{format}"
    );
    assert!(format!("{:?}", access["DestinationArn"]).contains("ApiAccessLogs"));
}

#[test]
fn whatever_fails_every_retry_lands_in_the_failed_events_queue_and_raises_an_alarm() {
    let doc = template();
    let queue = "FailedEventsQueue";
    // Every function invoked asynchronously (none has an HTTP route): retried, then kept.
    for (name, f) in functions(&doc) {
        let http = f["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .any(|(_, e)| e["Type"].as_str() == Some("HttpApi"));
        if http {
            continue;
        }
        let config = &f["Properties"]["EventInvokeConfig"];
        assert!(config["MaximumRetryAttempts"].as_u64().is_some(), "{name}");
        let on_failure = format!("{:?}", config["DestinationConfig"]["OnFailure"]);
        assert!(on_failure.contains(queue), "{name}: {on_failure}");
        // And an SNS subscription keeps what SNS could not deliver.
        for (_, e) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if e["Type"].as_str() == Some("SNS") {
                let redrive = format!("{:?}", e["Properties"]["RedrivePolicy"]);
                assert!(redrive.contains(queue), "{name}: {redrive}");
            }
        }
    }
    // Every schedule of the template: a retry policy and the queue, which its role may use.
    for (name, r) in doc["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Scheduler::Schedule") {
            continue;
        }
        let target = &r["Properties"]["Target"];
        assert!(
            target["RetryPolicy"]["MaximumRetryAttempts"]
                .as_u64()
                .is_some(),
            "{name:?}"
        );
        assert!(
            format!("{:?}", target["DeadLetterConfig"]).contains(queue),
            "{name:?}"
        );
        let role = format!("{:?}", target["RoleArn"]);
        let role_name = ["SweepSchedulerRole", "CampaignSchedulerRole"]
            .into_iter()
            .find(|n| role.contains(n))
            .unwrap_or_else(|| panic!("{name:?}: {role}"));
        let policies = format!(
            "{:?}",
            doc["Resources"][role_name]["Properties"]["Policies"]
        );
        assert!(
            policies.contains("sqs:SendMessage") && policies.contains(queue),
            "{role_name}"
        );
    }
    // The role of schedules made at run time may use it too, and the code is told its ARN.
    let campaign_role = format!("{:?}", doc["Resources"]["CampaignSchedulerRole"]);
    assert!(campaign_role.contains("sqs:SendMessage"));
    let env = format!(
        "{:?}",
        doc["Globals"]["Function"]["Environment"]["Variables"]["FAILED_EVENTS_QUEUE_ARN"]
    );
    assert!(env.contains(queue), "{env}");
    // A message in the queue raises an alarm on the ops topic.
    let alarm = doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| {
            r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                && format!("{:?}", r["Properties"]["Dimensions"]).contains(queue)
        })
        .expect("an alarm on the failed-events queue");
    assert_eq!(
        alarm["Properties"]["MetricName"].as_str(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    assert!(format!("{:?}", alarm["Properties"]["AlarmActions"]).contains("AlarmTopicArn"));
}

#[test]
fn ops_are_told_of_errors_throttles_5xx_reputation_and_sms_spend() {
    let doc = template();
    let alarms: Vec<&Value> = doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .collect();
    let find = |namespace: &str, metric: &str| {
        alarms
            .iter()
            .find(|a| {
                a["Properties"]["Namespace"].as_str() == Some(namespace)
                    && a["Properties"]["MetricName"].as_str() == Some(metric)
            })
            .unwrap_or_else(|| panic!("an alarm on {namespace} {metric}"))
            .to_owned()
    };
    for (ns, metric) in [
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("AWS/SNS", "SMSMonthToDateSpentUSD"),
    ] {
        find(ns, metric);
    }
    // Bounces at 2% and complaints at 0.05%, below the 5% and 0.1% at which SES reviews.
    let threshold = |a: &Value| a["Properties"]["Threshold"].as_f64().unwrap();
    assert!((threshold(find("AWS/SES", "Reputation.BounceRate")) - 0.02).abs() < 1e-9);
    assert!((threshold(find("AWS/SES", "Reputation.ComplaintRate")) - 0.0005).abs() < 1e-9);
    let spend = format!(
        "{:?}",
        find("AWS/SNS", "SMSMonthToDateSpentUSD")["Properties"]["Threshold"]
    );
    assert!(spend.contains("SmsMonthlyBudgetUsd"), "{spend}");
    for a in &alarms {
        let actions = format!("{:?}", a["Properties"]["AlarmActions"]);
        assert!(
            actions.contains("AlarmTopicArn"),
            "{:?}: {actions}",
            a["Properties"]["AlarmName"]
        );
    }
}

#[test]
fn the_dashboard_shows_every_business_metric_the_functions_emit() {
    let doc = template();
    let body = format!(
        "{:?}",
        doc["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    );
    for metric in [
        "MessagesSent",
        "MessagesFailed",
        "MessagesSkipped",
        "MessagesUnconfirmed",
        "CreditsDebited",
        "CreditsRefunded",
        "CampaignRunSeconds",
        "WebhookSignatureFailures",
    ] {
        assert!(body.contains(metric), "the dashboard shows {metric}");
        // The name the code emits (shared/app/src/metrics.rs).
        let code = std::fs::read_to_string(root().join("shared/app/src/metrics.rs")).unwrap();
        assert!(
            code.contains(&format!("\"{metric}\"")),
            "the code emits {metric}"
        );
    }
    assert!(
        body.contains("\\\"Tidings\\\"") || body.contains("\"Tidings\""),
        "{body}"
    );
}
