/* Unit tests for cx_catalog: model resolution (canonical ids, aliases,
 * provider/model pins), fallback candidates and reference checking. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "cx_unit.h"
#include "cx_catalog.h"

#define SCOUT "meta-llama/Llama-4-Scout-17B-16E-Instruct"
#define HAIKU "claude-haiku-4-5-20251001"

/* Upstream ids: each provider spells llama-4-maverick differently. */
#define MAV_GROQ "meta-llama/llama-4-maverick-17b-128e-instruct"
#define MAV_TOGETHER "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"
#define MAV_FIREWORKS "accounts/fireworks/models/llama4-maverick-instruct-basic"
#define SCOUT_GROQ "meta-llama/llama-4-scout-17b-16e-instruct"

static const cx_price_t p_mini = { 165000000, 660000000 };
static const cx_price_t p_haiku = { 1100000000, 5500000000 };
static const cx_price_t p_flash = { 330000000, 2750000000 };
static const cx_price_t p_mav_groq = { 200000000, 600000000 };
static const cx_price_t p_mav_together = { 270000000, 850000000 };
static const cx_price_t p_mav_fireworks = { 220000000, 880000000 };
static const cx_price_t p_scout = { 110000000, 340000000 };

#define OK(expr) ck_assert_ptr_null(expr)

static void add_prov(cx_catalog_t *c, const char *name, cx_api_format_t fmt, const char *region,
                     int enabled)
{
    cx_provider_t p = {
        .name = name, .display_name = NULL, .region = region, .api_format = fmt,
        .base_url = "https://example.invalid/v1", .credential_ref = "env:KEY", .enabled = enabled,
    };
    OK(cx_catalog_add_provider(c, &p));
}

/* The test catalog. disabled_provider / disabled_model (may be NULL) are built
 * disabled. Models are added out of id order on purpose. */
static cx_catalog_t *build_unfinalized(const char *disabled_provider, const char *disabled_model)
{
    cx_catalog_t *c = cx_catalog_create(pool);
    const char *names[] = { "openai", "anthropic", "google", "groq", "together", "fireworks" };
    const cx_api_format_t fmts[] = { CX_API_OPENAI, CX_API_ANTHROPIC, CX_API_GOOGLE,
                                     CX_API_OPENAI, CX_API_OPENAI, CX_API_OPENAI };
    for (int i = 0; i < 6; i++)
        add_prov(c, names[i], fmts[i], "US",
                 !(disabled_provider && !strcmp(disabled_provider, names[i])));

#define EN(id) (!(disabled_model && !strcmp(disabled_model, (id))))
    OK(cx_catalog_add_model(c, "llama-4-maverick", "Llama 4 Maverick", "groq", "mid", "cheap-fast",
                            1048576, 8192, 1, p_mav_groq, EN("llama-4-maverick"), 1700000004));
    OK(cx_catalog_add_model(c, "gpt-4o-mini", "GPT-4o mini", "openai", "budget", "cheap-fast",
                            128000, 16384, 1, p_mini, EN("gpt-4o-mini"), 1700000001));
    OK(cx_catalog_add_model(c, SCOUT, "Llama 4 Scout", "groq", "budget", "cheap-fast",
                            131072, 8192, 1, p_scout, EN(SCOUT), 1700000005));
    OK(cx_catalog_add_model(c, HAIKU, "Claude Haiku 4.5", "anthropic", "mid", "cheap-fast",
                            200000, 64000, 1, p_haiku, EN(HAIKU), 1700000002));
    OK(cx_catalog_add_model(c, "gpt-3.5-turbo", NULL, "openai", "budget", NULL,
                            16385, 4096, 0, p_mini, 0, 1600000000));   /* always disabled */
    OK(cx_catalog_add_model(c, "gemini-2.5-flash", "Gemini 2.5 Flash", "google", "mid", "cheap-fast",
                            1048576, 65536, 1, p_flash, EN("gemini-2.5-flash"), 1700000003));
#undef EN

    OK(cx_catalog_add_deployment(c, "gpt-4o-mini", "openai", "gpt-4o-mini", p_mini));
    OK(cx_catalog_add_deployment(c, HAIKU, "anthropic", HAIKU, p_haiku));
    OK(cx_catalog_add_deployment(c, "gemini-2.5-flash", "google", "gemini-2.5-flash", p_flash));
    OK(cx_catalog_add_deployment(c, "llama-4-maverick", "groq", MAV_GROQ, p_mav_groq));
    OK(cx_catalog_add_deployment(c, "llama-4-maverick", "together", MAV_TOGETHER, p_mav_together));
    OK(cx_catalog_add_deployment(c, "llama-4-maverick", "fireworks", MAV_FIREWORKS, p_mav_fireworks));
    OK(cx_catalog_add_deployment(c, SCOUT, "groq", SCOUT_GROQ, p_scout));
    OK(cx_catalog_add_deployment(c, SCOUT, "together", SCOUT, p_scout));
    OK(cx_catalog_add_deployment(c, "gpt-3.5-turbo", "openai", NULL, p_mini));

    OK(cx_catalog_add_alias(c, "claude-haiku-4-5", HAIKU, NULL));
    OK(cx_catalog_add_alias(c, "maverick-fw", "llama-4-maverick", "fireworks"));
    OK(cx_catalog_add_alias(c, "gpt-3.5", "gpt-3.5-turbo", NULL));

    /* gpt-4o-mini -> claude-haiku -> gemini-flash */
    OK(cx_catalog_add_chain_entry(c, "gpt-4o-mini", "gpt-4o-mini", "openai"));
    OK(cx_catalog_add_chain_entry(c, "gpt-4o-mini", HAIKU, "anthropic"));
    OK(cx_catalog_add_chain_entry(c, "gpt-4o-mini", "gemini-2.5-flash", "google"));
    /* Maverick's chain deliberately differs from its deployment order. */
    OK(cx_catalog_add_chain_entry(c, "llama-4-maverick", "llama-4-maverick", "together"));
    OK(cx_catalog_add_chain_entry(c, "llama-4-maverick", "llama-4-maverick", "fireworks"));
    OK(cx_catalog_add_chain_entry(c, "llama-4-maverick", "llama-4-maverick", "groq"));
    /* gemini-2.5-flash, claude-haiku and Scout have no chain rows. */
    return c;
}

static cx_catalog_t *build(const char *disabled_provider, const char *disabled_model)
{
    cx_catalog_t *c = build_unfinalized(disabled_provider, disabled_model);
    cx_catalog_finalize(c);
    return c;
}

static const cx_deployment_t *cand(const apr_array_header_t *a, int i)
{
    ck_assert_int_lt(i, a->nelts);
    return APR_ARRAY_IDX(a, i, const cx_deployment_t *);
}

static void assert_dep(const cx_deployment_t *d, const char *model, const char *provider,
                       const char *upstream)
{
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->model->id, model);
    ck_assert_str_eq(d->provider->name, provider);
    ck_assert_str_eq(d->upstream_model, upstream);
}

/* Resolution must fail and leave *out cleared. */
static void assert_unresolved(const cx_catalog_t *c, const char *id)
{
    cx_resolved_t r = { (const cx_model_t *)1, (const cx_provider_t *)1 };
    ck_assert_msg(cx_catalog_resolve(c, id, &r) == 0, "%s resolved", id ? id : "(null)");
    ck_assert_ptr_null(r.model);
    ck_assert_ptr_null(r.pinned);
    ck_assert_int_eq(cx_catalog_candidates(pool, &r)->nelts, 0);
}

START_TEST(test_resolve_canonical)
{
    cx_catalog_t *c = build(NULL, NULL);
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "gpt-4o-mini", &r), 1);
    ck_assert_ptr_nonnull(r.model);
    ck_assert_str_eq(r.model->id, "gpt-4o-mini");
    ck_assert_ptr_null(r.pinned);
    ck_assert_str_eq(r.model->provider->name, "openai");
    ck_assert_str_eq(r.model->display_name, "GPT-4o mini");
    ck_assert_int_eq(r.model->context_window, 128000);
    ck_assert_int_eq(r.model->price.input_per_m, p_mini.input_per_m);
    ck_assert_int_eq(r.model->created, 1700000001);

    ck_assert_int_eq(cx_catalog_resolve(c, HAIKU, &r), 1);
    ck_assert_str_eq(r.model->id, HAIKU);
    ck_assert_ptr_null(r.pinned);
    /* Defaults for NULL optional fields. */
    ck_assert_int_eq(cx_catalog_resolve(c, "gpt-3.5-turbo", &r), 0);
    const cx_model_t *m35 = apr_hash_get(c->models, "gpt-3.5-turbo", APR_HASH_KEY_STRING);
    ck_assert_ptr_nonnull(m35);
    ck_assert_str_eq(m35->display_name, "gpt-3.5-turbo");
    ck_assert_str_eq(m35->swap_band, "none");
    assert_dep(cx_catalog_deployment(m35, "openai"), "gpt-3.5-turbo", "openai", "gpt-3.5-turbo");
}
END_TEST

START_TEST(test_resolve_alias)
{
    cx_catalog_t *c = build(NULL, NULL);
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "claude-haiku-4-5", &r), 1);
    ck_assert_str_eq(r.model->id, HAIKU);
    ck_assert_ptr_null(r.pinned);
    /* Aliases are not models: no list entry, no hash entry. */
    ck_assert_ptr_null(apr_hash_get(c->models, "claude-haiku-4-5", APR_HASH_KEY_STRING));
    /* Lookups are exact (case-sensitive). */
    assert_unresolved(c, "Claude-Haiku-4-5");
    assert_unresolved(c, "claude-haiku-4-5 ");
}
END_TEST

START_TEST(test_provider_pin)
{
    cx_catalog_t *c = build(NULL, NULL);
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "together/llama-4-maverick", &r), 1);
    ck_assert_str_eq(r.model->id, "llama-4-maverick");
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "together"));
    apr_array_header_t *a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 1);
    assert_dep(cand(a, 0), "llama-4-maverick", "together", MAV_TOGETHER);
    ck_assert_int_eq(cand(a, 0)->price.input_per_m, p_mav_together.input_per_m);
    ck_assert_int_eq(cand(a, 0)->price.output_per_m, p_mav_together.output_per_m);

    ck_assert_int_eq(cx_catalog_resolve(c, "fireworks/llama-4-maverick", &r), 1);
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "fireworks"));
    a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 1);
    assert_dep(cand(a, 0), "llama-4-maverick", "fireworks", MAV_FIREWORKS);

    /* A pin in front of an alias pins the alias's model. */
    ck_assert_int_eq(cx_catalog_resolve(c, "anthropic/claude-haiku-4-5", &r), 1);
    ck_assert_str_eq(r.model->id, HAIKU);
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "anthropic"));

    /* The bare id is not pinned and gets the whole chain. */
    ck_assert_int_eq(cx_catalog_resolve(c, "llama-4-maverick", &r), 1);
    ck_assert_ptr_null(r.pinned);
    ck_assert_int_eq(cx_catalog_candidates(pool, &r)->nelts, 3);
}
END_TEST

START_TEST(test_alias_row_with_provider_pins)
{
    cx_catalog_t *c = build(NULL, NULL);
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "maverick-fw", &r), 1);
    ck_assert_str_eq(r.model->id, "llama-4-maverick");
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "fireworks"));
    apr_array_header_t *a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 1);
    assert_dep(cand(a, 0), "llama-4-maverick", "fireworks", MAV_FIREWORKS);

    /* The same pin spelled out agrees with the alias; a different one conflicts. */
    ck_assert_int_eq(cx_catalog_resolve(c, "fireworks/maverick-fw", &r), 1);
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "fireworks"));
    assert_unresolved(c, "groq/maverick-fw");

    /* An alias row spelled like provider/model (002's form) is found as an alias. */
    OK(cx_catalog_add_alias(c, "tg/maverick", "llama-4-maverick", "together"));
    ck_assert_int_eq(cx_catalog_resolve(c, "tg/maverick", &r), 1);
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "together"));
    a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 1);
    assert_dep(cand(a, 0), "llama-4-maverick", "together", MAV_TOGETHER);
}
END_TEST

START_TEST(test_pin_on_provider_not_serving_fails)
{
    cx_catalog_t *c = build(NULL, NULL);
    assert_unresolved(c, "openai/llama-4-maverick");
    assert_unresolved(c, "groq/gpt-4o-mini");
    assert_unresolved(c, "google/claude-haiku-4-5");
    assert_unresolved(c, "fireworks/" SCOUT);
    /* Unknown provider prefix. */
    assert_unresolved(c, "nosuch/gpt-4o-mini");
    /* Two different pins conflict. */
    assert_unresolved(c, "groq/together/llama-4-maverick");
    assert_unresolved(c, "together/groq/llama-4-maverick");
}
END_TEST

START_TEST(test_unknown_ids)
{
    cx_catalog_t *c = build(NULL, NULL);
    assert_unresolved(c, "gpt-5-turbo-nonexistent");
    assert_unresolved(c, "");
    assert_unresolved(c, NULL);
    assert_unresolved(c, "/gpt-4o-mini");
    assert_unresolved(c, "together/");
    assert_unresolved(c, "together");
    assert_unresolved(c, "gpt-4o-mini/openai");
    /* A long prefix must not overflow anything. */
    char longid[300];
    memset(longid, 'x', sizeof longid);
    longid[200] = '/';
    memcpy(longid + 201, "gpt-4o-mini", 12);
    assert_unresolved(c, longid);
}
END_TEST

START_TEST(test_disabled_model_does_not_resolve)
{
    cx_catalog_t *c = build(NULL, NULL);
    assert_unresolved(c, "gpt-3.5-turbo");          /* canonical */
    assert_unresolved(c, "gpt-3.5");                /* alias */
    assert_unresolved(c, "openai/gpt-3.5-turbo");   /* pinned */

    c = build(NULL, "llama-4-maverick");
    assert_unresolved(c, "llama-4-maverick");
    assert_unresolved(c, "together/llama-4-maverick");
    assert_unresolved(c, "maverick-fw");
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "gpt-4o-mini", &r), 1);
}
END_TEST

START_TEST(test_canonical_id_with_slash)
{
    cx_catalog_t *c = build(NULL, NULL);
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, SCOUT, &r), 1);
    ck_assert_str_eq(r.model->id, SCOUT);
    ck_assert_ptr_null(r.pinned);

    ck_assert_int_eq(cx_catalog_resolve(c, "groq/" SCOUT, &r), 1);
    ck_assert_str_eq(r.model->id, SCOUT);
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "groq"));
    apr_array_header_t *a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 1);
    assert_dep(cand(a, 0), SCOUT, "groq", SCOUT_GROQ);

    ck_assert_int_eq(cx_catalog_resolve(c, "together/" SCOUT, &r), 1);
    a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 1);
    assert_dep(cand(a, 0), SCOUT, "together", SCOUT);

    /* The id's first segment is not a provider, and its tail is not a model. */
    assert_unresolved(c, "meta-llama/llama-4-maverick");
    assert_unresolved(c, "Llama-4-Scout-17B-16E-Instruct");

    /* A canonical id whose first segment IS a provider name: the canonical id
     * wins over a pin, and a real pin still works in front of it. */
    OK(cx_catalog_add_model(c, "openai/gpt-oss-120b", NULL, "groq", "mid", NULL, 131072, 32768,
                            0, p_scout, 1, 1700000006));
    OK(cx_catalog_add_deployment(c, "openai/gpt-oss-120b", "groq", "openai/gpt-oss-120b", p_scout));
    ck_assert_int_eq(cx_catalog_resolve(c, "openai/gpt-oss-120b", &r), 1);
    ck_assert_str_eq(r.model->id, "openai/gpt-oss-120b");
    ck_assert_ptr_null(r.pinned);
    ck_assert_int_eq(cx_catalog_resolve(c, "groq/openai/gpt-oss-120b", &r), 1);
    ck_assert_str_eq(r.model->id, "openai/gpt-oss-120b");
    ck_assert_ptr_eq(r.pinned, cx_catalog_provider(c, "groq"));
}
END_TEST

START_TEST(test_candidates_follow_chain_order)
{
    cx_catalog_t *c = build(NULL, NULL);
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "gpt-4o-mini", &r), 1);
    apr_array_header_t *a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 3);
    assert_dep(cand(a, 0), "gpt-4o-mini", "openai", "gpt-4o-mini");
    assert_dep(cand(a, 1), HAIKU, "anthropic", HAIKU);
    assert_dep(cand(a, 2), "gemini-2.5-flash", "google", "gemini-2.5-flash");
    /* Each candidate carries its own deployment's price. */
    ck_assert_int_eq(cand(a, 1)->price.output_per_m, p_haiku.output_per_m);

    /* Maverick: the chain order (together, fireworks, groq), not the order the
     * deployments were added in (groq, together, fireworks). */
    ck_assert_int_eq(cx_catalog_resolve(c, "llama-4-maverick", &r), 1);
    a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 3);
    assert_dep(cand(a, 0), "llama-4-maverick", "together", MAV_TOGETHER);
    assert_dep(cand(a, 1), "llama-4-maverick", "fireworks", MAV_FIREWORKS);
    assert_dep(cand(a, 2), "llama-4-maverick", "groq", MAV_GROQ);

    /* Candidates are a fresh array each time: editing one does not touch the chain. */
    apr_array_clear(a);
    ck_assert_int_eq(cx_catalog_candidates(pool, &r)->nelts, 3);
    ck_assert_int_eq(r.model->chain->nelts, 3);
}
END_TEST

START_TEST(test_disabled_provider_left_out)
{
    cx_catalog_t *c = build("anthropic", NULL);
    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "gpt-4o-mini", &r), 1);
    apr_array_header_t *a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 2);
    assert_dep(cand(a, 0), "gpt-4o-mini", "openai", "gpt-4o-mini");
    assert_dep(cand(a, 1), "gemini-2.5-flash", "google", "gemini-2.5-flash");
    /* The chain itself is intact: filtering happens per call. */
    ck_assert_int_eq(r.model->chain->nelts, 3);

    /* Pinned to the disabled provider: nothing to try. */
    ck_assert_int_eq(cx_catalog_resolve(c, "anthropic/claude-haiku-4-5", &r), 1);
    ck_assert_int_eq(cx_catalog_candidates(pool, &r)->nelts, 0);

    c = build("together", NULL);
    ck_assert_int_eq(cx_catalog_resolve(c, "llama-4-maverick", &r), 1);
    a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 2);
    assert_dep(cand(a, 0), "llama-4-maverick", "fireworks", MAV_FIREWORKS);
    assert_dep(cand(a, 1), "llama-4-maverick", "groq", MAV_GROQ);

    /* A disabled fallback model is skipped in another model's chain too. */
    c = build(NULL, "gemini-2.5-flash");
    ck_assert_int_eq(cx_catalog_resolve(c, "gpt-4o-mini", &r), 1);
    a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 2);
    assert_dep(cand(a, 0), "gpt-4o-mini", "openai", "gpt-4o-mini");
    assert_dep(cand(a, 1), HAIKU, "anthropic", HAIKU);
}
END_TEST

START_TEST(test_no_chain_rows_gets_deployments)
{
    cx_catalog_t *c = build_unfinalized(NULL, NULL);
    const cx_model_t *flash = apr_hash_get(c->models, "gemini-2.5-flash", APR_HASH_KEY_STRING);
    const cx_model_t *scout = apr_hash_get(c->models, SCOUT, APR_HASH_KEY_STRING);
    ck_assert_ptr_nonnull(flash);
    ck_assert_ptr_nonnull(scout);
    ck_assert_int_eq(flash->chain->nelts, 0);
    ck_assert_int_eq(scout->chain->nelts, 0);
    cx_catalog_finalize(c);

    ck_assert_int_eq(flash->chain->nelts, 1);
    assert_dep(APR_ARRAY_IDX(flash->chain, 0, const cx_deployment_t *), "gemini-2.5-flash",
               "google", "gemini-2.5-flash");

    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, SCOUT, &r), 1);
    apr_array_header_t *a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 2);
    assert_dep(cand(a, 0), SCOUT, "groq", SCOUT_GROQ);
    assert_dep(cand(a, 1), SCOUT, "together", SCOUT);

    /* A model with chain rows keeps exactly them. */
    const cx_model_t *mini = apr_hash_get(c->models, "gpt-4o-mini", APR_HASH_KEY_STRING);
    ck_assert_int_eq(mini->chain->nelts, 3);
    ck_assert_int_eq(mini->deployments->nelts, 1);
}
END_TEST

START_TEST(test_model_list_sorted)
{
    cx_catalog_t *c = build(NULL, NULL);
    static const char *const want[] = {
        HAIKU, "gemini-2.5-flash", "gpt-3.5-turbo", "gpt-4o-mini", "llama-4-maverick", SCOUT,
    };
    ck_assert_int_eq(c->model_list->nelts, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(APR_ARRAY_IDX(c->model_list, i, cx_model_t *)->id, want[i]);
    /* The list entries are the very models the hash holds. */
    for (int i = 0; i < 6; i++) {
        cx_model_t *m = APR_ARRAY_IDX(c->model_list, i, cx_model_t *);
        ck_assert_ptr_eq(apr_hash_get(c->models, m->id, APR_HASH_KEY_STRING), m);
    }
    ck_assert_int_eq((int)apr_hash_count(c->models), 6);
}
END_TEST

START_TEST(test_bad_references)
{
    cx_catalog_t *c = build_unfinalized(NULL, NULL);
    const char *e;

    e = cx_catalog_add_deployment(c, "no-such-model", "groq", "x", p_mini);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "no-such-model"));
    ck_assert_ptr_nonnull(strstr(e, "model"));

    e = cx_catalog_add_deployment(c, "gpt-4o-mini", "no-such-provider", "x", p_mini);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "no-such-provider"));
    ck_assert_ptr_nonnull(strstr(e, "provider"));
    const cx_model_t *mini = apr_hash_get(c->models, "gpt-4o-mini", APR_HASH_KEY_STRING);
    ck_assert_int_eq(mini->deployments->nelts, 1);

    e = cx_catalog_add_alias(c, "ghost", "no-such-model", NULL);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "ghost"));
    ck_assert_ptr_nonnull(strstr(e, "no-such-model"));

    /* Alias pinning a provider that does not serve the model, or does not exist. */
    e = cx_catalog_add_alias(c, "mini-on-groq", "gpt-4o-mini", "groq");
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "mini-on-groq"));
    e = cx_catalog_add_alias(c, "mini-on-nowhere", "gpt-4o-mini", "nowhere");
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "nowhere"));

    /* Chain entries: target model exists but not on that provider; unknown target
     * model; unknown owning model. */
    e = cx_catalog_add_chain_entry(c, "gpt-4o-mini", HAIKU, "openai");
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, HAIKU));
    ck_assert_ptr_nonnull(strstr(e, "openai"));
    e = cx_catalog_add_chain_entry(c, "gpt-4o-mini", "no-such-model", "openai");
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "no-such-model"));
    e = cx_catalog_add_chain_entry(c, "no-such-model", "gpt-4o-mini", "openai");
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "no-such-model"));
    ck_assert_int_eq(mini->chain->nelts, 3);

    e = cx_catalog_add_model(c, "orphan", NULL, "no-such-provider", NULL, NULL, 1, 1, 0, p_mini, 1, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e, "no-such-provider"));

    cx_provider_t nameless = { .name = "", .enabled = 1 };
    ck_assert_ptr_nonnull(cx_catalog_add_provider(c, &nameless));
    nameless.name = NULL;
    ck_assert_ptr_nonnull(cx_catalog_add_provider(c, &nameless));

    /* None of the rejected rows left a trace. */
    cx_catalog_finalize(c);
    ck_assert_int_eq(c->model_list->nelts, 6);
    ck_assert_ptr_null(cx_catalog_provider(c, ""));
    assert_unresolved(c, "ghost");
    assert_unresolved(c, "mini-on-groq");
    assert_unresolved(c, "mini-on-nowhere");
    assert_unresolved(c, "orphan");
    ck_assert_int_eq(mini->chain->nelts, 3);
}
END_TEST

/* Builders copy their strings: the caller's buffers may be reused at once. */
START_TEST(test_builders_copy_strings)
{
    cx_catalog_t *c = cx_catalog_create(pool);
    char name[32], model[32], upstream[32], alias[32];
    strcpy(name, "groq");
    cx_provider_t prov = { .name = name, .api_format = CX_API_OPENAI, .enabled = 1 };
    OK(cx_catalog_add_provider(c, &prov));
    strcpy(model, "m1");
    OK(cx_catalog_add_model(c, model, NULL, name, NULL, NULL, 1, 1, 0, p_mini, 1, 0));
    strcpy(upstream, "up-m1");
    OK(cx_catalog_add_deployment(c, model, name, upstream, p_mini));
    strcpy(alias, "a1");
    OK(cx_catalog_add_alias(c, alias, model, NULL));
    strcpy(name, "XXXX");
    strcpy(model, "XX");
    strcpy(upstream, "XXXXX");
    strcpy(alias, "XX");
    cx_catalog_finalize(c);

    const cx_provider_t *p = cx_catalog_provider(c, "groq");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->name, "groq");
    ck_assert_str_eq(p->display_name, "groq");   /* defaults to the name */
    ck_assert_str_eq(p->region, "US");           /* defaults to US */
    ck_assert_ptr_null(cx_catalog_provider(c, "XXXX"));
    ck_assert_ptr_null(cx_catalog_provider(c, NULL));

    cx_resolved_t r;
    ck_assert_int_eq(cx_catalog_resolve(c, "a1", &r), 1);
    ck_assert_str_eq(r.model->id, "m1");
    ck_assert_int_eq(cx_catalog_resolve(c, "groq/m1", &r), 1);
    apr_array_header_t *a = cx_catalog_candidates(pool, &r);
    ck_assert_int_eq(a->nelts, 1);
    assert_dep(cand(a, 0), "m1", "groq", "up-m1");
    assert_unresolved(c, "XX");
}
END_TEST

START_TEST(test_api_format_names)
{
    cx_api_format_t f = CX_API_GOOGLE;
    ck_assert_int_eq(cx_api_format_parse("openai", &f), 1);
    ck_assert_int_eq(f, CX_API_OPENAI);
    ck_assert_int_eq(cx_api_format_parse("anthropic", &f), 1);
    ck_assert_int_eq(f, CX_API_ANTHROPIC);
    ck_assert_int_eq(cx_api_format_parse("google", &f), 1);
    ck_assert_int_eq(f, CX_API_GOOGLE);
    ck_assert_int_eq(cx_api_format_parse("OpenAI", &f), 0);
    ck_assert_int_eq(cx_api_format_parse("", &f), 0);
    ck_assert_int_eq(cx_api_format_parse(NULL, &f), 0);
    ck_assert_int_eq(f, CX_API_GOOGLE);   /* untouched on failure */
    ck_assert_str_eq(cx_api_format_name(CX_API_OPENAI), "openai");
    ck_assert_str_eq(cx_api_format_name(CX_API_ANTHROPIC), "anthropic");
    ck_assert_str_eq(cx_api_format_name(CX_API_GOOGLE), "google");
}
END_TEST

static Suite *catalog_suite(void)
{
    Suite *s = suite_create("cx_catalog");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_resolve_canonical);
    tcase_add_test(tc, test_resolve_alias);
    tcase_add_test(tc, test_provider_pin);
    tcase_add_test(tc, test_alias_row_with_provider_pins);
    tcase_add_test(tc, test_pin_on_provider_not_serving_fails);
    tcase_add_test(tc, test_unknown_ids);
    tcase_add_test(tc, test_disabled_model_does_not_resolve);
    tcase_add_test(tc, test_canonical_id_with_slash);
    tcase_add_test(tc, test_candidates_follow_chain_order);
    tcase_add_test(tc, test_disabled_provider_left_out);
    tcase_add_test(tc, test_no_chain_rows_gets_deployments);
    tcase_add_test(tc, test_model_list_sorted);
    tcase_add_test(tc, test_bad_references);
    tcase_add_test(tc, test_builders_copy_strings);
    tcase_add_test(tc, test_api_format_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(catalog_suite());
}
