/* Unit tests for cx_swap (cheaper-model swaps) and the governance decisions of
 * cx_governance: every swap rule of 002 and SPEC §5 on a slice of the real
 * catalog, how header, key and org settings combine, and the validation of the
 * values operators store. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cx_unit.h"
#include "cx_governance.h"
#include "cx_json.h"
#include "cx_swap.h"
#include "gov_catalog.h"

static cx_catalog_t *cat;

static void setup(void)
{
    cx_unit_pool_setup();
    cat = gov_catalog(pool);
}

/* The gateway cannot send to Anthropic or Google yet (no adapter): like the
 * attempt loop, the swap must not pick them. */
static int openai_format_only(void *baton, const cx_deployment_t *d)
{
    (void)baton;
    return d->provider->api_format == CX_API_OPENAI;
}

typedef struct {
    const char *region;
    const char *allowlist;
    int tools;
    int vision;
    const char *never_from;   /* JSON arrays */
    const char *never_to;
    int any_provider;         /* routable = every provider */
} opts_t;

static apr_array_header_t *ids(const char *json)
{
    cx_org_settings_t s;
    cx_org_settings_init(pool, &s);
    if (json)
        ck_assert_ptr_null(cx_org_settings_apply(pool, &s, CX_SETTING_SWAP_NEVER_FROM, json));
    return s.swap_never_from;
}

/* Run the swap for a request of `requested` with the filters the gateway applies
 * first (allowlist, region), as conduix_governance.c does. */
static cx_swap_result_t swap(const char *requested, opts_t o)
{
    cx_resolved_t res;
    ck_assert(cx_catalog_resolve(cat, requested, &res));
    cx_allowlist_t *al = NULL;
    const char *err;
    ck_assert_int_eq(cx_allowlist_compile(pool, o.allowlist, cat, &al, &err), 0);
    apr_array_header_t *c = cx_allowlist_filter(pool, al, cx_catalog_candidates(pool, &res));
    c = cx_region_filter(pool, c, o.region);
    cx_swap_input_t in = {
        .cat = cat, .requested = res.model, .candidates = c, .allowlist = al, .region = o.region,
        .has_tools = o.tools, .has_vision = o.vision, .never_from = ids(o.never_from),
        .never_to = ids(o.never_to), .routable = o.any_provider ? NULL : openai_format_only,
    };
    cx_swap_result_t out;
    cx_swap_choose(pool, &in, &out);
    if (out.outcome != CX_SWAP_SWAPPED) {
        ck_assert_ptr_null(out.target);
        ck_assert_int_eq(out.candidates->nelts, c->nelts);   /* untouched */
    }
    return out;
}

static const char *target(cx_swap_result_t r)
{
    return r.target ? r.target->id : "(none)";
}

static const char *cand(const apr_array_header_t *a, int i)
{
    ck_assert_int_lt(i, a->nelts);
    const cx_deployment_t *d = APR_ARRAY_IDX(a, i, const cx_deployment_t *);
    return apr_psprintf(pool, "%s@%s", d->model->id, d->provider->name);
}

START_TEST(blend_is_three_to_one)
{
    ck_assert_int_eq(cx_swap_blend((cx_price_t){1, 1}), 4);
    ck_assert_int_eq(cx_swap_blend((cx_price_t){90000000, 180000000}), 450000000);
    /* 3:1 ranks a cheap-input model above a cheap-output one of equal sum. */
    ck_assert_int_lt(cx_swap_blend((cx_price_t){1, 9}), cx_swap_blend((cx_price_t){9, 1}));
}
END_TEST

START_TEST(cheapest_of_the_band)
{
    /* Flagship, every region: sarvam-30b ($0.03/$0.12) is the cheapest. */
    cx_swap_result_t r = swap("gpt-4o", (opts_t){0});
    ck_assert_int_eq(r.outcome, CX_SWAP_SWAPPED);
    ck_assert_str_eq(target(r), "sarvam-30b");
    /* US key: deepseek-v4-flash ($0.09/$0.18) beats deepseek-chat and maverick. */
    r = swap("gpt-4o", (opts_t){.region = "US"});
    ck_assert_str_eq(target(r), "deepseek-v4-flash");
    /* The target comes first; the original (in-region) candidates follow, so a
     * failing target falls back to what the caller asked for. */
    ck_assert_int_eq(r.candidates->nelts, 3);
    ck_assert_str_eq(cand(r.candidates, 0), "deepseek-v4-flash@deepseek");
    ck_assert_str_eq(cand(r.candidates, 1), "gpt-4o@openai");
    ck_assert_str_eq(cand(r.candidates, 2), SONNET4 "@anthropic");
    /* Swaps apply whatever spelling named the model. */
    ck_assert_str_eq(target(swap("claude-sonnet-4", (opts_t){.region = "US"})), "deepseek-v4-flash");
}
END_TEST

START_TEST(never_across_bands)
{
    /* deepseek-v4-flash (flagship, blend 0.45) is cheaper than gpt-5-nano
     * (cheap-fast, 0.55), but a cheap-fast request stays cheap-fast. */
    cx_swap_result_t r = swap("gpt-4o-mini", (opts_t){.region = "US"});
    ck_assert_str_eq(target(r), "gpt-5-nano");
    ck_assert_str_eq(r.target->swap_band, "cheap-fast");
    ck_assert_str_eq(target(swap("gpt-4o-mini", (opts_t){0})), "glm-4-flash");
}
END_TEST

START_TEST(never_for_band_none)
{
    ck_assert_int_eq(swap("o3", (opts_t){0}).outcome, CX_SWAP_BAND_NONE);
}
END_TEST

START_TEST(never_with_tools)
{
    ck_assert_int_eq(swap("gpt-4o", (opts_t){.tools = 1}).outcome, CX_SWAP_TOOLS);
    ck_assert_int_eq(swap("gpt-4o-mini", (opts_t){.tools = 1, .region = "US"}).outcome, CX_SWAP_TOOLS);
}
END_TEST

START_TEST(vision_needs_vision)
{
    /* With an image: only vision models qualify. US -> llama-4-maverick (groq, the
     * cheaper of its two deployments, first), not text-only deepseek-v4-flash. */
    cx_swap_result_t r = swap("gpt-4o", (opts_t){.region = "US", .vision = 1});
    ck_assert_str_eq(target(r), "llama-4-maverick");
    ck_assert(r.target->vision);
    ck_assert_str_eq(cand(r.candidates, 0), "llama-4-maverick@groq");
    ck_assert_str_eq(cand(r.candidates, 1), "llama-4-maverick@together");
    ck_assert_str_eq(cand(r.candidates, 2), "gpt-4o@openai");
    ck_assert_str_eq(target(swap("gpt-4o", (opts_t){.region = "APAC", .vision = 1})), "glm-4v-plus");
    /* Cheap-fast with an image in the US: gpt-5-nano is text-only, gpt-4o-mini is
     * already the cheapest vision model that can be routed -> no swap. */
    ck_assert_int_eq(swap("gpt-4o-mini", (opts_t){.region = "US", .vision = 1}).outcome,
                     CX_SWAP_NOTHING_CHEAPER);
    /* Without an image, a vision model may go to a text-only one. */
    ck_assert(!swap("gpt-4o", (opts_t){.region = "US"}).target->vision);
}
END_TEST

START_TEST(org_pinning)
{
    ck_assert_int_eq(swap("gpt-4o", (opts_t){.never_from = "[\"gpt-4o\"]"}).outcome, CX_SWAP_NEVER_FROM);
    /* Listed under an alias: the same model. */
    ck_assert_int_eq(swap("claude-sonnet-4", (opts_t){.never_from = "[\"" SONNET4 "\"]"}).outcome,
                     CX_SWAP_NEVER_FROM);
    ck_assert_int_eq(swap(SONNET4, (opts_t){.never_from = "[\"claude-sonnet-4\"]"}).outcome,
                     CX_SWAP_NEVER_FROM);
    /* Other models still swap. */
    ck_assert_str_eq(target(swap("grok-4", (opts_t){.region = "US", .never_from = "[\"gpt-4o\"]"})),
                     "deepseek-v4-flash");
    /* never_to: the next cheapest in the US is deepseek-chat. */
    cx_swap_result_t r = swap("gpt-4o", (opts_t){.region = "US", .never_to = "[\"deepseek-v4-flash\"]"});
    ck_assert_str_eq(target(r), "deepseek-chat");
    r = swap("gpt-4o", (opts_t){.region = "US", .never_to = "[\"deepseek/deepseek-v4-flash\", \"deepseek-chat\"]"});
    ck_assert_str_eq(target(r), "llama-4-maverick");
}
END_TEST

START_TEST(only_models_the_key_may_call)
{
    cx_swap_result_t r = swap("gpt-4o", (opts_t){.region = "US", .allowlist = "[\"gpt-4o\", \"deepseek-chat\"]"});
    ck_assert_str_eq(target(r), "deepseek-chat");
    ck_assert_int_eq(swap("gpt-4o", (opts_t){.region = "US", .allowlist = "[\"gpt-4o\"]"}).outcome,
                     CX_SWAP_NOTHING_CHEAPER);
    ck_assert_str_eq(target(swap("gpt-4o", (opts_t){.allowlist = "[\"tier:premium\"]"})), "qwen-vl-max");
}
END_TEST

START_TEST(only_in_region)
{
    /* EU: mistral-large is the only EU flagship, and it is what gets served. */
    ck_assert_int_eq(swap("mistral-large-2407", (opts_t){.region = "EU"}).outcome, CX_SWAP_NOTHING_CHEAPER);
    /* APAC flagship: sarvam-30b. */
    ck_assert_str_eq(target(swap("gpt-4o", (opts_t){.region = "APAC"})), "sarvam-30b");
    /* maverick's APAC-less deployments never enter an APAC swap. */
    cx_swap_result_t r = swap("gpt-4o", (opts_t){.region = "APAC", .vision = 1});
    for (int i = 0; i < r.candidates->nelts; i++)
        ck_assert_str_eq(APR_ARRAY_IDX(r.candidates, i, const cx_deployment_t *)->provider->region, "APAC");
}
END_TEST

START_TEST(only_when_cheaper)
{
    ck_assert_int_eq(swap("deepseek-v4-flash", (opts_t){.region = "US"}).outcome, CX_SWAP_NOTHING_CHEAPER);
    ck_assert_int_eq(swap("glm-4-flash", (opts_t){0}).outcome, CX_SWAP_NOTHING_CHEAPER);
    /* Nothing routable to compare with: leave the request alone. */
    ck_assert_int_eq(swap(HAIKU, (opts_t){.allowlist = "[\"" HAIKU "\"]"}).outcome, CX_SWAP_NO_BASELINE);
}
END_TEST

/* The baseline is what would really be served: Anthropic is not routable, so a
 * Sonnet request compares with its first routable fallback (gpt-4o). */
START_TEST(baseline_is_first_routable)
{
    cx_swap_result_t r = swap(SONNET4, (opts_t){.region = "US"});
    ck_assert_str_eq(target(r), "deepseek-v4-flash");
    /* With every provider routable, the target is the same (prices decide). */
    ck_assert_str_eq(target(swap(SONNET4, (opts_t){.region = "US", .any_provider = 1})), "deepseek-v4-flash");
}
END_TEST

START_TEST(ties_go_to_the_smaller_id)
{
    cx_catalog_t *c = cx_catalog_create(pool);
    gov_add_provider(c, "openai", "US", CX_API_OPENAI);
    gov_add_model(c, "big", "openai", "premium", "flagship", 0, 1000000, 1000000);
    gov_add_model(c, "zeta", "openai", "budget", "flagship", 0, 100000, 100000);
    gov_add_model(c, "alpha", "openai", "budget", "flagship", 0, 100000, 100000);
    cx_catalog_finalize(c);
    cx_resolved_t res;
    ck_assert(cx_catalog_resolve(c, "big", &res));
    cx_swap_input_t in = { .cat = c, .requested = res.model, .candidates = cx_catalog_candidates(pool, &res) };
    cx_swap_result_t out;
    cx_swap_choose(pool, &in, &out);
    ck_assert_str_eq(target(out), "alpha");
}
END_TEST

START_TEST(disabled_providers_and_models_are_skipped)
{
    cx_catalog_t *c = gov_catalog_unfinalized(pool);
    ((cx_provider_t *)cx_catalog_provider(c, "deepseek"))->enabled = 0;
    cx_catalog_finalize(c);
    cx_resolved_t res;
    ck_assert(cx_catalog_resolve(c, "gpt-4o", &res));
    cx_swap_input_t in = { .cat = c, .requested = res.model, .candidates = cx_catalog_candidates(pool, &res),
                           .region = "US", .routable = openai_format_only };
    cx_swap_result_t out;
    cx_swap_choose(pool, &in, &out);
    ck_assert_str_eq(target(out), "llama-4-maverick");
}
END_TEST

START_TEST(request_features)
{
    const char *err;
    const char *t = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    json_t *plain = cx_json_parse(pool, t, strlen(t), &err);
    ck_assert_ptr_nonnull(plain);
    ck_assert(!cx_swap_request_has_tools(plain));
    ck_assert(!cx_swap_request_has_vision(plain));
    t = "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"messages\":[]}";
    ck_assert(cx_swap_request_has_tools(cx_json_parse(pool, t, strlen(t), &err)));
    t = "{\"functions\":[{\"name\":\"f\"}],\"messages\":[]}";
    ck_assert(cx_swap_request_has_tools(cx_json_parse(pool, t, strlen(t), &err)));
    t = "{\"tools\":null,\"messages\":[]}";
    ck_assert(!cx_swap_request_has_tools(cx_json_parse(pool, t, strlen(t), &err)));
    t = "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"what is this\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}";
    ck_assert(cx_swap_request_has_vision(cx_json_parse(pool, t, strlen(t), &err)));
    t = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"image_url\"}]}]}";
    ck_assert(!cx_swap_request_has_vision(cx_json_parse(pool, t, strlen(t), &err)));
}
END_TEST

/* ---------------------------------------------------------------- decisions */

START_TEST(pii_precedence)
{
    /* header > key > org */
    ck_assert_int_eq(cx_pii_decide(-1, "inherit", 0), 0);
    ck_assert_int_eq(cx_pii_decide(-1, "inherit", 1), 1);
    ck_assert_int_eq(cx_pii_decide(-1, "redact", 0), 1);
    ck_assert_int_eq(cx_pii_decide(-1, "off", 1), 0);
    ck_assert_int_eq(cx_pii_decide(1, "off", 0), 1);
    ck_assert_int_eq(cx_pii_decide(0, "redact", 1), 0);
    ck_assert_int_eq(cx_pii_decide(-1, NULL, 1), 1);
}
END_TEST

START_TEST(swap_precedence)
{
    ck_assert_int_eq(cx_swap_decide(0, "inherit", 0), 0);
    ck_assert_int_eq(cx_swap_decide(0, "inherit", 1), 1);
    ck_assert_int_eq(cx_swap_decide(0, "on", 0), 1);
    ck_assert_int_eq(cx_swap_decide(0, "off", 1), 0);
    ck_assert_int_eq(cx_swap_decide(1, "on", 1), 0);   /* X-Gateway-Routing: explicit */
    ck_assert_int_eq(cx_swap_decide(0, NULL, 1), 1);
}
END_TEST

START_TEST(bool_header)
{
    ck_assert_int_eq(cx_parse_bool_header(NULL), -1);
    ck_assert_int_eq(cx_parse_bool_header("true"), 1);
    ck_assert_int_eq(cx_parse_bool_header(" TRUE "), 1);
    ck_assert_int_eq(cx_parse_bool_header("false"), 0);
    ck_assert_int_eq(cx_parse_bool_header("False"), 0);
    ck_assert_int_eq(cx_parse_bool_header("yes"), -2);
    ck_assert_int_eq(cx_parse_bool_header(""), -2);
    ck_assert_int_eq(cx_parse_bool_header("truee"), -2);
}
END_TEST

START_TEST(org_settings_rows)
{
    cx_org_settings_t s;
    cx_org_settings_init(pool, &s);
    ck_assert_int_eq(s.pii_default, 0);
    ck_assert_int_eq(s.swaps_enabled, 0);
    ck_assert_ptr_null(cx_org_settings_apply(pool, &s, "pii_default", "on"));
    ck_assert_ptr_null(cx_org_settings_apply(pool, &s, "swaps_enabled", "on"));
    ck_assert_ptr_null(cx_org_settings_apply(pool, &s, "swap_never_to", "[\"deepseek-v4-flash\"]"));
    ck_assert_ptr_null(cx_org_settings_apply(pool, &s, "dashboard_theme", "dark"));   /* not ours */
    ck_assert_int_eq(s.pii_default, 1);
    ck_assert_int_eq(s.swaps_enabled, 1);
    ck_assert_int_eq(s.swap_never_to->nelts, 1);
    ck_assert(cx_model_listed(cat, s.swap_never_to, gov_model(cat, "deepseek-v4-flash")));
    /* A malformed stored value keeps the default and says why. */
    ck_assert_ptr_nonnull(cx_org_settings_apply(pool, &s, "pii_default", "maybe"));
    ck_assert_int_eq(s.pii_default, 1);
    ck_assert_ptr_nonnull(cx_org_settings_apply(pool, &s, "swap_never_from", "gpt-4o"));
    ck_assert_int_eq(s.swap_never_from->nelts, 0);
}
END_TEST

START_TEST(org_setting_validation)
{
    const char *norm;
    ck_assert_ptr_null(cx_org_setting_validate(pool, cat, "pii_default", "ON", &norm));
    ck_assert_str_eq(norm, "on");
    ck_assert_ptr_null(cx_org_setting_validate(pool, cat, "swaps_enabled", "off", &norm));
    ck_assert_str_eq(norm, "off");
    ck_assert_ptr_null(cx_org_setting_validate(pool, cat, "swap_never_from", " [ \"gpt-4o\" , \"claude-haiku-4-5\" ] ", &norm));
    ck_assert_str_eq(norm, "[\"gpt-4o\",\"claude-haiku-4-5\"]");
    ck_assert_ptr_nonnull(cx_org_setting_validate(pool, cat, "swap_never_to", "[\"gpt-9\"]", &norm));
    ck_assert_ptr_nonnull(cx_org_setting_validate(pool, cat, "swap_never_to", "\"gpt-4o\"", &norm));
    ck_assert_ptr_nonnull(cx_org_setting_validate(pool, cat, "pii_default", "sometimes", &norm));
    ck_assert_ptr_nonnull(cx_org_setting_validate(pool, cat, "theme", "dark", &norm));
}
END_TEST

START_TEST(key_field_validation)
{
    const char *norm;
    cx_key_field_t f;
    ck_assert(cx_key_field_parse("region", &f));
    ck_assert_int_eq(f, CX_KEY_FIELD_REGION);
    ck_assert(!cx_key_field_parse("regions", &f));
    ck_assert_ptr_null(cx_key_field_validate(pool, cat, CX_KEY_FIELD_REGION, "eu", &norm));
    ck_assert_str_eq(norm, "EU");
    ck_assert_ptr_null(cx_key_field_validate(pool, cat, CX_KEY_FIELD_REGION, "none", &norm));
    ck_assert_ptr_null(norm);
    ck_assert_ptr_nonnull(cx_key_field_validate(pool, cat, CX_KEY_FIELD_REGION, "MARS", &norm));
    ck_assert_ptr_null(cx_key_field_validate(pool, cat, CX_KEY_FIELD_RATE_LIMIT, "60", &norm));
    ck_assert_str_eq(norm, "60");
    ck_assert_ptr_nonnull(cx_key_field_validate(pool, cat, CX_KEY_FIELD_RATE_LIMIT, "0", &norm));
    ck_assert_ptr_nonnull(cx_key_field_validate(pool, cat, CX_KEY_FIELD_RATE_LIMIT, "6O", &norm));
    ck_assert_ptr_null(cx_key_field_validate(pool, cat, CX_KEY_FIELD_PII_MODE, "redact", &norm));
    ck_assert_ptr_nonnull(cx_key_field_validate(pool, cat, CX_KEY_FIELD_PII_MODE, "on", &norm));
    ck_assert_ptr_null(cx_key_field_validate(pool, cat, CX_KEY_FIELD_SWAP_MODE, "on", &norm));
    ck_assert_ptr_nonnull(cx_key_field_validate(pool, cat, CX_KEY_FIELD_SWAP_MODE, "redact", &norm));
    ck_assert_ptr_null(cx_key_field_validate(pool, cat, CX_KEY_FIELD_ALLOWED_MODELS,
                                             "[ \"gpt-4o-mini\", \"tier:mid\" ]", &norm));
    ck_assert_str_eq(norm, "[\"gpt-4o-mini\",\"tier:mid\"]");
    ck_assert_ptr_null(cx_key_field_validate(pool, cat, CX_KEY_FIELD_ALLOWED_MODELS, "null", &norm));
    ck_assert_ptr_null(norm);
    ck_assert_ptr_nonnull(cx_key_field_validate(pool, cat, CX_KEY_FIELD_ALLOWED_MODELS, "[\"nope\"]", &norm));
}
END_TEST

static Suite *swap_suite(void)
{
    Suite *s = suite_create("swap");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, cx_unit_pool_teardown);
    tcase_add_test(tc, blend_is_three_to_one);
    tcase_add_test(tc, cheapest_of_the_band);
    tcase_add_test(tc, never_across_bands);
    tcase_add_test(tc, never_for_band_none);
    tcase_add_test(tc, never_with_tools);
    tcase_add_test(tc, vision_needs_vision);
    tcase_add_test(tc, org_pinning);
    tcase_add_test(tc, only_models_the_key_may_call);
    tcase_add_test(tc, only_in_region);
    tcase_add_test(tc, only_when_cheaper);
    tcase_add_test(tc, baseline_is_first_routable);
    tcase_add_test(tc, ties_go_to_the_smaller_id);
    tcase_add_test(tc, disabled_providers_and_models_are_skipped);
    tcase_add_test(tc, request_features);
    suite_add_tcase(s, tc);
    tc = tcase_create("decisions");
    tcase_add_checked_fixture(tc, setup, cx_unit_pool_teardown);
    tcase_add_test(tc, pii_precedence);
    tcase_add_test(tc, swap_precedence);
    tcase_add_test(tc, bool_header);
    tcase_add_test(tc, org_settings_rows);
    tcase_add_test(tc, org_setting_validation);
    tcase_add_test(tc, key_field_validation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(swap_suite());
}
