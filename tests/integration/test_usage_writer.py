"""Usage rows are written by a per-child writer thread, many rows per transaction.
What a user (and the finance team) must still see: one usage row and one ledger debit
per request, a ledger whose running balance is exact row after row, and keys' last use
recorded, with several organisations' requests interleaved."""

from concurrent.futures import ThreadPoolExecutor

from harness import wait_for


def test_interleaved_orgs_get_exact_running_balances(gw, db, org_factory, key_factory):
    orgs = [org_factory("100"), org_factory("100")]
    keys = [key_factory(orgs[0]), key_factory(orgs[0]), key_factory(orgs[1])]
    jobs = [(keys[i % 3], "request %d %s" % (i, "pad " * (i % 7))) for i in range(60)]
    # enough concurrency that the writer finds several rows (of both orgs) per batch
    with ThreadPoolExecutor(12) as ex:
        responses = list(ex.map(lambda j: gw.chat(j[0], content=j[1]), jobs))
    assert all(r.status_code == 200 for r in responses), [r.text[:200] for r in responses
                                                          if r.status_code != 200][:3]
    cost = {r.headers["x-conduix-request-id"]: r.headers["x-conduix-cost-credits"] for r in responses}

    for org in orgs:
        mine = {rid for (k, _), r in zip(jobs, responses)
                if k.org_id == org for rid in [r.headers["x-conduix-request-id"]]}
        rows = wait_for(lambda: (lambda rs: rs if len(rs) >= len(mine) else None)(
            db.query("SELECT * FROM usage_events WHERE org_id=%s", (org,))), timeout=10)
        assert rows and {r["request_id"] for r in rows} == mine
        ledger = db.ledger_rows(org)
        charges = [l for l in ledger if l["kind"] == "charge"]
        assert sorted(l["request_id"] for l in charges) == sorted(mine), "one debit per request"
        by_id = {r["request_id"]: r for r in rows}
        for l in charges:
            assert l["amount_nano"] == -by_id[l["request_id"]]["charged_nano"]
        # the running balance is exact on every ledger row, in ledger order
        running = 0
        for l in ledger:
            running += l["amount_nano"]
            assert l["balance_after_nano"] == running, l
        assert running == db.balance_nano(org)
    for k in keys:
        assert db.scalar("SELECT last_used_at FROM api_keys WHERE id=%s", (k.id,)) is not None
    assert len(cost) == 60
