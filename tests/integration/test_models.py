"""GET /v1/models and GET /v1/models/{id}: the catalog from the database, with
the conduix extension on every entry (SPEC §3)."""

from __future__ import annotations

from decimal import Decimal

from harness import NANO, PROVIDERS, as_decimal, assert_error, json_decimal

EXT_FIELDS = {"display_name", "provider", "tier", "swap_band", "region", "context_window",
              "vision", "input_price_per_m_credits", "output_price_per_m_credits"}
TIERS = {"frontier", "premium", "mid", "budget"}
BANDS = {"flagship", "cheap-fast", "none"}
REGIONS = {"US", "EU", "APAC"}


def _check_entry(m: dict) -> None:
    assert isinstance(m.get("id"), str) and m["id"], m
    assert m.get("object") == "model", m
    assert isinstance(m.get("owned_by"), str) and m["owned_by"], m
    ext = m.get("conduix")
    assert isinstance(ext, dict), "no conduix extension: %r" % m
    missing = EXT_FIELDS - set(ext)
    assert not missing, "%s: conduix extension lacks %s" % (m["id"], sorted(missing))
    assert isinstance(ext["display_name"], str) and ext["display_name"], m
    assert ext["provider"] in PROVIDERS, m
    assert ext["tier"] in TIERS, m
    assert ext["swap_band"] in BANDS, m
    assert ext["region"] in REGIONS, m
    cw = ext["context_window"]
    assert isinstance(cw, int) and not isinstance(cw, bool) and cw > 0, m
    assert isinstance(ext["vision"], bool), m
    for f in ("input_price_per_m_credits", "output_price_per_m_credits"):
        assert as_decimal(ext[f]) >= 0, m


def test_models_list_shape(gw, live_key):
    r = gw.get("/v1/models", live_key)
    assert r.status_code == 200, r.text[:500]
    assert r.headers.get("content-type", "").startswith("application/json")
    body = json_decimal(r)
    assert body.get("object") == "list"
    data = body.get("data")
    assert isinstance(data, list)
    assert 40 <= len(data) <= 70, "expected about 50 catalog models, got %d" % len(data)
    for m in data:
        _check_entry(m)
    ids = [m["id"] for m in data]
    assert len(ids) == len(set(ids)), "duplicate ids in /v1/models"
    by_id = {m["id"]: m for m in data}
    assert "gpt-4o-mini" in by_id
    assert by_id["gpt-4o-mini"]["conduix"]["provider"] == "openai"
    assert by_id["gpt-4o-mini"]["conduix"]["tier"] == "mid"
    # every provider of the catalog serves at least one listed model
    assert {m["conduix"]["provider"] for m in data} == set(PROVIDERS)


def test_models_list_is_the_database_catalog(gw, live_key, db):
    data = gw.models(live_key)
    rows = db.query("SELECT m.*, p.region AS provider_region FROM models m "
                    "JOIN providers p ON p.name = m.provider WHERE m.enabled = 1")
    assert {m["id"] for m in data} == {r["id"] for r in rows}, "listed ids differ from the catalog"
    by_id = {r["id"]: r for r in rows}
    for m in data:
        row, ext = by_id[m["id"]], m["conduix"]
        assert ext["display_name"] == row["display_name"], m["id"]
        assert ext["provider"] == row["provider"], m["id"]
        assert ext["tier"] == row["tier"], m["id"]
        assert ext["swap_band"] == row["swap_band"], m["id"]
        assert ext["region"] == row["provider_region"], m["id"]
        assert ext["context_window"] == row["context_window"], m["id"]
        assert ext["vision"] == bool(row["vision"]), m["id"]
        assert as_decimal(ext["input_price_per_m_credits"]) == \
            Decimal(row["input_price_nano"]) / NANO, m["id"]
        assert as_decimal(ext["output_price_per_m_credits"]) == \
            Decimal(row["output_price_nano"]) / NANO, m["id"]


def test_model_by_canonical_id(gw, live_key):
    listed = {m["id"]: m for m in gw.models(live_key)}
    r = gw.get("/v1/models/gpt-4o-mini", live_key)
    assert r.status_code == 200, r.text[:500]
    m = json_decimal(r)
    _check_entry(m)
    assert m["id"] == "gpt-4o-mini"
    assert m["conduix"]["provider"] == "openai"
    assert m == listed["gpt-4o-mini"]


def test_model_by_alias_returns_canonical_entry(gw, live_key):
    r = gw.get("/v1/models/claude-haiku-4-5", live_key)
    assert r.status_code == 200, r.text[:500]
    m = json_decimal(r)
    _check_entry(m)
    assert m["id"] == "claude-haiku-4-5-20251001"
    assert m["conduix"]["provider"] == "anthropic"
    assert m == gw.model(live_key, "claude-haiku-4-5-20251001")


def test_unknown_model_is_404(gw, live_key):
    r = gw.get("/v1/models/no-such-model-3000", live_key)
    assert_error(r, 404, "model_not_found", "invalid_request_error")


def test_models_require_a_key(gw):
    assert_error(gw.get("/v1/models"), 401, "invalid_api_key", "invalid_request_error")
    assert_error(gw.get("/v1/models/gpt-4o-mini"), 401, "invalid_api_key", "invalid_request_error")
    assert_error(gw.get("/v1/models", "cx_live_" + "A" * 40), 401, "invalid_api_key")
    assert_error(gw.get("/v1/models", "garbage"), 401, "invalid_api_key")
