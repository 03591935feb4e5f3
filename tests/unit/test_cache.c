/* Unit tests for the response cache: which requests are cacheable, key
 * normalisation, entries from JSON and from SSE streams, and replay. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cx_unit.h"
#include "cx_cache_entry.h"
#include "cx_cache_key.h"
#include "cx_json.h"

static json_t *J(const char *text)
{
    const char *err;
    json_t *j = cx_json_parse(pool, text, strlen(text), &err);
    ck_assert_msg(j != NULL, "bad test JSON: %s", text);
    return j;
}

static const char *key_of(const char *text, uint64_t org, const char *model, const char *pinned)
{
    const char *k = cx_cache_key(pool, org, model, pinned, J(text));
    ck_assert_ptr_nonnull(k);
    return k;
}

START_TEST(test_cacheable)
{
    ck_assert(cx_cache_cacheable(J("{\"messages\":[],\"temperature\":0}")));
    ck_assert(cx_cache_cacheable(J("{\"messages\":[],\"temperature\":0.0}")));
    ck_assert(cx_cache_cacheable(J("{\"messages\":[],\"temperature\":0,\"n\":1}")));
    ck_assert(cx_cache_cacheable(J("{\"messages\":[],\"temperature\":0,\"n\":null}")));
    ck_assert(cx_cache_cacheable(J("{\"messages\":[],\"temperature\":0,\"stream\":true}")));
    ck_assert(!cx_cache_cacheable(J("{\"messages\":[]}")));                       /* default 1 */
    ck_assert(!cx_cache_cacheable(J("{\"messages\":[],\"temperature\":0.2}")));
    ck_assert(!cx_cache_cacheable(J("{\"messages\":[],\"temperature\":\"0\"}")));
    ck_assert(!cx_cache_cacheable(J("{\"messages\":[],\"temperature\":0,\"n\":2}")));
}
END_TEST

START_TEST(test_key_normalisation)
{
    const char *a = key_of("{\"model\":\"gpt-4o-mini\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                           7, "gpt-4o-mini", NULL);
    ck_assert(!strncmp(a, "cx:cache:", 9));
    ck_assert_uint_eq(strlen(a), 9 + 64);
    /* member order, 0 vs 0.0, stream, stream_options, user and the alias used do not matter */
    const char *same[] = {
        "{\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}],\"temperature\":0.0,\"model\":\"gpt-4o-mini\"}",
        "{\"model\":\"gpt-4o-mini\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
        "{\"model\":\"openai/gpt-4o-mini\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"user\":\"u-123\"}",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        ck_assert_str_eq(key_of(same[i], 7, "gpt-4o-mini", NULL), a);
    /* what changes the answer changes the key */
    const char *base = "{\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    ck_assert_str_ne(key_of(base, 8, "gpt-4o-mini", NULL), a);                    /* org */
    ck_assert_str_ne(key_of(base, 7, "gpt-4o", NULL), a);                         /* model */
    ck_assert_str_ne(key_of(base, 7, "gpt-4o-mini", "openai"), a);                /* pinned */
    ck_assert_str_ne(key_of("{\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}]}",
                            7, "gpt-4o-mini", NULL), a);
    ck_assert_str_ne(key_of("{\"temperature\":0,\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                            7, "gpt-4o-mini", NULL), a);
    ck_assert_str_ne(key_of("{\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[]}",
                            7, "gpt-4o-mini", NULL), a);
    /* the canonical text itself */
    apr_size_t len;
    const char *canon = cx_cache_canonical(pool, J("{\"b\":1.0,\"a\":[0.5,{\"z\":2,\"y\":3.0}],\"stream\":false,\"model\":\"m\"}"), &len);
    ck_assert_str_eq(canon, "{\"a\":[0.5,{\"y\":3,\"z\":2}],\"b\":1}");
}
END_TEST

static const char *RESPONSE =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"asked\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello there\"},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":6,\"completion_tokens\":2,\"total_tokens\":8},\"system_fingerprint\":\"fp_x\"}";

START_TEST(test_entry_from_response_and_replay)
{
    apr_size_t len;
    char *e = cx_cache_entry_from_response(pool, "openai", "gpt-4o-mini", 6, 2, RESPONSE, strlen(RESPONSE), &len);
    ck_assert_ptr_nonnull(e);
    cx_cache_hit_t hit;
    ck_assert_int_eq(cx_cache_entry_parse(pool, e, len, &hit), 0);
    ck_assert_str_eq(hit.provider, "openai");
    ck_assert_str_eq(hit.served_model, "gpt-4o-mini");
    ck_assert_uint_eq(hit.prompt_tokens, 6);
    ck_assert_uint_eq(hit.completion_tokens, 2);
    char *body = cx_cache_replay_json(pool, &hit, "my-alias", &len);
    json_t *b = J(body);
    ck_assert_str_eq(json_string_value(json_object_get(b, "model")), "my-alias");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(
                         json_object_get(b, "choices"), 0), "message"), "content")), "Hello there");
    /* not a completion */
    ck_assert_ptr_null(cx_cache_entry_from_response(pool, "p", "m", 0, 0, "{\"error\":{}}", 12, &len));
    ck_assert_ptr_null(cx_cache_entry_from_response(pool, "p", "m", 0, 0, "nope", 4, &len));
    ck_assert_int_eq(cx_cache_entry_parse(pool, "{\"v\":2}", 7, &hit), -1);
    ck_assert_int_eq(cx_cache_entry_parse(pool, "garbage", 7, &hit), -1);
}
END_TEST

/* The SSE a client receives for a tool call, without a usage chunk. */
static const char *TOOL_STREAM =
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"loc\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ation\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: [DONE]\n\n";

START_TEST(test_entry_from_tool_call_stream)
{
    apr_size_t len;
    char *e = cx_cache_entry_from_sse(pool, "openai", "gpt-4o", 20, 4, TOOL_STREAM, strlen(TOOL_STREAM), &len);
    ck_assert_ptr_nonnull(e);
    cx_cache_hit_t hit;
    ck_assert_int_eq(cx_cache_entry_parse(pool, e, len, &hit), 0);
    json_t *choice = json_array_get(json_object_get(hit.response, "choices"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(choice, "finish_reason")), "tool_calls");
    json_t *msg = json_object_get(choice, "message");
    ck_assert(json_is_null(json_object_get(msg, "content")));
    json_t *tc = json_array_get(json_object_get(msg, "tool_calls"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(tc, "id")), "call_1");
    json_t *fn = json_object_get(tc, "function");
    ck_assert_str_eq(json_string_value(json_object_get(fn, "name")), "get_weather");
    ck_assert_str_eq(json_string_value(json_object_get(fn, "arguments")), "{\"location\":\"Paris\"}");
    /* usage filled from the counts the gateway billed */
    json_t *usage = json_object_get(hit.response, "usage");
    ck_assert_int_eq(json_integer_value(json_object_get(usage, "prompt_tokens")), 20);
    ck_assert_int_eq(json_integer_value(json_object_get(usage, "total_tokens")), 24);

    /* replayed as chunks, the stream assembles back to the same message */
    apr_array_header_t *chunks = cx_cache_replay_chunks(pool, &hit, "alias", 1);
    const char *sse = "";
    for (int i = 0; i < chunks->nelts; i++) {
        json_t *c = J(APR_ARRAY_IDX(chunks, i, const char *));
        ck_assert_str_eq(json_string_value(json_object_get(c, "object")), "chat.completion.chunk");
        ck_assert_str_eq(json_string_value(json_object_get(c, "model")), "alias");
        sse = apr_pstrcat(pool, sse, "data: ", APR_ARRAY_IDX(chunks, i, const char *), "\n\n", NULL);
    }
    json_t *last = J(APR_ARRAY_IDX(chunks, chunks->nelts - 1, const char *));
    ck_assert_int_eq(json_array_size(json_object_get(last, "choices")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(last, "usage"), "completion_tokens")), 4);
    sse = apr_pstrcat(pool, sse, "data: [DONE]\n\n", NULL);
    char *again = cx_cache_entry_from_sse(pool, "openai", "gpt-4o", 20, 4, sse, strlen(sse), &len);
    ck_assert_ptr_nonnull(again);
    cx_cache_hit_t hit2;
    ck_assert_int_eq(cx_cache_entry_parse(pool, again, len, &hit2), 0);
    json_t *msg2 = json_object_get(json_array_get(json_object_get(hit2.response, "choices"), 0), "message");
    ck_assert(json_equal(json_object_get(msg2, "tool_calls"), json_object_get(msg, "tool_calls")));

    /* without include_usage there is no usage chunk */
    chunks = cx_cache_replay_chunks(pool, &hit, "alias", 0);
    for (int i = 0; i < chunks->nelts; i++)
        ck_assert_ptr_null(json_object_get(J(APR_ARRAY_IDX(chunks, i, const char *)), "usage"));
}
END_TEST

START_TEST(test_incomplete_streams_are_not_entries)
{
    apr_size_t len;
    const char *chunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n";
    const char *fin = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                      "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    const char *ok = apr_pstrcat(pool, chunk, fin, "data: [DONE]\n\n", NULL);
    char *e = cx_cache_entry_from_sse(pool, "p", "m", 1, 1, ok, strlen(ok), &len);
    ck_assert_ptr_nonnull(e);
    cx_cache_hit_t hit;
    ck_assert_int_eq(cx_cache_entry_parse(pool, e, len, &hit), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(
                         json_object_get(hit.response, "choices"), 0), "message"), "content")), "Hi");
    const char *bad[] = {
        apr_pstrcat(pool, chunk, fin, NULL),                                      /* no [DONE] */
        apr_pstrcat(pool, chunk, "data: [DONE]\n\n", NULL),                       /* no finish */
        apr_pstrcat(pool, chunk, "data: {\"error\":{\"message\":\"cut\"}}\n\n", NULL),
        apr_pstrcat(pool, chunk, fin, "data: [DONE]\n\n", chunk, NULL),           /* data after [DONE] */
        apr_pstrcat(pool, chunk, fin, "data: [DO", NULL),                         /* cut mid-event */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(cx_cache_entry_from_sse(pool, "p", "m", 1, 1, bad[i], strlen(bad[i]), &len) == NULL,
                      "case %zu was accepted", i);
}
END_TEST

static Suite *cache_suite(void)
{
    Suite *s = suite_create("cx_cache");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_cacheable);
    tcase_add_test(tc, test_key_normalisation);
    tcase_add_test(tc, test_entry_from_response_and_replay);
    tcase_add_test(tc, test_entry_from_tool_call_stream);
    tcase_add_test(tc, test_incomplete_streams_are_not_entries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(cache_suite());
}
