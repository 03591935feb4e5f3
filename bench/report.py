#!/usr/bin/python3
"""Summary and table of a benchmark result (bench/measure.py writes the JSON).

  bench/report.py bench/results/<timestamp>.json     # prints the table again

Medians over the interleaved rounds; overheads and ratios are computed within each
round (the same minute of machine weather for the three targets), then the median
of those is taken.
"""
import json
import statistics
import sys

# What mod_conduix does per request in this tree (bench/run configures the key so that
# every lever that exists runs and none refuses). Update when levers land.
LEVERS = {
    "on": ["auth (SHA-256 key lookup, per-child cache, ConduixKeyCacheTTL 5 s)",
           "request validation (full OpenAI schema check)",
           "catalog resolve (per-child snapshot)",
           "model allowlist (on the model and every fallback)",
           "rate limit (sliding window in shared memory; 1,000,000 rpm, far above the load)",
           "region filter (key without a region: every provider passes)",
           "spend caps: key daily/monthly and org daily/monthly (shared counters)",
           "wallet check (live key)",
           "PII redaction (key pii_mode=redact: every message string scanned)",
           "response cache lookup (bench requests are not temperature 0: never a hit)",
           "circuit breaker and provider budget checks per attempt (shared memory)",
           "upstream body rewrite (model id)",
           "response rewrite (model echo, usage read)",
           "usage row + ledger debit + rollups, batched, after the response"],
    "key settings": "allowed_models=[gpt-4o-mini, llama-3.3-70b-versatile, deepseek-chat], "
                    "rate_limit_rpm=1000000, pii_mode=redact, spend caps 1e7/1e8 credits",
}

TARGETS = ["direct", "proxy", "conduix"]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarise(res):
    runs = res["runs"]
    concs = sorted({r["conc"] for r in runs})
    rounds = sorted({r["round"] for r in runs})
    by = {(r["target"], r["conc"], r["round"]): r for r in runs}
    s = {"load": {}, "stream": {}}
    for c in concs:
        row = {}
        for t in TARGETS:
            rs = [by[(t, c, n)] for n in rounds if (t, c, n) in by]
            row[t] = {"rps": med(r["rps"] for r in rs),
                      "p50_us": med(r["latency_us"]["p50"] for r in rs),
                      "p99_us": med(r["latency_us"]["p99"] for r in rs),
                      "cpu_us_per_request": {g: med(r.get("cpu_us_per_request", {}).get(g) for r in rs)
                                             for g in ("proxy", "conduix", "mariadb", "nginx")
                                             if any(g in r.get("cpu_us_per_request", {}) for r in rs)},
                      "upstream_conns_per_1k": med(1000.0 * r["upstream_connections"] / max(1, r["upstream_requests"])
                                                   for r in rs) if t != "direct" else None}
        for t in ("proxy", "conduix"):
            pairs = [(by[(t, c, n)], by[("direct", c, n)]) for n in rounds
                     if (t, c, n) in by and ("direct", c, n) in by]
            row[t]["added_p50_us"] = med(a["latency_us"]["p50"] - d["latency_us"]["p50"] for a, d in pairs)
            row[t]["added_p99_us"] = med(a["latency_us"]["p99"] - d["latency_us"]["p99"] for a, d in pairs)
        pairs = [(by[("conduix", c, n)], by[("proxy", c, n)]) for n in rounds
                 if ("conduix", c, n) in by and ("proxy", c, n) in by]
        row["conduix"]["rps_ratio_to_proxy"] = med(a["rps"] / p["rps"] for a, p in pairs if p["rps"])
        row["conduix"]["rows_minus_200s_max"] = max(
            (by[("conduix", c, n)]["usage_rows"] - by[("conduix", c, n)]["ok"] for n in rounds
             if ("conduix", c, n) in by), default=None)
        s["load"][str(c)] = row
    streams = res.get("streams", [])
    for t in TARGETS:
        ss = [x for x in streams if x["target"] == t]
        s["stream"][t] = {
            "first_event_p50_us": med(x["stream"]["first_event_us_p50"] for x in ss),
            "stream_total_p50_us": med(x["stream"]["total_us_p50"] for x in ss),
            "paced_events": max((x["paced"]["events_max"] for x in ss), default=None),
            "paced_reads_with_events_min": min((x["paced"]["reads_with_events_min"] for x in ss), default=None),
            "paced_max_events_per_read": max((x["paced"]["max_events_per_read"] for x in ss), default=None),
        }
    for t in ("proxy", "conduix"):
        pairs = []
        for n in rounds:
            a = [x for x in streams if x["target"] == t and x["round"] == n]
            d = [x for x in streams if x["target"] == "direct" and x["round"] == n]
            if a and d:
                pairs.append(a[0]["stream"]["first_event_us_p50"] - d[0]["stream"]["first_event_us_p50"])
        s["stream"][t]["added_first_event_us"] = med(pairs)

    before, after = res.get("rss_before_kb", {}), res.get("rss_after_kb", {})
    common = sorted(set(before) & set(after), key=int)
    s["rss"] = {"children_before_kb": before, "children_after_kb": after,
                "same_children": len(common), "max_growth_kb": max(
                    (after[p] - before[p] for p in common), default=None)}
    if "soak" in res:
        soak = res["soak"]
        first, last = soak["samples"][1] if len(soak["samples"]) > 1 else soak["samples"][0], soak["samples"][-1]
        pids = sorted(set(first["rss_kb"]) & set(last["rss_kb"]), key=int)
        s["soak"] = {"requests": soak["requests"], "usage_rows": soak["usage_rows"],
                     "rss_growth_kb_after_first_chunk": {p: last["rss_kb"][p] - first["rss_kb"][p] for p in pids}}

    lc = s["load"]
    acc = res.get("accounting", {})
    cg = res.get("callgrind")
    c1 = lc.get("1", {}).get("conduix", {})
    c64 = lc.get("64", {}).get("conduix", {})
    st = s["stream"]["conduix"]
    wc = res.get("write_check", {}).get("conduix", {})
    s["targets"] = [
        {"target": "added latency c=1 p50 <= 150 us", "value": c1.get("added_p50_us"),
         "met": c1.get("added_p50_us") is not None and c1["added_p50_us"] <= 150},
        {"target": "added latency c=1 p99 <= 1000 us", "value": c1.get("added_p99_us"),
         "met": c1.get("added_p99_us") is not None and c1["added_p99_us"] <= 1000},
        {"target": "throughput c=64 >= 60% of mod_proxy", "value": c64.get("rps_ratio_to_proxy"),
         "met": c64.get("rps_ratio_to_proxy") is not None and c64["rps_ratio_to_proxy"] >= 0.6},
        {"target": "stream first event <= 200 us after direct", "value": st.get("added_first_event_us"),
         "met": st.get("added_first_event_us") is not None and st["added_first_event_us"] <= 200},
        {"target": "stream events never coalesced (strace: 1 event per write)",
         "value": wc.get("max_events_per_write"),
         "met": wc.get("max_events_per_write") == 1 and wc.get("events_written") == wc.get("writes_with_events")},
        {"target": "usage rows == 200 responses == ledger charges (c=64)",
         "value": [acc.get("ok"), acc.get("usage_rows"), acc.get("ledger_charges")],
         "met": bool(acc) and acc["ok"] == acc["usage_rows"] == acc["ledger_charges"]},
        {"target": "instructions/request <= 3x mod_proxy", "value": cg and cg["ratio"],
         "met": bool(cg) and cg["ratio"] <= 3.0},
    ]
    return s


def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def print_table(res):
    s = res["summary"]
    print("\nConduix benchmark %s (commit %s, %d rounds x %d s, medians)" % (
        res["timestamp"], res["commit"], res["settings"]["rounds"], res["settings"]["duration"]))
    print("\n%-4s %-8s %9s %9s %9s %10s %10s %9s %8s" % (
        "c", "target", "req/s", "p50 us", "p99 us", "+p50 us", "+p99 us", "vs proxy", "up/1k"))
    for c, row in sorted(s["load"].items(), key=lambda kv: int(kv[0])):
        for t in TARGETS:
            r = row[t]
            print("%-4s %-8s %9s %9s %9s %10s %10s %9s %8s" % (
                c, t, fmt(r["rps"]), fmt(r["p50_us"]), fmt(r["p99_us"]),
                fmt(r.get("added_p50_us")), fmt(r.get("added_p99_us")),
                fmt(r.get("rps_ratio_to_proxy"), "%.2f"), fmt(r.get("upstream_conns_per_1k"), "%.1f")))
    print("\n(+p50/+p99: added over direct, paired per round; up/1k: new upstream connections "
          "per 1000 requests)")
    print("\nCPU time per request, us (all threads, user+system; medians):")
    for c, row in sorted(s["load"].items(), key=lambda kv: int(kv[0])):
        for t in TARGETS:
            cpu = row[t].get("cpu_us_per_request") or {}
            if cpu:
                print("  c=%-3s %-8s %s" % (c, t, "  ".join("%s %.0f" % (g, v) for g, v in sorted(cpu.items())
                                                            if v is not None)))
    print("\nstreaming (50-chunk SSE): first event p50 / added over direct / paced: events, "
          "reads carrying events (min), most events in one read")
    for t in TARGETS:
        r = s["stream"][t]
        print("  %-8s %8s us  %8s us   %4s events  %4s reads  max %s per read" % (
            t, fmt(r["first_event_p50_us"]), fmt(r.get("added_first_event_us")),
            fmt(r["paced_events"]), fmt(r["paced_reads_with_events_min"]),
            fmt(r["paced_max_events_per_read"])))
    for t, wc in sorted(res.get("write_check", {}).items()):
        print("  strace %-8s %d paced streams: %d events in %d writes to the client, at most %s "
              "in one write" % (t, wc["streams"], wc["events_written"], wc["writes_with_events"],
                                wc["max_events_per_write"]))
    acc = res.get("accounting")
    if acc:
        print("\nusage accounting at c=64: %d responses 200, %d usage rows, %d ledger charges" % (
            acc["ok"], acc["usage_rows"], acc["ledger_charges"]))
    rss = s["rss"]
    print("children RSS kB before %s after %s (max growth %s kB)" % (
        sorted(rss["children_before_kb"].values()), sorted(rss["children_after_kb"].values()),
        fmt(rss["max_growth_kb"])))
    if "soak" in s:
        print("soak: %d requests, %d usage rows, RSS growth after the first chunk %s kB" % (
            s["soak"]["requests"], s["soak"]["usage_rows"],
            sorted(s["soak"]["rss_growth_kb_after_first_chunk"].values())))
    cg = res.get("callgrind")
    if cg:
        print("\ncallgrind instructions per request (apache2 -X, %d requests): mod_proxy %.0f, "
              "mod_conduix %.0f, ratio %.2f" % (cg["conduix"]["requests"],
                                                cg["proxy"]["instructions_per_request"],
                                                cg["conduix"]["instructions_per_request"], cg["ratio"]))
    print("\ntargets:")
    for t in s["targets"]:
        v = t["value"]
        if isinstance(v, float):
            v = "%.2f" % v
        print("  [%s] %-62s %s" % ("met" if t["met"] else "NOT met", t["target"], v))
    print("\nlevers on: " + "; ".join(res["levers"]["on"]))
    if res["levers"].get("not in this tree yet"):
        print("not in this tree yet: " + ", ".join(res["levers"]["not in this tree yet"]))


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        r = json.load(f)
    r["summary"] = summarise(r)
    print_table(r)
