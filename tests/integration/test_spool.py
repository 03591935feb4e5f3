"""Usage survives a database outage: rows are spooled to disk while MariaDB is down and
replayed, exactly once, when it is back (SPEC §4: "+ spool when the DB is down")."""

from __future__ import annotations

from decimal import Decimal

import requests

from harness import NANO, wait_for


def _chat(session, gw, key, text):
    return session.post(gw.url("/v1/chat/completions"),
                        headers={"Authorization": "Bearer " + key.secret},
                        json={"model": "gpt-4o-mini",
                              "messages": [{"role": "user", "content": text}]},
                        timeout=30)


def test_usage_is_spooled_while_the_database_is_down(gw, db, stack, httpd, org_factory, key_factory):
    org = org_factory("100")
    key = key_factory(org)
    before = db.balance_nano(org)
    # One keep-alive connection: every request reaches the same child, which has seen the key.
    s = requests.Session()
    first = _chat(s, gw, key, "warm up")
    assert first.status_code == 200, first.text
    db.wait_usage_rows(key.id, 1)

    costs = [int(Decimal(first.headers["x-conduix-cost-credits"]) * NANO)]
    ids = [first.headers["x-conduix-request-id"]]
    stack.mariadb.stop()
    try:
        for i in range(3):
            r = _chat(s, gw, key, "while the database is down %d" % i)
            assert r.status_code == 200, r.text
            ids.append(r.headers["x-conduix-request-id"])
            costs.append(int(Decimal(r.headers["x-conduix-cost-credits"]) * NANO))
    finally:
        stack.mariadb.start()

    # The next recorded row finds the database healthy and replays the spool.
    r = _chat(s, gw, key, "the database is back")
    assert r.status_code == 200, r.text
    ids.append(r.headers["x-conduix-request-id"])
    costs.append(int(Decimal(r.headers["x-conduix-cost-credits"]) * NANO))

    rows = wait_for(lambda: (lambda rows: rows if len(rows) >= 5 else None)(db.usage_rows(key.id)),
                    timeout=15) or db.usage_rows(key.id)
    assert sorted(row["request_id"] for row in rows) == sorted(ids), "a usage row was lost or doubled"
    assert before - db.balance_nano(org) == sum(costs)
    charges = db.query("SELECT COUNT(*) AS n, SUM(amount_nano) AS s FROM credit_ledger "
                       "WHERE org_id=%s AND kind='charge'", (org,))[0]
    assert charges["n"] == 5 and -int(charges["s"]) == sum(costs)
    log = httpd.error_log.read_text(errors="replace")
    assert "CX0402" in log, "the outage did not go through the spool"
    assert "CX0403: usage spool replayed" in log
    s.close()
