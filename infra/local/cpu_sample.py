"""CPU of the local emulators and a benchmark, sampled every 0.2 s, to see which of them bounds
a benchmark on this machine:

    python3 infra/local/cpu_sample.py /tmp/samples.txt &
    BENCH=campaign_run python3 infra/local/stack.py bench 2> >(tee /tmp/bench.log >&2)
    python3 infra/local/cpu_sample.py --phases /tmp/bench.log /tmp/samples.txt

Each line: the time, the machine's busy cores, and the cores moto, DynamoDB Local and the
benchmark process used. `--phases` averages them over the phases the benchmark printed
(`<phase> from <epoch>` and `<phase> until <epoch>` on stderr, as campaign_run does)."""
import os
import re
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
WHO = {"moto": "moto_server", "ddb": "DynamoDBLocal", "bench": "/deps/campaign_run-"}


def pids(pattern):
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if pattern in cmd and "cpu_sample" not in cmd:
            out.append(p)
    return out


def ticks(ps):
    total = 0
    for p in ps:
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def machine():
    v = list(map(int, open("/proc/stat").readline().split()[1:]))
    return sum(v), v[3] + v[4]


def sample(path):
    cores = os.cpu_count() or 1
    prev = None
    with open(path, "w") as out:
        while True:
            now = (time.time(), {k: ticks(pids(p)) for k, p in WHO.items()}, machine())
            if prev:
                dt = now[0] - prev[0]
                total, idle = now[2][0] - prev[2][0], now[2][1] - prev[2][1]
                used = " ".join(f"{k}={max(now[1][k] - prev[1][k], 0) / HZ / dt:.2f}" for k in WHO)
                out.write(f"{now[0]:.2f} busy={cores * (1 - idle / max(total, 1)):.2f} {used}\n")
                out.flush()
            prev = now
            time.sleep(0.2)


def phases(log, path):
    text = open(log).read()
    rows = [line.split() for line in open(path)]
    for name in dict.fromkeys(re.findall(r"^(.+?) from \d", text, re.M)):
        t0 = float(re.search(rf"^{re.escape(name)} from ([\d.]+)", text, re.M).group(1))
        t1 = float(re.search(rf"^{re.escape(name)} until ([\d.]+)", text, re.M).group(1))
        sel = [r for r in rows if t0 <= float(r[0]) <= t1]
        if not sel:
            continue
        avg = {k: sum(float(x.split("=")[1]) for r in sel for x in r[1:] if x.startswith(k + "=")) / len(sel)
               for k in ["busy", *WHO]}
        print(name, f"{t1 - t0:.1f} s", " ".join(f"{k}={v:.2f}" for k, v in avg.items()))


if __name__ == "__main__":
    if sys.argv[1] == "--phases":
        phases(sys.argv[2], sys.argv[3])
    else:
        sample(sys.argv[1])
