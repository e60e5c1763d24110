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
        // Invoked by an event source mapping (synchronously, so EventInvokeConfig does not
        // apply): a stream's records that fail every retry go to the queue, and a queue's
        // messages that fail their function too often are moved there by its redrive policy.
        let mapped: Vec<&serde_yaml_ng::Value> = f["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(_, e)| e)
            .filter(|e| matches!(e["Type"].as_str(), Some("DynamoDB" | "SQS")))
            .collect();
        if !mapped.is_empty() {
            for e in mapped {
                let p = &e["Properties"];
                if e["Type"].as_str() == Some("DynamoDB") {
                    let on_failure = format!("{:?}", p["DestinationConfig"]["OnFailure"]);
                    assert!(on_failure.contains(queue), "{name}: {on_failure}");
                    assert!(p["MaximumRetryAttempts"].as_u64().is_some(), "{name}");
                    // A failing batch is split to find the record that fails it; except
                    // count-stats, which fails only on storage (a record it cannot read is
                    // logged and skipped) and whose marks name the first record of a part,
                    // so the batch must come back whole (services/day_counts.rs).
                    let whole = f["Properties"]["Handler"].as_str() == Some("count-stats");
                    assert_eq!(
                        p["BisectBatchOnFunctionError"].as_bool(),
                        Some(!whole),
                        "{name}"
                    );
                } else {
                    let source = format!("{:?}", p["Queue"]);
                    let (resource, _) = doc["Resources"]
                        .as_mapping()
                        .unwrap()
                        .iter()
                        .find(|(k, _)| source.contains(k.as_str().unwrap_or("-")))
                        .unwrap();
                    let redrive = format!(
                        "{:?}",
                        doc["Resources"][resource]["Properties"]["RedrivePolicy"]
                    );
                    assert!(redrive.contains(queue), "{name}: {redrive}");
                    assert!(
                        format!("{:?}", p["FunctionResponseTypes"])
                            .contains("ReportBatchItemFailures"),
                        "{name}: a failed message must not fail its whole batch"
                    );
                }
            }
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
        ("Tidings", "SweepSendsDeferred"),
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
        "SweepSendsDeferred",
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

/// `make test` runs cfn-lint with the serverless rules (.cfnlintrc.yaml); a rule may be ignored,
/// there or on one resource of the template, only under a comment that names it and says why.
#[test]
fn every_ignored_lint_rule_says_why() {
    let mut ignored = 0;
    for file in [".cfnlintrc.yaml", "template.yaml"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut in_ignores = false;
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with("ignore_checks:") {
                assert_eq!(
                    trimmed,
                    "ignore_checks:",
                    "{file}:{}: one rule per line",
                    i + 1
                );
                in_ignores = true;
                continue;
            }
            if !in_ignores || trimmed.starts_with('#') {
                continue;
            }
            let Some(rule) = trimmed.strip_prefix("- ") else {
                in_ignores = false;
                continue;
            };
            let comment: Vec<&str> = lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim())
                .take_while(|l| l.starts_with('#'))
                .collect();
            let reason = comment.join(" ");
            assert!(
                reason.contains(rule) && reason.len() > rule.len() + 40,
                "{file}:{}: the ignored rule {rule} needs a comment above it naming it and saying why",
                i + 1
            );
            ignored += 1;
        }
    }
    assert!(ignored > 0, "the check found the ignore lists");
}

/// The value of a function's environment variable as the template writes it (`!Ref X` and the
/// like as their debug form), Globals first.
fn environment(doc: &Value, function: &Value) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for env in [
        &doc["Globals"]["Function"]["Environment"]["Variables"],
        &function["Properties"]["Environment"]["Variables"],
    ] {
        for (k, v) in env.as_mapping().into_iter().flatten() {
            vars.push((k.as_str().unwrap().to_owned(), format!("{v:?}")));
        }
    }
    vars
}

#[test]
fn secrets_come_from_parameter_store_and_only_to_the_functions_that_use_them() {
    let doc = template();
    // No template parameter takes a secret's value: only the name of the SecureString.
    for (name, p) in doc["Parameters"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        assert_eq!(p["NoEcho"], Value::Null, "{name} takes a secret's value");
        if name.contains("Secret") {
            assert!(name.ends_with("Parameter"), "{name} takes a secret's value");
            let pattern = p["AllowedPattern"].as_str().unwrap_or_default();
            assert!(pattern.contains("(/["), "{name} must be a parameter path");
        }
    }
    let mut stripe = Vec::new();
    for (id, f) in functions(&doc) {
        let vars = environment(&doc, &f);
        for secret in tidings_app::secrets::NAMES {
            assert!(
                vars.iter().all(|(k, _)| k != secret),
                "{id} gets {secret} in its environment"
            );
        }
        // Each secret a function is given comes with ssm:GetParameter on that parameter, and
        // the function may read no other.
        let named: Vec<String> = vars
            .iter()
            .filter(|(k, _)| k.ends_with("_PARAMETER"))
            .map(|(_, v)| {
                let param = v.split('"').nth(1).unwrap().to_owned();
                assert!(v.contains("Ref"), "{id}: {v}");
                param
            })
            .collect();
        let readable: Vec<String> = statements_allowing(&f, "ssm:GetParameter")
            .iter()
            .flat_map(|st| match &st["Resource"] {
                Value::Sequence(r) => r.iter().map(|r| format!("{r:?}")).collect(),
                r => vec![format!("{r:?}")],
            })
            .collect();
        assert_eq!(
            readable.len(),
            named.len(),
            "{id}: {readable:?} for {named:?}"
        );
        for param in &named {
            let arn = format!(
                "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{param}}}"
            );
            assert!(
                readable.iter().any(|r| r.contains(&arn)),
                "{id} reads {param} without ssm:GetParameter on {arn}: {readable:?}"
            );
        }
        if named.iter().any(|p| p == "StripeSecretKeyParameter") {
            stripe.push(f["Properties"]["Handler"].as_str().unwrap().to_owned());
        }
    }
    // The Stripe key reaches the functions that may charge a card (a purchase, a saved card,
    // Stripe's events, and every send that debits credits, after which the automatic top-up
    // may charge: a clinic's sweep, a booking's at-creation reminder and the message of a
    // changed appointment among them; a resend of unconfirmed messages debits nothing), and no other.
    stripe.sort();
    assert_eq!(
        stripe,
        [
            "create-appointment",
            "create-credit-purchase",
            "run-campaign",
            "send-messages",
            "set-credit-payment-method",
            "stripe-webhook",
            "sweep-clinic",
            "update-appointment",
        ]
    );
}

#[test]
fn each_environment_sets_every_parameter_a_deploy_needs_and_no_secret() {
    let doc = template();
    let params = doc["Parameters"].as_mapping().unwrap();
    let without_default: Vec<&str> = params
        .iter()
        .filter(|(_, p)| p["Default"] == Value::Null)
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    let text = std::fs::read_to_string(root().join("samconfig.toml")).unwrap();
    let config: toml::Table = toml::from_str(&text).unwrap();
    for env in ["default", "staging", "prod"] {
        let overrides = config[env]["global"]["parameters"]["parameter_overrides"]
            .as_str()
            .unwrap();
        let given: Vec<(&str, &str)> = overrides
            .split_whitespace()
            .map(|kv| kv.split_once('=').unwrap())
            .collect();
        for (k, v) in &given {
            assert!(
                params.contains_key(*k),
                "{env}: {k} is not a template parameter"
            );
            if k.contains("Secret") {
                assert!(
                    v.starts_with('/'),
                    "{env}: {k} must name a parameter, not hold a value"
                );
            }
        }
        for p in &without_default {
            assert!(
                given.iter().any(|(k, _)| k == p),
                "{env}: {p} has no default and is not set, so a deploy would need a command-line override"
            );
        }
    }
}

#[test]
fn sam_builds_one_binary_for_every_function() {
    // SAM merges the builds of functions whose runtime, CodeUri, architecture and Metadata are
    // equal (samcli's FunctionBuildDefinition), so one `tidings` binary is compiled and linked
    // once and copied to all of them; the function's Handler, which Lambda passes as _HANDLER,
    // says which one it is.
    let doc = template();
    let globals = &doc["Globals"]["Function"];
    assert!(
        globals["Handler"].is_null(),
        "each function names itself in its Handler"
    );
    let one_build: Value = serde_yaml_ng::from_str(
        "BuildMethod: rust-cargolambda\nBuildProperties:\n  Binary: tidings\n",
    )
    .unwrap();
    let mut handlers = std::collections::BTreeSet::new();
    for (id, f) in functions(&doc) {
        assert_eq!(f["Metadata"], one_build, "{id} would be built on its own");
        for own in ["Runtime", "CodeUri", "Architectures"] {
            assert!(
                f["Properties"][own].is_null(),
                "{id} sets its own {own}, so SAM would build it separately"
            );
        }
        let handler = f["Properties"]["Handler"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no Handler"));
        assert!(handlers.insert(handler.to_owned()), "{handler} twice");
    }
    let names: std::collections::BTreeSet<String> =
        tidings_app::functions::names().map(str::to_owned).collect();
    assert_eq!(
        handlers, names,
        "every Handler is a function the binary serves"
    );
    let cargo: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("shared/lambda/Cargo.toml")).unwrap())
            .unwrap();
    assert_eq!(cargo["bin"][0]["name"].as_str(), Some("tidings"));
}

#[test]
fn every_function_that_paces_its_sends_reads_the_accounts_rates() {
    // The shared schedule is kept per rate (`RATE#SMS#<rate>`): a function that read another
    // figure (or the default) would pace on a schedule of its own, beside the others.
    let doc = template();
    let mut checked = Vec::new();
    for (name, f) in functions(&doc) {
        let paces = ["sns:Publish", "ses:SendEmail"]
            .iter()
            .any(|a| !statements_allowing(&f, a).is_empty());
        if !paces {
            continue;
        }
        let env = environment(&doc, &f);
        for (var, parameter) in [
            ("CAMPAIGN_SMS_PER_SECOND", "CampaignSmsPerSecond"),
            ("CAMPAIGN_EMAIL_PER_SECOND", "CampaignEmailPerSecond"),
        ] {
            let values: Vec<&String> = env
                .iter()
                .filter(|(k, _)| k == var)
                .map(|(_, v)| v)
                .collect();
            assert!(
                !values.is_empty() && values.iter().all(|v| v.contains(parameter)),
                "{name} sends but its {var} is {values:?}, not the parameter {parameter}"
            );
        }
        checked.push(name);
    }
    for f in [
        "RunCampaignFunction",
        "ResendUnconfirmedFunction",
        "SweepClinicFunction",
    ] {
        assert!(
            checked.iter().any(|n| n == f),
            "{f} not checked: {checked:?}"
        );
    }
}
