"""The local stand-in for EventBridge Scheduler's firing.

moto stores schedules but never fires them. This bridge polls moto's Scheduler API every
second and, when a schedule is due, invokes its target function through `cargo lambda watch`
exactly as Scheduler would: asynchronously, with the target's Input and the
`<aws.scheduler.scheduled-time>` context attribute replaced by the firing's scheduled time.

It understands `at(...)`, `rate(...)` and `cron(...)` expressions in their time zone, honours
StartDate and ActionAfterCompletion=DELETE, and retries a failed invocation a few times (as
Scheduler's retry policy does).
"""

import json
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def aws_cron_to_croniter(fields):
    """AWS cron (min hour day-of-month month day-of-week year) to croniter's five fields."""
    minute, hour, dom, month, dow, _year = fields
    dom = "*" if dom == "?" else dom
    if dow == "?":
        dow = "*"
    else:
        # AWS numbers days 1-7 from Sunday; croniter 0-6.
        def shift(part):
            return "".join(str(int(c) - 1) if c.isdigit() else c for c in part)
        dow = ",".join(shift(p) if not p.startswith("*") else p for p in dow.split(","))
    return f"{minute} {hour} {dom} {month} {dow}"


def as_utc(t):
    """A Scheduler timestamp (datetime or epoch seconds) as an aware UTC datetime."""
    if isinstance(t, (int, float)):
        return datetime.fromtimestamp(t, timezone.utc)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def next_firing(expr, tz, after, start):
    """The first firing time of `expr` strictly after `after` (aware datetimes), or None."""
    from croniter import croniter

    if expr.startswith("at(") and expr.endswith(")"):
        at = datetime.fromisoformat(expr[3:-1]).replace(tzinfo=tz)
        return at if at > after else None
    if expr.startswith("rate(") and expr.endswith(")"):
        n, unit = expr[5:-1].split()
        period = int(n) * RATE_UNITS[unit]
        elapsed = (after - start).total_seconds()
        k = max(0, int(elapsed // period) + 1)
        return start + timedelta(seconds=k * period)
    if expr.startswith("cron(") and expr.endswith(")"):
        it = croniter(aws_cron_to_croniter(expr[5:-1].split()), after.astimezone(tz))
        return it.get_next(datetime)
    return None


class SchedulerBridge(threading.Thread):
    def __init__(self, moto_url, invoke_url, group, region, log):
        super().__init__(daemon=True, name="scheduler-bridge")
        import boto3

        self.client = boto3.client("scheduler", endpoint_url=moto_url, region_name=region,
                                   aws_access_key_id="local", aws_secret_access_key="local")
        self.invoke_url = invoke_url
        self.group = group
        self.log = log
        self.seen = {}  # schedule name -> (first seen, last fired)
        self.stopping = threading.Event()

    def say(self, msg):
        self.log.write(f"{datetime.now(timezone.utc).isoformat()} {msg}\n")
        self.log.flush()

    def run(self):
        while not self.stopping.wait(1.0):
            try:
                self.tick(datetime.now(timezone.utc))
            except Exception as e:  # keep firing whatever one poll met
                self.say(f"poll failed: {e!r}")

    def tick(self, now):
        names = [s["Name"] for s in self.client.list_schedules(GroupName=self.group)["Schedules"]]
        for name in names:
            s = self.client.get_schedule(Name=name, GroupName=self.group)
            if s.get("State", "ENABLED") != "ENABLED":
                continue
            tz = ZoneInfo(s.get("ScheduleExpressionTimezone") or "UTC")
            first_seen, last = self.seen.get(name, (now, None))
            start = s.get("StartDate") or s.get("CreationDate") or first_seen
            start = as_utc(start)
            if s["ScheduleExpression"].startswith("cron("):
                # As in AWS, a cron schedule never fires for a time before it was created.
                created = as_utc(s.get("CreationDate") or first_seen)
                start = max(start, created)
            after = last or (start - timedelta(seconds=1))
            due = next_firing(s["ScheduleExpression"], tz, after, start)
            self.seen[name] = (first_seen, last)
            if due is None or due > now:
                continue
            self.seen[name] = (first_seen, due)
            self.fire(s, due.astimezone(timezone.utc))
            if s["ScheduleExpression"].startswith("at(") and s.get("ActionAfterCompletion") == "DELETE":
                self.client.delete_schedule(Name=name, GroupName=self.group)
                self.seen.pop(name, None)

    def fire(self, s, at):
        target = s["Target"]
        function = target["Arn"].split(":function:")[-1]
        body = target.get("Input", "{}").replace(SCHEDULED_TIME, at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.say(f"firing {s['Name']} at {at.isoformat()} -> {function}")
        threading.Thread(target=self.invoke, args=(function, body, s["Name"]), daemon=True).start()

    def invoke(self, function, body, name):
        url = f"{self.invoke_url}/2015-03-31/functions/{function}/invocations"
        for attempt in range(1, 4):
            try:
                req = urllib.request.Request(url, data=body.encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=900) as res:
                    out = res.read().decode(errors="replace")
                if '"errorType"' not in out:
                    self.say(f"{name}: {out[:300]}")
                    return
                self.say(f"{name}: attempt {attempt} failed: {out[:300]}")
            except Exception as e:
                self.say(f"{name}: attempt {attempt} failed: {e!r}")
            time.sleep(2 * attempt)
