"""/v1/account/audit: filters, opaque cursor pagination in a stable order, and a CSV
export that parses and says exactly what the JSON says."""

from __future__ import annotations

import csv
import io
import json

import pytest

from accounts import admin_key, mint, minted_key, request
from harness import assert_error

INVALID = "invalid_request_error"


@pytest.fixture
def busy_org(gw, org_factory, key_factory):
    """An org whose audit log holds the operator's mint of the admin key (conduixctl),
    3 mints through the API (awkward names), 2 edits and 1 revoke."""
    org = org_factory("1")
    admin = admin_key(key_factory, org)
    names = ['plain', 'comma, and "quotes"', '=HYPERLINK("http://evil")']
    keys = [minted_key(mint(gw, admin, {"name": n}), org) for n in names]
    for k, cap in ((keys[0], "5"), (keys[1], {"daily": "1.5"})):
        r = request(gw, "PATCH", "/v1/keys/%d" % k.id, admin, {"spend_cap": cap})
        assert r.status_code == 200, r.text[:300]
    assert request(gw, "DELETE", "/v1/keys/%d" % keys[2].id, admin).status_code == 200
    return org, admin, keys


def _get(gw, key, query=""):
    r = gw.get("/v1/account/audit" + query, key)
    assert r.status_code == 200, r.text[:500]
    return r


def test_csv_export_parses_and_matches_json(gw, busy_org):
    org, admin, keys = busy_org
    doc = _get(gw, admin, "?format=json").json()
    events = doc["data"]
    assert [e["action"] for e in events] == ["key.create"] * 4 + ["key.update"] * 2 + ["key.revoke"]
    assert events[0]["actor_type"] == "operator" and events[1]["actor_type"] == "key"
    r = _get(gw, admin, "?format=csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers.get("content-disposition", "")
    assert r.text.endswith("\r\n")
    table = list(csv.reader(io.StringIO(r.text, newline="")))
    assert table[0] == ["id", "created_at", "actor_type", "actor_id", "actor_label", "ip", "request_id",
                        "action", "target", "detail"]
    assert len(table) == 1 + len(events)
    for row, e in zip(table[1:], events):
        cells = dict(zip(table[0], row))
        assert int(cells["id"]) == e["id"]
        for f in ("created_at", "actor_type", "ip", "request_id", "action", "target"):
            assert cells[f] == (e[f] or ""), f
        assert (int(cells["actor_id"]) if cells["actor_id"] else None) == e["actor_id"]
        assert cells["actor_label"] == e["actor_label"]
        assert (json.loads(cells["detail"]) if cells["detail"] else None) == e["detail"]
    # a name written as a formula is exported as text, not as a formula
    formula = [e for e in events if e["action"] == "key.create"][3]
    assert formula["detail"]["after"]["name"] == '=HYPERLINK("http://evil")'
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
    assert json.loads(table[4][9])["after"]["name"] == '=HYPERLINK("http://evil")'
    assert json.loads(table[3][9])["after"]["name"] == 'comma, and "quotes"'


def test_cursor_pagination_is_stable(gw, busy_org):
    org, admin, keys = busy_org
    everything = [e["id"] for e in _get(gw, admin).json()["data"]]
    seen, cursor = [], None
    while True:
        body = _get(gw, admin, "?limit=4" + ("&cursor=" + cursor if cursor else "")).json()
        seen += [e["id"] for e in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
        # a newer event does not shift the pages already read
        mint(gw, admin, {"name": "during paging"})
    assert seen[:len(everything)] == everything
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    # CSV pages carry their cursor in a header
    r = _get(gw, admin, "?format=csv&limit=2")
    page2 = _get(gw, admin, "?format=csv&limit=2&cursor=" + r.headers["x-conduix-next-cursor"])
    assert [int(row[0]) for row in list(csv.reader(io.StringIO(page2.text, newline="")))[1:]] == everything[2:4]
    assert_error(gw.get("/v1/account/audit?cursor=nonsense", admin), 400, None, INVALID, param="cursor")
    keys_cursor = gw.get("/v1/keys?limit=1", admin).json()["next_cursor"]
    assert_error(gw.get("/v1/account/audit?cursor=" + keys_cursor, admin), 400, None, INVALID, param="cursor")


def test_filters(gw, busy_org):
    org, admin, keys = busy_org
    events = _get(gw, admin).json()["data"]
    assert [e["action"] for e in _get(gw, admin, "?action=key.update").json()["data"]] == ["key.update"] * 2
    assert len(_get(gw, admin, "?action=key.*").json()["data"]) == 7
    assert _get(gw, admin, "?action=credits.*").json()["data"] == []
    rid = events[4]["request_id"]
    assert events[4]["action"] == "key.update" and rid
    only = _get(gw, admin, "?request_id=" + rid).json()
    assert [e["id"] for e in only["data"]] == [events[4]["id"]]
    assert only["usage"] is None    # a key edit is not a metered request
    first = events[0]["created_at"]
    assert _get(gw, admin, "?to=" + first[:19] + "Z").json()["data"] == []
    assert len(_get(gw, admin, "?from=2000-01-01&to=2999-01-01").json()["data"]) == 7
    for q, param in (("?action=DROP%20TABLE", "action"), ("?action=key.%25", "action"),
                     ("?from=2025-13-01", "from"), ("?format=xml", "format"), ("?limit=5000", "limit"),
                     ("?actor=me", "actor")):
        assert_error(gw.get("/v1/account/audit" + q, admin), 400, None, INVALID, param=param)


def test_audit_log_is_per_organization(gw, busy_org, org_factory, key_factory):
    org, admin, keys = busy_org
    stranger = admin_key(key_factory, org_factory("1"))
    mine = {e["id"] for e in _get(gw, admin).json()["data"]}
    theirs = {e["id"] for e in _get(gw, stranger).json()["data"]}
    assert mine and not (mine & theirs)
    rid = _get(gw, admin).json()["data"][1]["request_id"]
    assert rid
    assert _get(gw, stranger, "?request_id=" + rid).json()["data"] == []
