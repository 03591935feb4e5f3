/* A test catalog for the governance unit tests: a slice of sql/002_catalog_seed.sql
 * with its real tiers, swap bands, regions, vision flags, prices and chains, so the
 * tests exercise the decisions users will see. */
#ifndef GOV_CATALOG_H
#define GOV_CATALOG_H

#include <check.h>
#include <string.h>
#include "cx_catalog.h"

#define HAIKU "claude-haiku-4-5-20251001"
#define SONNET4 "claude-sonnet-4-20250514"

#define GOV_OK(expr) ck_assert_ptr_null(expr)

static void gov_add_provider(cx_catalog_t *c, const char *name, const char *region,
                             cx_api_format_t fmt)
{
    cx_provider_t p = {
        .name = name, .display_name = NULL, .region = region, .api_format = fmt,
        .base_url = "https://example.invalid/v1", .credential_ref = "env:KEY", .enabled = 1,
    };
    GOV_OK(cx_catalog_add_provider(c, &p));
}

/* Prices in millionths of a credit per 1M tokens, as in 002 ($0.15 -> 150000). */
static void gov_add_model(cx_catalog_t *c, const char *id, const char *provider, const char *tier,
                          const char *band, int vision, long long in_micro, long long out_micro)
{
    cx_price_t price = { in_micro * 1000, out_micro * 1000 };
    GOV_OK(cx_catalog_add_model(c, id, NULL, provider, tier, band, 128000, 8192, vision, price, 1,
                                1700000000));
    GOV_OK(cx_catalog_add_deployment(c, id, provider, id, price));
}

static cx_catalog_t *gov_catalog_unfinalized(apr_pool_t *p)
{
    cx_catalog_t *c = cx_catalog_create(p);
    gov_add_provider(c, "openai", "US", CX_API_OPENAI);
    gov_add_provider(c, "anthropic", "US", CX_API_ANTHROPIC);
    gov_add_provider(c, "google", "US", CX_API_GOOGLE);
    gov_add_provider(c, "groq", "US", CX_API_OPENAI);
    gov_add_provider(c, "together", "US", CX_API_OPENAI);
    gov_add_provider(c, "deepseek", "US", CX_API_OPENAI);
    gov_add_provider(c, "xai", "US", CX_API_OPENAI);
    gov_add_provider(c, "mistral", "EU", CX_API_OPENAI);
    gov_add_provider(c, "qwen", "APAC", CX_API_OPENAI);
    gov_add_provider(c, "glm", "APAC", CX_API_OPENAI);
    gov_add_provider(c, "sarvam", "APAC", CX_API_OPENAI);

    gov_add_model(c, "gpt-4o", "openai", "premium", "flagship", 1, 2500000, 10000000);
    gov_add_model(c, "gpt-4o-mini", "openai", "mid", "cheap-fast", 1, 150000, 600000);
    gov_add_model(c, "gpt-5-nano", "openai", "budget", "cheap-fast", 0, 50000, 400000);
    gov_add_model(c, "o3", "openai", "frontier", "none", 1, 2000000, 8000000);
    gov_add_model(c, HAIKU, "anthropic", "mid", "cheap-fast", 1, 1000000, 5000000);
    gov_add_model(c, SONNET4, "anthropic", "premium", "flagship", 1, 3000000, 15000000);
    gov_add_model(c, "gemini-2.5-flash", "google", "mid", "cheap-fast", 1, 300000, 2500000);
    gov_add_model(c, "llama-4-maverick", "groq", "budget", "flagship", 1, 200000, 600000);
    GOV_OK(cx_catalog_add_deployment(c, "llama-4-maverick", "together", "maverick-fp8",
                                     (cx_price_t){270000000, 850000000}));
    gov_add_model(c, "deepseek-v4-flash", "deepseek", "budget", "flagship", 0, 90000, 180000);
    gov_add_model(c, "deepseek-chat", "deepseek", "budget", "flagship", 0, 140000, 280000);
    gov_add_model(c, "grok-4", "xai", "premium", "flagship", 0, 3000000, 7500000);
    gov_add_model(c, "mistral-large-2407", "mistral", "premium", "flagship", 0, 2000000, 6000000);
    gov_add_model(c, "sarvam-30b", "sarvam", "budget", "flagship", 0, 30000, 120000);
    gov_add_model(c, "glm-4-flash", "glm", "budget", "cheap-fast", 0, 14000, 14000);
    gov_add_model(c, "glm-4v-plus", "glm", "mid", "flagship", 1, 690000, 690000);
    gov_add_model(c, "qwen-vl-max", "qwen", "premium", "flagship", 1, 800000, 3200000);

    GOV_OK(cx_catalog_add_alias(c, "claude-haiku-4-5", HAIKU, NULL));
    GOV_OK(cx_catalog_add_alias(c, "anthropic/claude-haiku-4-5", HAIKU, "anthropic"));
    GOV_OK(cx_catalog_add_alias(c, "claude-sonnet-4", SONNET4, NULL));
    GOV_OK(cx_catalog_add_alias(c, "deepseek/deepseek-v4-flash", "deepseek-v4-flash", "deepseek"));

    GOV_OK(cx_catalog_add_chain_entry(c, "gpt-4o", "gpt-4o", "openai"));
    GOV_OK(cx_catalog_add_chain_entry(c, "gpt-4o", SONNET4, "anthropic"));
    GOV_OK(cx_catalog_add_chain_entry(c, "gpt-4o", "qwen-vl-max", "qwen"));
    GOV_OK(cx_catalog_add_chain_entry(c, "gpt-4o-mini", "gpt-4o-mini", "openai"));
    GOV_OK(cx_catalog_add_chain_entry(c, "gpt-4o-mini", HAIKU, "anthropic"));
    GOV_OK(cx_catalog_add_chain_entry(c, "gpt-4o-mini", "gemini-2.5-flash", "google"));
    GOV_OK(cx_catalog_add_chain_entry(c, SONNET4, SONNET4, "anthropic"));
    GOV_OK(cx_catalog_add_chain_entry(c, SONNET4, "gpt-4o", "openai"));
    GOV_OK(cx_catalog_add_chain_entry(c, SONNET4, "mistral-large-2407", "mistral"));
    GOV_OK(cx_catalog_add_chain_entry(c, "mistral-large-2407", "mistral-large-2407", "mistral"));
    GOV_OK(cx_catalog_add_chain_entry(c, "mistral-large-2407", "gpt-4o", "openai"));
    GOV_OK(cx_catalog_add_chain_entry(c, "mistral-large-2407", "qwen-vl-max", "qwen"));
    return c;
}

static cx_catalog_t *gov_catalog(apr_pool_t *p)
{
    cx_catalog_t *c = gov_catalog_unfinalized(p);
    cx_catalog_finalize(c);
    return c;
}

static const cx_model_t *gov_model(const cx_catalog_t *c, const char *id)
{
    cx_resolved_t res;
    ck_assert_msg(cx_catalog_resolve(c, id, &res), "test catalog lacks %s", id);
    return res.model;
}

#endif
