/* Unit tests for cx_allowlist (per-key model allowlists) and the region filter of
 * cx_governance: exact ids, aliases and pins matched on the canonical model,
 * tier:, byo: patterns, validation messages, and candidate filtering so that
 * fallbacks never leave the allowlist or the key's region. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cx_unit.h"
#include "cx_allowlist.h"
#include "cx_governance.h"
#include "gov_catalog.h"

static cx_catalog_t *cat;

static void setup(void)
{
    cx_unit_pool_setup();
    cat = gov_catalog(pool);
}

static cx_allowlist_t *compile(const char *json)
{
    cx_allowlist_t *al = (cx_allowlist_t *)1;
    const char *err = NULL;
    ck_assert_msg(cx_allowlist_compile(pool, json, cat, &al, &err) == 0, "compile %s: %s", json,
                  err ? err : "?");
    return al;
}

/* Does an allowlist admit the model the request id resolves to? */
static int admits(const char *json, const char *requested)
{
    return cx_allowlist_admits_model(compile(json), gov_model(cat, requested));
}

START_TEST(null_admits_everything)
{
    ck_assert_ptr_null(compile(NULL));
    ck_assert_ptr_null(compile("null"));
    ck_assert(admits(NULL, "o3"));
    ck_assert(admits("null", "gpt-4o"));
    ck_assert(cx_allowlist_admits_byo(NULL, "byo:acme/llama"));
}
END_TEST

START_TEST(empty_admits_nothing)
{
    cx_allowlist_t *al = compile("[]");
    ck_assert_ptr_nonnull(al);
    ck_assert(!cx_allowlist_admits_model(al, gov_model(cat, "gpt-4o-mini")));
    ck_assert(!cx_allowlist_admits_byo(al, "byo:acme/llama"));
}
END_TEST

START_TEST(exact_ids)
{
    const char *al = "[\"gpt-4o-mini\", \"deepseek-chat\"]";
    ck_assert(admits(al, "gpt-4o-mini"));
    ck_assert(admits(al, "deepseek-chat"));
    ck_assert(!admits(al, "gpt-4o"));
    ck_assert(!admits(al, "deepseek-v4-flash"));
}
END_TEST

/* SPEC/004: naming the dated id also admits the short alias and provider pins,
 * because both sides are compared as canonical models. */
START_TEST(aliases_match_on_canonical_model)
{
    const char *dated = "[\"" HAIKU "\"]";
    ck_assert(admits(dated, HAIKU));
    ck_assert(admits(dated, "claude-haiku-4-5"));
    ck_assert(admits(dated, "anthropic/claude-haiku-4-5"));
    const char *alias = "[\"claude-haiku-4-5\"]";
    ck_assert(admits(alias, HAIKU));
    ck_assert(admits(alias, "anthropic/claude-haiku-4-5"));
    const char *pinned = "[\"anthropic/claude-haiku-4-5\"]";
    ck_assert(admits(pinned, HAIKU));
    ck_assert(admits(pinned, "claude-haiku-4-5"));
    ck_assert(!admits(pinned, SONNET4));
    ck_assert(admits("[\"deepseek/deepseek-v4-flash\"]", "deepseek-v4-flash"));
}
END_TEST

START_TEST(tiers)
{
    const char *mid = "[\"tier:mid\"]";
    ck_assert(admits(mid, "gpt-4o-mini"));
    ck_assert(admits(mid, HAIKU));
    ck_assert(admits(mid, "gemini-2.5-flash"));
    ck_assert(!admits(mid, "gpt-4o"));
    ck_assert(!admits(mid, "o3"));
    ck_assert(admits("[\"tier:MID\"]", "glm-4v-plus"));
    const char *two = "[\"tier:budget\", \"gpt-4o\"]";
    ck_assert(admits(two, "deepseek-v4-flash"));
    ck_assert(admits(two, "gpt-4o"));
    ck_assert(!admits(two, SONNET4));
}
END_TEST

START_TEST(byo_patterns)
{
    cx_allowlist_t *all = compile("[\"byo:*\"]");
    ck_assert(cx_allowlist_admits_byo(all, "byo:acme/llama-3"));
    ck_assert(cx_allowlist_admits_byo(all, "byo:other/x"));
    ck_assert(!cx_allowlist_admits_model(all, gov_model(cat, "gpt-4o-mini")));
    ck_assert(!cx_allowlist_admits_byo(all, "gpt-4o-mini"));
    ck_assert(!cx_allowlist_admits_byo(all, "byo:noslash"));

    cx_allowlist_t *slug = compile("[\"byo:acme/*\", \"gpt-4o-mini\"]");
    ck_assert(cx_allowlist_admits_byo(slug, "byo:acme/llama-3"));
    ck_assert(cx_allowlist_admits_byo(slug, "byo:acme/m/with/slashes"));
    ck_assert(!cx_allowlist_admits_byo(slug, "byo:acmex/llama-3"));
    ck_assert(!cx_allowlist_admits_byo(slug, "byo:acm/llama-3"));
    ck_assert(cx_allowlist_admits_model(slug, gov_model(cat, "gpt-4o-mini")));

    cx_allowlist_t *one = compile("[\"byo:acme/llama-3\"]");
    ck_assert(cx_allowlist_admits_byo(one, "byo:acme/llama-3"));
    ck_assert(!cx_allowlist_admits_byo(one, "byo:acme/llama-4"));
}
END_TEST

/* An entry the catalog no longer knows matches only that exact id: a catalog
 * change can never widen what a key may call. */
START_TEST(unknown_entries_stay_literal)
{
    cx_catalog_t *c = gov_catalog_unfinalized(pool);
    GOV_OK(cx_catalog_add_model(c, "gpt-3.5-turbo", NULL, "openai", "budget", "none", 16385, 4096,
                                0, (cx_price_t){500000000, 1500000000}, 0, 1600000000));
    cx_catalog_finalize(c);
    cx_allowlist_t *al;
    const char *err;
    ck_assert_int_eq(cx_allowlist_compile(pool, "[\"gpt-3.5-turbo\", \"retired-model\"]", c, &al, &err), 0);
    const cx_model_t *old = apr_hash_get(c->models, "gpt-3.5-turbo", APR_HASH_KEY_STRING);
    ck_assert(cx_allowlist_admits_model(al, old));
    ck_assert(!cx_allowlist_admits_model(al, gov_model(c, "gpt-4o-mini")));
    ck_assert_int_eq(cx_allowlist_size(al), 2);
}
END_TEST

START_TEST(malformed_text_is_refused)
{
    static const char *const bad[] = {
        "{", "{\"a\":1}", "[1]", "[\"gpt-4o\", null]", "\"gpt-4o\"", "[\"tier:gold\"]",
        "[\"byo:\"]", "[\"byo:acme\"]", "[\"byo:Acme/*\"]", "[\"byo:acme/\"]", "[\"\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cx_allowlist_t *al = (cx_allowlist_t *)1;
        const char *err = NULL;
        ck_assert_msg(cx_allowlist_compile(pool, bad[i], cat, &al, &err) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_null(al);
        ck_assert_ptr_nonnull(err);
    }
}
END_TEST

START_TEST(validation_names_the_entry)
{
    ck_assert_ptr_null(cx_allowlist_validate(pool, "[\"gpt-4o-mini\", \"claude-haiku-4-5\", "
                                             "\"tier:mid\", \"byo:*\", \"byo:acme/*\", "
                                             "\"byo:acme/llama\"]", cat));
    ck_assert_ptr_null(cx_allowlist_validate(pool, NULL, cat));
    const char *why = cx_allowlist_validate(pool, "[\"gpt-4o\", \"gpt-9\"]", cat);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "allowed_models[1]"));
    ck_assert_ptr_nonnull(strstr(why, "gpt-9"));
    why = cx_allowlist_validate(pool, "[\"tier:gold\"]", cat);
    ck_assert_ptr_nonnull(strstr(why, "tier"));
    why = cx_allowlist_validate(pool, "[\"byo:acme\"]", cat);
    ck_assert_ptr_nonnull(strstr(why, "byo:<slug>"));
    why = cx_allowlist_validate(pool, "{\"models\":[]}", cat);
    ck_assert_ptr_nonnull(strstr(why, "array"));
}
END_TEST

/* ---------------------------------------------------------------- candidates */

static apr_array_header_t *candidates_of(const char *requested)
{
    cx_resolved_t res;
    ck_assert(cx_catalog_resolve(cat, requested, &res));
    return cx_catalog_candidates(pool, &res);
}

static const char *cand(const apr_array_header_t *a, int i)
{
    ck_assert_int_lt(i, a->nelts);
    const cx_deployment_t *d = APR_ARRAY_IDX(a, i, const cx_deployment_t *);
    return apr_psprintf(pool, "%s@%s", d->model->id, d->provider->name);
}

START_TEST(filter_drops_fallbacks_outside_the_allowlist)
{
    apr_array_header_t *all = candidates_of("gpt-4o-mini");
    ck_assert_int_eq(all->nelts, 3);
    apr_array_header_t *f = cx_allowlist_filter(pool, compile("[\"gpt-4o-mini\", \"gemini-2.5-flash\"]"), all);
    ck_assert_int_eq(f->nelts, 2);
    ck_assert_str_eq(cand(f, 0), "gpt-4o-mini@openai");
    ck_assert_str_eq(cand(f, 1), "gemini-2.5-flash@google");
    f = cx_allowlist_filter(pool, compile("[\"tier:mid\"]"), all);
    ck_assert_int_eq(f->nelts, 3);
    f = cx_allowlist_filter(pool, compile("[\"gpt-4o-mini\"]"), all);
    ck_assert_int_eq(f->nelts, 1);
    f = cx_allowlist_filter(pool, NULL, all);
    ck_assert_int_eq(f->nelts, 3);
}
END_TEST

START_TEST(region_filter_applies_to_fallbacks)
{
    apr_array_header_t *all = candidates_of("gpt-4o");   /* openai US, anthropic US, qwen APAC */
    apr_array_header_t *us = cx_region_filter(pool, all, "US");
    ck_assert_int_eq(us->nelts, 2);
    ck_assert_str_eq(cand(us, 0), "gpt-4o@openai");
    ck_assert_str_eq(cand(us, 1), SONNET4 "@anthropic");
    apr_array_header_t *apac = cx_region_filter(pool, all, "APAC");
    ck_assert_int_eq(apac->nelts, 1);
    ck_assert_str_eq(cand(apac, 0), "qwen-vl-max@qwen");
    ck_assert_int_eq(cx_region_filter(pool, all, "EU")->nelts, 0);
    ck_assert_int_eq(cx_region_filter(pool, all, NULL)->nelts, 3);

    apr_array_header_t *eu = cx_region_filter(pool, candidates_of("mistral-large-2407"), "EU");
    ck_assert_int_eq(eu->nelts, 1);
    ck_assert_str_eq(cand(eu, 0), "mistral-large-2407@mistral");
}
END_TEST

START_TEST(allowlist_then_region)
{
    /* APAC key allowed gpt-4o only: gpt-4o has no APAC deployment, and the APAC
     * fallback (qwen-vl-max) is not on the list -> nothing left. */
    apr_array_header_t *f = cx_allowlist_filter(pool, compile("[\"gpt-4o\"]"), candidates_of("gpt-4o"));
    ck_assert_int_eq(cx_region_filter(pool, f, "APAC")->nelts, 0);
    f = cx_allowlist_filter(pool, compile("[\"gpt-4o\", \"tier:premium\"]"), candidates_of("gpt-4o"));
    ck_assert_int_eq(cx_region_filter(pool, f, "APAC")->nelts, 1);
}
END_TEST

static Suite *allowlist_suite(void)
{
    Suite *s = suite_create("allowlist");
    TCase *tc = tcase_create("matching");
    tcase_add_checked_fixture(tc, setup, cx_unit_pool_teardown);
    tcase_add_test(tc, null_admits_everything);
    tcase_add_test(tc, empty_admits_nothing);
    tcase_add_test(tc, exact_ids);
    tcase_add_test(tc, aliases_match_on_canonical_model);
    tcase_add_test(tc, tiers);
    tcase_add_test(tc, byo_patterns);
    tcase_add_test(tc, unknown_entries_stay_literal);
    tcase_add_test(tc, malformed_text_is_refused);
    tcase_add_test(tc, validation_names_the_entry);
    suite_add_tcase(s, tc);
    tc = tcase_create("candidates");
    tcase_add_checked_fixture(tc, setup, cx_unit_pool_teardown);
    tcase_add_test(tc, filter_drops_fallbacks_outside_the_allowlist);
    tcase_add_test(tc, region_filter_applies_to_fallbacks);
    tcase_add_test(tc, allowlist_then_region);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(allowlist_suite());
}
