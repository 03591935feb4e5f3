"""/v1/account/usage and /v1/account/usage/{request_id}: the totals equal the calls
made, per model, per key and per provider; rollups equal a direct SUM over
usage_events for any range, aligned or not; a request id gives its exact charge."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from accounts import credits, nano, reader_key, wait_status
from harness import NANO, assert_error

INVALID = "invalid_request_error"


def _usage(gw, key, **params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    r = gw.get("/v1/account/usage" + ("?" + q if q else ""), key)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def _numbers(row):
    return (row["requests"], row["prompt_tokens"], row["completion_tokens"], nano(row["spend"]))


def test_usage_totals_equal_the_calls_made(gw, db, org_factory, key_factory):
    org = org_factory("50")
    k1, k2 = key_factory(org, name="team one"), key_factory(org, name="team two")
    reader = reader_key(key_factory, org)
    plan = [(k1, "gpt-4o-mini")] * 4 + [(k1, "gpt-5-nano")] * 2 + [(k2, "gpt-4o-mini")] * 3 + \
        [(k2, "llama-3.3-70b-versatile")] * 2

    def call(i_kv):
        i, (key, model) = i_kv
        r = gw.chat(key, model=model, content="usage call %d %s" % (i, "word " * i))
        assert r.status_code == 200, r.text[:300]
        u = r.json()["usage"]
        return key.id, r.headers["x-conduix-model-served"], r.headers["x-conduix-provider"], \
            u["prompt_tokens"], u["completion_tokens"], nano(r.headers["x-conduix-cost-credits"])
    # concurrent calls: rollup rows are updated by several children at once
    with ThreadPoolExecutor(6) as ex:
        calls = list(ex.map(call, enumerate(plan)))
    assert len(db.wait_usage_rows(k1.id, 6)) == 6 and len(db.wait_usage_rows(k2.id, 5)) == 5

    def expect(index, key_id=None):
        agg = defaultdict(lambda: [0, 0, 0, 0])
        for c in calls:
            if key_id is not None and c[0] != key_id:
                continue
            a = agg[c[index]]
            a[0] += 1
            a[1] += c[3]
            a[2] += c[4]
            a[3] += c[5]
        return {k: tuple(v) for k, v in agg.items()}

    by_model = {row["model"]: _numbers(row) for row in _usage(gw, reader, group_by="model")["data"]}
    assert by_model == expect(1)
    doc = _usage(gw, reader, group_by="key")
    assert {row["key_id"]: _numbers(row) for row in doc["data"]} == expect(0)
    assert {row["key_id"]: row["key_name"] for row in doc["data"]} == {k1.id: "team one", k2.id: "team two"}
    doc = _usage(gw, reader, group_by="provider")
    assert {row["provider"]: _numbers(row) for row in doc["data"]} == expect(2)
    assert {row["provider"]: row["provider_name"] for row in doc["data"]} == {"openai": "OpenAI", "groq": "Groq"}
    total = (len(calls), sum(c[3] for c in calls), sum(c[4] for c in calls), sum(c[5] for c in calls))
    assert _numbers(doc["totals"]) == total
    assert doc["totals"]["total_tokens"] == total[1] + total[2]
    assert Decimal(doc["totals"]["spend"]) == sum(Decimal(c[5]) for c in calls) / NANO
    # one key only
    only = _usage(gw, reader, group_by="model", key_id=k2.id)
    assert {row["model"]: _numbers(row) for row in only["data"]} == expect(1, k2.id)
    # buckets: every call is in today's day bucket (or yesterday's, had it crossed
    # midnight); the hour buckets add up to the total
    today = dt.datetime.now(dt.timezone.utc).date()
    window = {"from": (today - dt.timedelta(days=1)).isoformat(),
              "to": (today + dt.timedelta(days=1)).isoformat()}
    days = _usage(gw, reader, bucket="day", **window)["data"]
    assert {d["bucket"] for d in days} <= {today.isoformat(), (today - dt.timedelta(days=1)).isoformat()}
    assert tuple(map(sum, zip(*[_numbers(d) for d in days]))) == total
    hours = _usage(gw, reader, bucket="hour", group_by="model", **window)
    assert all(h["bucket"].endswith(":00:00Z") for h in hours["data"])
    assert tuple(map(sum, zip(*[_numbers(h) for h in hours["data"]]))) == total

    # the rollup tables equal a direct SUM over usage_events
    direct = db.query("SELECT COALESCE(served_model, requested_model) AS model, key_id, "
                      "COALESCE(provider, '') AS provider, COUNT(*) AS n, SUM(prompt_tokens) AS pt, "
                      "SUM(completion_tokens) AS ct, SUM(cost_nano) AS cost, SUM(charged_nano) AS paid "
                      "FROM usage_events WHERE org_id=%s GROUP BY 1, 2, 3", (org,))
    def norm(rows):
        return sorted(tuple(int(v) if isinstance(v, Decimal) else v for v in r.values()) for r in rows)
    for table in ("usage_rollup_day", "usage_rollup_hour"):
        rolled = db.query("SELECT model, key_id, provider, SUM(requests) AS n, SUM(prompt_tokens) AS pt, "
                          "SUM(completion_tokens) AS ct, SUM(cost_nano) AS cost, SUM(charged_nano) AS paid "
                          "FROM %s WHERE org_id=%%s GROUP BY 1, 2, 3" % table, (org,))
        assert norm(rolled) == norm(direct), table
    # the all-keys hour table equals the same SUM without the key dimension
    direct = db.query("SELECT COALESCE(served_model, requested_model) AS model, "
                      "COALESCE(provider, '') AS provider, COUNT(*) AS n, SUM(prompt_tokens) AS pt, "
                      "SUM(completion_tokens) AS ct, SUM(cost_nano) AS cost, SUM(charged_nano) AS paid "
                      "FROM usage_events WHERE org_id=%s GROUP BY 1, 2", (org,))
    rolled = db.query("SELECT model, provider, SUM(requests) AS n, SUM(prompt_tokens) AS pt, "
                      "SUM(completion_tokens) AS ct, SUM(cost_nano) AS cost, SUM(charged_nano) AS paid "
                      "FROM usage_rollup_hour_org WHERE org_id=%s GROUP BY 1, 2", (org,))
    assert norm(rolled) == norm(direct), "usage_rollup_hour_org"
    # what each request cost its provider (list price: this org has no discount), and the
    # provider-hour rollup behind budget rebuilds equals the rows' sum, in one snapshot
    assert db.scalar("SELECT SUM(provider_cost_nano) FROM usage_events WHERE org_id=%s", (org,)) \
        == sum(c[5] for c in calls)
    mismatched = db.scalar(
        "SELECT COUNT(*) FROM (SELECT provider, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00') AS h, "
        "COUNT(*) AS n, SUM(provider_cost_nano) AS c FROM usage_events WHERE provider IS NOT NULL "
        "GROUP BY 1, 2) e LEFT JOIN usage_rollup_provider_hour r ON r.provider = e.provider "
        "AND r.hour = e.h WHERE r.requests IS NULL OR r.requests <> e.n OR r.provider_cost_nano <> e.c")
    assert mismatched == 0, "usage_rollup_provider_hour differs from usage_events"


# --- synthetic history: exactness of the range plan --------------------------------

BASE = dt.datetime(2025, 3, 29)   # three days of history from here (UTC)


@pytest.fixture(scope="module")
def history(stack):
    """An org with 400 usage rows spread over three days (some exactly on hour and
    day boundaries, some with nothing served), rollups built by conduixctl."""
    ctl, db = stack.ctl, stack.db
    org = ctl.org_create("usage-history", "1")
    keys = [ctl.key_create(org, name="hist-%d" % i) for i in range(3)]
    reader = ctl.key_create(org, name="hist-reader", scopes="account:read")
    rnd = random.Random(20250329)
    models = [("gpt-4o-mini", "openai"), ("gpt-5-nano", "openai"), ("llama-4-maverick", "groq"),
              ("llama-4-maverick", "together"), (None, None)]
    rows = []
    for i in range(400):
        if i < 12:   # boundaries: midnights, whole hours, the last microsecond of an hour
            t = BASE + dt.timedelta(hours=[0, 1, 23, 24, 25, 47, 48, 49, 71][i % 9],
                                    microseconds=0 if i < 9 else -1)
        else:
            t = BASE + dt.timedelta(seconds=rnd.randrange(0, 3 * 86400), microseconds=rnd.randrange(10**6))
        model, provider = models[rnd.randrange(len(models))]
        key = keys[rnd.randrange(len(keys))]
        pt, ct = rnd.randrange(1, 5000), (rnd.randrange(0, 2000) if model else 0)
        cost = rnd.randrange(0, 10**7) if model else 0
        rows.append(dict(request_id="cx-req-h%06d-%09d" % (org, i), org_id=org, key_id=key.id, mode="live",
                         endpoint="chat.completions", requested_model=model or "gpt-4o-mini",
                         served_model=model, provider=provider, status=200 if model else 503,
                         prompt_tokens=pt, completion_tokens=ct, cost_nano=cost,
                         charged_nano=cost if i % 5 else 0, created_at=t))
    conn = db()
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO usage_events (request_id, org_id, key_id, mode, endpoint, requested_model, "
                "served_model, provider, status, prompt_tokens, completion_tokens, cost_nano, charged_nano, "
                "created_at) VALUES (%(request_id)s, %(org_id)s, %(key_id)s, %(mode)s, %(endpoint)s, "
                "%(requested_model)s, %(served_model)s, %(provider)s, %(status)s, %(prompt_tokens)s, "
                "%(completion_tokens)s, %(cost_nano)s, %(charged_nano)s, %(created_at)s)", rows)
    finally:
        conn.close()
    assert "rebuilt" in ctl.run("usage-rebuild-rollups", "--org", str(org)).stdout
    return org, keys, reader, rows


def _expected(rows, start, end, bucket, group):
    out = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        if not (start <= r["created_at"] < end):
            continue
        b = None
        if bucket == "day":
            b = r["created_at"].strftime("%Y-%m-%d")
        elif bucket == "hour":
            b = r["created_at"].strftime("%Y-%m-%dT%H:00:00Z")
        g = {"model": r["served_model"] or r["requested_model"], "key": r["key_id"],
             "provider": r["provider"], None: None}[group]
        a = out[(b, g)]
        a[0] += 1
        a[1] += r["prompt_tokens"]
        a[2] += r["completion_tokens"]
        a[3] += r["charged_nano"]
    return {k: tuple(v) for k, v in out.items()}


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


RANGES = [
    (BASE, BASE + dt.timedelta(days=3)),                                   # whole days
    (BASE + dt.timedelta(hours=5, minutes=17, seconds=3),
     BASE + dt.timedelta(days=2, hours=7, minutes=41, seconds=59)),        # ragged ends
    (BASE + dt.timedelta(hours=1), BASE + dt.timedelta(hours=25)),         # whole hours
    (BASE + dt.timedelta(hours=23, minutes=30), BASE + dt.timedelta(hours=24, minutes=30)),  # across midnight
    (BASE + dt.timedelta(hours=30, minutes=5), BASE + dt.timedelta(hours=30, minutes=55)),   # inside one hour
    (BASE - dt.timedelta(days=2), BASE + dt.timedelta(days=5)),            # wider than the data
]


@pytest.mark.parametrize("rng", range(len(RANGES)))
@pytest.mark.parametrize("bucket,group", [(None, None), ("day", "model"), ("hour", "key"),
                                          (None, "provider"), ("day", None)])
def test_rollups_equal_direct_sums_for_any_range(gw, history, rng, bucket, group):
    org, keys, reader, rows = history
    start, end = RANGES[rng]
    params = {"from": _iso(start), "to": _iso(end)}
    if bucket:
        params["bucket"] = bucket
    if group:
        params["group_by"] = group
    doc = _usage(gw, reader, **params)
    field = {"model": "model", "key": "key_id", "provider": "provider", None: None}[group]
    got = {(row.get("bucket"), row[field] if field else None): _numbers(row) for row in doc["data"]}
    assert got == _expected(rows, start, end, bucket, group)
    keys_order = [(row.get("bucket") or "", str(row[field]) if field and row[field] is not None else "")
                  for row in doc["data"]]
    assert [k[0] for k in keys_order] == sorted(k[0] for k in keys_order), "rows not ordered by bucket"
    want_total = [0, 0, 0, 0]
    for v in got.values():
        want_total = [a + b for a, b in zip(want_total, v)]
    assert list(_numbers(doc["totals"])) == want_total


def test_date_only_range_and_key_filter(gw, history):
    org, keys, reader, rows = history
    doc = _usage(gw, reader, **{"from": "2025-03-30", "to": "2025-03-31", "key_id": keys[1].id,
                                "group_by": "model"})
    day = dt.datetime(2025, 3, 30)
    mine = [r for r in rows if r["key_id"] == keys[1].id]
    want = _expected(mine, day, day + dt.timedelta(days=1), None, "model")
    assert {(None, row["model"]): _numbers(row) for row in doc["data"]} == want
    assert doc["from"] == "2025-03-30T00:00:00Z" and doc["to"] == "2025-03-31T00:00:00Z"


def test_request_id_lookup_returns_the_exact_charge(gw, db, org_factory, key_factory):
    org = org_factory("10")
    key = key_factory(org)
    reader = reader_key(key_factory, org)
    unknown = gw.get("/v1/account/usage/cx-req-ffffffffffffffffffffffff", reader)
    err = assert_error(unknown, 404, "not_found", INVALID, param="request_id")
    assert "cx-req-ffffffffffffffffffffffff" in err["message"] and "yet" in err["message"]

    r = gw.chat(key, content="what did this cost exactly " + "x " * 37)
    assert r.status_code == 200, r.text[:300]
    rid = r.headers["x-conduix-request-id"]
    # eventually consistent: 404 until the row is written after the response
    got = wait_status(lambda: gw.get("/v1/account/usage/" + rid, reader), 200, timeout=5)
    assert got.status_code == 200, got.text[:300]
    doc = got.json()
    assert doc["request_id"] == rid and doc["key_id"] == key.id and doc["mode"] == "live"
    assert credits(doc["charged"]) == Decimal(r.headers["x-conduix-cost-credits"])
    assert doc["charged"] == doc["cost"] and credits(doc["charged"]) > 0
    assert len(doc["charged"].split(".")[1]) == 9
    assert doc["prompt_tokens"] == r.json()["usage"]["prompt_tokens"]
    assert doc["completion_tokens"] == r.json()["usage"]["completion_tokens"]
    assert doc["model"] == "gpt-4o-mini" and doc["provider"] == "openai"
    row = db.query("SELECT charged_nano FROM usage_events WHERE request_id=%s", (rid,))[0]
    assert nano(doc["charged"]) == row["charged_nano"]
    # the same request id is invisible to another organization
    other = reader_key(key_factory, org_factory("1"))
    assert_error(gw.get("/v1/account/usage/" + rid, other), 404, "not_found")
    # a test key: full cost recorded, nothing charged
    test_key = key_factory(org, test=True)
    t = gw.chat(test_key, content="free")
    tdoc = wait_status(lambda: gw.get("/v1/account/usage/" + t.headers["x-conduix-request-id"], reader),
                       200, timeout=5).json()
    assert tdoc["mode"] == "test" and tdoc["charged"] == "0.000000000" and credits(tdoc["cost"]) > 0


@pytest.mark.parametrize("query,param", [
    ("bucket=week", "bucket"),
    ("group_by=team", "group_by"),
    ("group=model", "group"),
    ("from=2025-02-30", "from"),
    ("from=yesterday", "from"),
    ("to=2025-01-01T25:00:00Z", "to"),
    ("from=2025-03-02&to=2025-03-01", "to"),
    ("from=2024-01-01&to=2025-03-01", "from"),
    ("bucket=hour&from=2025-01-01&to=2025-03-01", "bucket"),
    ("key_id=abc", "key_id"),
    ("bucket=day&bucket=hour", "bucket"),
])
def test_bad_usage_queries_name_the_parameter(gw, org_factory, key_factory, query, param):
    reader = reader_key(key_factory, org_factory("1"))
    assert_error(gw.get("/v1/account/usage?" + query, reader), 400, None, INVALID, param=param)


def test_empty_range_answers_zeros(gw, org_factory, key_factory):
    reader = reader_key(key_factory, org_factory("1"))
    doc = _usage(gw, reader, bucket="day", group_by="model", **{"from": "2020-01-01", "to": "2020-02-01"})
    assert doc["data"] == []
    assert _numbers(doc["totals"]) == (0, 0, 0, 0) and doc["totals"]["spend"] == "0.000000000"
    assert doc["bucket"] == "day" and doc["group_by"] == "model"
