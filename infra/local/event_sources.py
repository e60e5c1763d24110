"""Local stand-ins for two of Lambda's event sources, which the emulators do not run.

- StreamBridge: the table's DynamoDB stream (DynamoDB Local keeps one) to a function, as an
  event source mapping does: records in order per shard, in batches, filtered by the
  function's FilterCriteria from template.yaml (the subset of the pattern syntax it uses:
  exact values and `prefix`), retried a few times when the function fails.
- QueueBridge: an SQS queue (moto's) to a function, as Lambda's SQS event source does with
  ReportBatchItemFailures: up to ten messages a batch; the messages the function does not
  name as failures are deleted; the rest stay and come back when their visibility timeout
  ends (the function may have changed it).

Both invoke through `cargo lambda watch`, as the scheduler bridge does.
"""

import base64
import json
import threading
import time
import urllib.request
from datetime import datetime, timezone


def invoke(invoke_url, function, payload):
    """Invokes `function` synchronously; its answer as JSON, or raises."""
    req = urllib.request.Request(f"{invoke_url}/2015-03-31/functions/{function}/invocations",
                                 data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=900) as res:
        out = res.read().decode(errors="replace")
    if '"errorType"' in out:
        raise RuntimeError(out[:300])
    return json.loads(out) if out.strip() else None


def matches(pattern, value):
    """An event filter pattern against a record: keys nest, a list means any of its values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and matches(p, value[k]) for k, p in pattern.items())
    if isinstance(pattern, list):
        return any(leaf(p, value) for p in pattern)
    return pattern == value


def leaf(p, v):
    if isinstance(p, dict) and "prefix" in p:
        return isinstance(v, str) and v.startswith(p["prefix"])
    return p == v


def as_json(v):
    """A stream record from boto3 as Lambda's JSON has it (times in epoch seconds, binary in base64)."""
    if isinstance(v, dict):
        return {k: as_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_json(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode()
    if isinstance(v, datetime):
        return v.timestamp()
    if isinstance(v, set):
        return [as_json(x) for x in v]
    return v


class Bridge(threading.Thread):
    def __init__(self, name, log):
        super().__init__(daemon=True, name=name)
        self.log = log
        self.stopping = threading.Event()

    def say(self, msg):
        self.log.write(f"{datetime.now(timezone.utc).isoformat()} {msg}\n")
        self.log.flush()


class StreamBridge(Bridge):
    def __init__(self, ddb_url, table, invoke_url, function, patterns, region, log, batch=100):
        super().__init__("stream-bridge", log)
        import boto3

        kw = dict(endpoint_url=ddb_url, region_name=region, aws_access_key_id="local",
                  aws_secret_access_key="local")
        self.ddb = boto3.client("dynamodb", **kw)
        self.streams = boto3.client("dynamodbstreams", **kw)
        self.table, self.invoke_url, self.function = table, invoke_url, function
        self.patterns = patterns
        self.batch = batch
        self.iterators = {}

    def run(self):
        arn = self.ddb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        last_describe = 0.0
        while not self.stopping.wait(0.2):
            try:
                if time.monotonic() - last_describe > 2:
                    last_describe = time.monotonic()
                    for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                        sid = shard["ShardId"]
                        if sid not in self.iterators:
                            self.iterators[sid] = self.streams.get_shard_iterator(
                                StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                for sid, it in list(self.iterators.items()):
                    if it is None:
                        continue
                    out = self.streams.get_records(ShardIterator=it, Limit=1000)
                    self.iterators[sid] = out.get("NextShardIterator")
                    records = [as_json(r) for r in out.get("Records", [])]
                    records = [r for r in records if any(matches(p, r) for p in self.patterns)]
                    for i in range(0, len(records), self.batch):
                        self.deliver(records[i:i + self.batch])
            except Exception as e:  # keep polling whatever one poll met
                self.say(f"poll failed: {e!r}")

    def deliver(self, records):
        for attempt in range(1, 4):
            try:
                out = invoke(self.invoke_url, self.function, {"Records": records})
                self.say(f"{len(records)} record(s) -> {self.function}: {out}")
                return
            except Exception as e:
                self.say(f"{len(records)} record(s) -> {self.function}: attempt {attempt} failed: {e!r}")
                time.sleep(attempt)
        self.say(f"dropped {len(records)} record(s) (in AWS: the failed-events queue)")


class QueueBridge(Bridge):
    def __init__(self, moto_url, queue_url, queue_arn, invoke_url, function, region, log):
        super().__init__("queue-bridge", log)
        import boto3

        self.sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=region,
                                aws_access_key_id="local", aws_secret_access_key="local")
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self.invoke_url, self.function = invoke_url, function

    def run(self):
        while not self.stopping.is_set():
            try:
                self.poll()
            except Exception as e:
                self.say(f"poll failed: {e!r}")
                time.sleep(1)

    def poll(self):
        msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                        AttributeNames=["All"]).get("Messages", [])
        if not msgs:
            return
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn, "awsRegion": self.region} for m in msgs]
        try:
            out = invoke(self.invoke_url, self.function, {"Records": records}) or {}
        except Exception as e:
            self.say(f"{len(records)} message(s) -> {self.function}: failed, left on the queue: {e!r}")
            return
        failed = {f["itemIdentifier"] for f in out.get("batchItemFailures", [])}
        done = [m for m in msgs if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i:i + 10])])
        self.say(f"{len(records)} message(s) -> {self.function}: {len(done)} done, {len(failed)} to retry")
