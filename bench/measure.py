#!/usr/bin/python3
"""The measuring half of bench/run (which starts MariaDB, nginx and the two httpds and
hands over their coordinates in env.json). Standard library only.

Phases: sanity check of each target; warm-up; ROUNDS interleaved rounds of wrk runs
(every concurrency, the three targets in a different order each time) and of streamed
requests (time to first event, paced-stream arrival); an exact usage-row accounting
run; optionally a soak of N requests with the children's RSS sampled; then callgrind
on `apache2 -X` for mod_proxy and mod_conduix (instructions per request, by difference
of two runs so start-up and shutdown cancel out). Writes <out-dir>/<timestamp>.json and
prints the table (bench/report.py).
"""
import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
from client import nearest_rank  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
TARGETS = ["direct", "proxy", "conduix"]

CHAT_BODY = {"model": "gpt-4o-mini",
             "messages": [{"role": "system", "content": "You are a helpful assistant."},
                          {"role": "user", "content": "Say hello to the benchmark in one short paragraph."}],
             "max_tokens": 100, "temperature": 0.2}


def log(msg):
    print("[bench] " + msg, file=sys.stderr, flush=True)


def pooled_streams(parts):
    """One target's stream passes of a round as one summary: the first event's
    percentiles over every stream of the round (each pass's own p50 beside), counts
    over all passes, and the first byte's and whole stream's medians of the passes'."""
    every = sorted(x for part in parts for x in part["first_event_us"])
    return {
        "n": sum(part["n"] for part in parts), "ok": sum(part["ok"] for part in parts),
        "first_event_us_p50": statistics.median(every),
        "first_event_us_p90": nearest_rank(every, 0.9),
        "pass_first_event_us_p50": [part["first_event_us_p50"] for part in parts],
        "first_byte_us_p50": statistics.median(part["first_byte_us_p50"] for part in parts),
        "total_us_p50": statistics.median(part["total_us_p50"] for part in parts),
        "events_min": min(part["events_min"] for part in parts),
        "events_max": max(part["events_max"] for part in parts),
        "reads_with_events_min": min(part["reads_with_events_min"] for part in parts),
        "max_events_per_read": max(part["max_events_per_read"] for part in parts),
        "all_done": all(part["all_done"] for part in parts),
    }


class Bench:
    def __init__(self, env, args):
        self.env = env
        self.args = args
        self.var = env["var"]
        self.bodies = {}
        for name, model, stream in (("chat", "gpt-4o-mini", False),
                                    ("stream", "llama-3.3-70b-versatile", True),
                                    ("paced", "deepseek-chat", True)):
            body = dict(CHAT_BODY, model=model)
            if stream:
                body["stream"] = True
            path = os.path.join(self.var, "body-%s.json" % name)
            with open(path, "w") as f:
                json.dump(body, f, separators=(",", ":"))
            self.bodies[name] = path

    # ------------------------------------------------------------------ addresses
    def endpoint(self, target, kind):
        """(port, path) of `kind` (chat | stream | paced) on `target`."""
        e = self.env
        upstream = {"chat": "/json", "stream": "/sse", "paced": "/paced"}[kind]
        if target == "direct":
            return e["nginx_port"], upstream + "/v1/chat/completions"
        if target == "proxy":
            return e["proxy_port"], ("/v1" if kind == "chat" else upstream + "/v1") + "/chat/completions"
        return e["conduix_port"], "/v1/chat/completions"

    def key(self, target):
        return self.env["key"] if target == "conduix" else ""

    # ------------------------------------------------------------------ tools
    def wrk(self, target, conc, duration, tail_after=None):
        port, path = self.endpoint(target, "chat")
        env = dict(os.environ, BENCH_BODY_FILE=self.bodies["chat"], BENCH_KEY=self.key(target))
        if tail_after is not None:
            env["BENCH_TAIL_AFTER"] = str(tail_after)
        threads = 1 if conc == 1 else 2
        cmd = ["wrk", "-t%d" % threads, "-c%d" % conc, "-d%ds" % duration, "--timeout", "10s",
               "-s", os.path.join(HERE, "chat.lua"), "http://127.0.0.1:%d%s" % (port, path)]
        cp = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 60)
        m = re.search(r"^BENCH_JSON (.*)$", cp.stdout, re.M)
        if cp.returncode != 0 or not m:
            raise RuntimeError("wrk failed (%d): %s %s" % (cp.returncode, cp.stdout, cp.stderr))
        res = json.loads(m.group(1))
        res["rps"] = res["ok"] / (res["duration_us"] / 1e6)
        return res

    def client(self, mode, target, kind, n, warmup=20):
        port, path = self.endpoint(target, kind)
        cmd = [PY, os.path.join(HERE, "client.py"), mode, "127.0.0.1", str(port), path,
               "--n", str(n), "--warmup", str(warmup), "--body-file", self.bodies[kind]]
        if self.key(target):
            cmd += ["--key", self.key(target)]
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if cp.returncode != 0:
            raise RuntimeError("client.py %s %s failed: %s %s" % (mode, target, cp.stdout, cp.stderr))
        return json.loads(cp.stdout)

    def sql(self, query):
        cp = subprocess.run(["mariadb", "--no-defaults", "--socket=" + self.env["db_socket"],
                             "-u", self.env["db_admin"], "-N", "-B", "conduix", "-e", query],
                            capture_output=True, text=True, timeout=60)
        if cp.returncode != 0:
            raise RuntimeError("mariadb: " + cp.stderr)
        return cp.stdout.strip()

    def usage_counts(self):
        """(usage rows, ledger charges) of the benchmark org."""
        org = self.env["org_id"]
        rows = int(self.sql("SELECT COUNT(*) FROM usage_events WHERE org_id = %d" % org))
        charges = int(self.sql("SELECT COUNT(*) FROM credit_ledger WHERE org_id = %d AND kind = 'charge'" % org))
        return rows, charges

    def settled_usage_counts(self, timeout=30):
        """Counts once they stop moving (rows are written after each response)."""
        last = self.usage_counts()
        deadline = time.time() + timeout
        while time.time() < deadline:
            time.sleep(0.5)
            now = self.usage_counts()
            if now == last:
                return now
            last = now
        return last

    def nginx_accepts(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stub_status" % self.env["nginx_port"], timeout=5) as r:
            text = r.read().decode()
        accepts, handled, requests = map(int, text.splitlines()[2].split())
        return accepts, requests

    def cpu_ticks(self):
        """CPU time (clock ticks, user+system, all threads) of each process group:
        httpd of proxy and conduix (parent and children), mariadbd, nginx."""
        groups = {"proxy": set(), "conduix": set(), "mariadb": set(), "nginx": set()}
        roots = {}
        for t in ("proxy", "conduix"):
            try:
                with open(os.path.join(self.env["%s_dir" % t], "httpd.pid")) as f:
                    roots[int(f.read().strip())] = t
            except (OSError, ValueError):
                pass
        for name, path in (("mariadb", os.path.join(self.env["db_dir"], "mysqld.pid")),
                           ("nginx", os.path.join(self.var, "nginx", "nginx.pid"))):
            try:
                with open(path) as f:
                    roots[int(f.read().strip())] = name
            except (OSError, ValueError):
                pass
        ticks = {g: 0 for g in groups}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
            g = roots.get(int(pid)) or roots.get(ppid)
            if g:
                ticks[g] += utime + stime
        return ticks

    def children_rss(self, target):
        """{pid: RSS kB} of the httpd children of `target`."""
        d = self.env["%s_dir" % target]
        with open(os.path.join(d, "httpd.pid")) as f:
            parent = int(f.read().strip())
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/status" % pid) as f:
                    st = f.read()
            except OSError:
                continue
            if re.search(r"^PPid:\s+%d$" % parent, st, re.M):
                m = re.search(r"^VmRSS:\s+(\d+) kB", st, re.M)
                if m:
                    out[int(pid)] = int(m.group(1))
        return out

    # ------------------------------------------------------------------ phases
    def sanity(self):
        for t in TARGETS:
            r = self.client("seq", t, "chat", 1)
            if r["statuses"] != {"200": 1}:
                raise RuntimeError("%s does not answer 200: %s" % (t, r))
        port, path = self.endpoint("conduix", "chat")
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                     data=open(self.bodies["chat"], "rb").read(),
                                     headers={"Authorization": "Bearer " + self.env["key"],
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            doc = json.loads(r.read())
            if doc.get("model") != "gpt-4o-mini" or r.headers.get("x-conduix-provider") != "openai":
                raise RuntimeError("unexpected mod_conduix answer: %s" % doc)
        for t in TARGETS:
            s = self.client("stream", t, "stream", 3, warmup=0)
            if s["events_min"] != 51 and not (t == "conduix" and s["events_min"] == 50):
                raise RuntimeError("%s stream: %s" % (t, s))

    def rounds(self, result):
        conc = [int(c) for c in self.args.conc.split()]
        rng = random.Random(8)
        runs, streams = [], []
        for rnd in range(1, self.args.rounds + 1):
            for c in conc:
                order = TARGETS[:]
                rng.shuffle(order)
                for t in order:
                    acc0, req0 = self.nginx_accepts()
                    rows0 = self.settled_usage_counts() if t == "conduix" else None
                    cpu0 = self.cpu_ticks()
                    res = self.wrk(t, c, self.args.duration)
                    cpu1 = self.cpu_ticks()
                    acc1, req1 = self.nginx_accepts()
                    hz = os.sysconf("SC_CLK_TCK")
                    res["cpu_us_per_request"] = {
                        g: 1e6 * (cpu1[g] - cpu0[g]) / hz / max(1, res["ok"])
                        for g in ("proxy" if t == "proxy" else "conduix", "mariadb", "nginx")
                        if t != "direct" or g == "nginx"}
                    res.update(target=t, conc=c, round=rnd,
                               upstream_connections=acc1 - acc0, upstream_requests=req1 - req0)
                    if t == "conduix":
                        rows1 = self.settled_usage_counts()
                        res["usage_rows"] = rows1[0] - rows0[0]
                        res["ledger_charges"] = rows1[1] - rows0[1]
                    runs.append(res)
                    log("round %d c=%-3d %-8s %8.0f req/s  p50 %6d us  p99 %6d us  non200 %d%s" % (
                        rnd, c, t, res["rps"], res["latency_us"]["p50"], res["latency_us"]["p99"],
                        res["non200"] + res["errors"]["status"],
                        "  rows %d" % res["usage_rows"] if t == "conduix" else ""))
            # A round's streams go in blocks: a target's streams one after the other,
            # so that each follows one of its own. The blocks are split in passes, the
            # targets in a new order each pass: a block's latencies fall in a fast or a
            # slow mode that holds for seconds (docs/performance.md, seventh round), and
            # one block per target and round let one such spell decide a round.
            passes = max(1, self.args.stream_passes)
            parts = {t: [] for t in TARGETS}
            for _ in range(passes):
                order = TARGETS[:]
                rng.shuffle(order)
                for t in order:
                    parts[t].append(self.client("stream", t, "stream",
                                                max(1, self.args.stream_n // passes)))
            for t in TARGETS:
                s = pooled_streams(parts[t])
                p = self.client("stream", t, "paced", 10, warmup=1)
                streams.append({"target": t, "round": rnd, "stream": s, "paced": p})
                log("round %d stream %-8s first event p50 %7.0f us (passes %s)  paced: events/read "
                    "max %d, reads with events min %d" % (
                        rnd, t, s["first_event_us_p50"],
                        " ".join("%.0f" % x for x in s["pass_first_event_us_p50"]),
                        p["max_events_per_read"], p["reads_with_events_min"]))
        result["runs"] = runs
        result["streams"] = streams

    def write_check(self, target, n=5):
        """strace the httpd children's writes while n paced streams (a pause after each
        upstream event) go through: every event must leave in a write of its own."""
        pids = sorted(self.children_rss(target))
        out = os.path.join(self.var, "strace-%s.txt" % target)
        cmd = ["strace", "-f", "-qq", "-s", "65536", "-e", "trace=write,writev,sendmsg,sendto",
               "-o", out]
        for pid in pids:
            cmd += ["-p", str(pid)]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            time.sleep(1.5)     # attach to every thread
            r = self.client("stream", target, "paced", n, warmup=0)
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        per_write = []
        with open(out, errors="replace") as f:
            for line in f:
                k = line.count("data: ")
                if k:
                    per_write.append(k)
        res = {"streams": n, "events_seen_by_client": r["events_max"] * n,
               "writes_with_events": len(per_write), "events_written": sum(per_write),
               "max_events_per_write": max(per_write) if per_write else None}
        log("write check %s: %d events in %d writes, at most %s per write" % (
            target, res["events_written"], res["writes_with_events"], res["max_events_per_write"]))
        return res

    def accounting(self, result):
        """Full load (c=64) with the tail switch: when wrk stops, the requests it still has
        in flight are not chat requests, so its 200 count is exact."""
        d = max(8, self.args.duration)
        rows0 = self.settled_usage_counts()
        res = self.wrk("conduix", 64, d + 3, tail_after=d)
        rows1 = self.settled_usage_counts()
        result["accounting"] = {"conc": 64, "ok": res["ok"], "non200": res["non200"],
                                "usage_rows": rows1[0] - rows0[0],
                                "ledger_charges": rows1[1] - rows0[1],
                                "errors": res["errors"]}
        log("accounting: %d x 200, %d usage rows, %d ledger charges" % (
            res["ok"], rows1[0] - rows0[0], rows1[1] - rows0[1]))

    def soak(self, result):
        target_n = self.args.soak
        rows0 = self.settled_usage_counts()
        samples = [{"served": 0, "rss_kb": self.children_rss("conduix")}]
        served = 0
        chunk = 30
        deadline = time.time() + 3 * 3600
        while served < target_n and time.time() < deadline:
            res = self.wrk("conduix", 64, chunk)
            served += res["ok"]
            samples.append({"served": served, "rps": res["rps"], "non200": res["non200"],
                            "rss_kb": self.children_rss("conduix")})
            log("soak: %d / %d served, %.0f req/s, children RSS %s kB" % (
                served, target_n, res["rps"], sorted(samples[-1]["rss_kb"].values())))
        rows1 = self.settled_usage_counts()
        result["soak"] = {"requests": served, "samples": samples,
                          "usage_rows": rows1[0] - rows0[0]}

    def callgrind_one(self, target, n, outfile):
        d = self.env["%s_dir" % target]
        port = self.env["%s_port" % target]
        # The same configuration without mod_cgid, whose daemon would be a second
        # process under valgrind (the dashboard is not on the measured path).
        with open(os.path.join(d, "httpd.conf")) as f:
            conf = re.sub(r"^(LoadModule cgid_module|ScriptSock)", r"# \1", f.read(), flags=re.M)
        conf_path = os.path.join(d, "callgrind.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        # valgrind creates the file as root; apache2 -X writes it after dropping root.
        with open(outfile, "w"):
            pass
        os.chmod(outfile, 0o666)
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile,
               self.env["apache_bin"], "-X", "-f", conf_path]
        log_path = outfile + ".log"
        with open(log_path, "w") as lf:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                                    start_new_session=True)
        try:
            deadline = time.time() + 120
            import socket
            while time.time() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError("apache2 -X under callgrind exited; see " + log_path)
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            r = self.client("seq", target, "chat", n, warmup=0)
            if r["statuses"] != {"200": n}:
                raise RuntimeError("callgrind %s: %s" % (target, r))
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        with open(outfile) as f:
            text = f.read()
        m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if not m:
            raise RuntimeError("no totals in " + outfile)
        return int(m.group(1))

    def callgrind(self, result):
        outdir = os.path.join(self.var, "callgrind")
        os.makedirs(outdir, exist_ok=True)
        os.chmod(outdir, 0o1777)     # the -X process writes it after dropping root
        for t in ("proxy", "conduix"):
            subprocess.run(["bash", "-c", 'source "$1/scripts/lib.sh"; cx_httpd_stop "$2"', "_",
                            self.env["root"], self.env["%s_dir" % t]], check=True,
                           capture_output=True, timeout=60)
        warm, n = 200, self.args.callgrind_n
        out = {}
        for t in ("proxy", "conduix"):
            base = self.callgrind_one(t, warm, os.path.join(outdir, "%s-%d.out" % (t, warm)))
            full_file = os.path.join(outdir, "%s-%d.out" % (t, warm + n))
            full = self.callgrind_one(t, warm + n, full_file)
            out[t] = {"instructions_per_request": (full - base) / n, "requests": n,
                      "base_run": {"requests": warm, "Ir": base},
                      "full_run": {"requests": warm + n, "Ir": full}}
            ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", full_file],
                                 capture_output=True, text=True, timeout=300).stdout
            keep = os.path.join(self.args.out_dir, "%s-callgrind-%s.txt" % (result["timestamp"], t))
            with open(keep, "w") as f:
                f.write("\n".join(ann.splitlines()[:120]) + "\n")
            log("callgrind %s: %.0f instructions per request" % (t, out[t]["instructions_per_request"]))
        out["ratio"] = out["conduix"]["instructions_per_request"] / out["proxy"]["instructions_per_request"]
        result["callgrind"] = out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("env")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conc", default="1 8 64")
    ap.add_argument("--soak", type=int, default=0)
    ap.add_argument("--callgrind", type=int, default=1)
    ap.add_argument("--callgrind-n", type=int, default=2000)
    ap.add_argument("--stream-n", type=int, default=300)
    ap.add_argument("--stream-passes", type=int, default=3)
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()
    with open(args.env) as f:
        env = json.load(f)
    b = Bench(env, args)
    ts = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    git = subprocess.run(["git", "-C", env["root"], "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    result = {"timestamp": ts, "commit": git, "settings": vars(args) | {"db_fast": env["db_fast"]},
              "machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()},
              "levers": report.LEVERS}
    result["settings"].pop("env")
    log("sanity checks")
    b.sanity()
    log("warm-up")
    for t in TARGETS:
        b.wrk(t, 64, 2)
    result["rss_before_kb"] = b.children_rss("conduix")
    b.rounds(result)
    b.accounting(result)
    result["write_check"] = {t: b.write_check(t) for t in ("proxy", "conduix")}
    if args.soak:
        b.soak(result)
    result["rss_after_kb"] = b.children_rss("conduix")
    if args.callgrind:
        b.callgrind(result)
    result["machine"]["loadavg_end"] = os.getloadavg()
    result["summary"] = report.summarise(result)
    path = os.path.join(args.out_dir, ts + ".json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    report.print_table(result)
    print("\nfull figures: %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
