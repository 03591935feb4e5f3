/* Golden tests for cx_openai: the upstream request body, the rewrite of
 * non-streaming responses and of stream chunks, and error-body parsing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cx_unit.h"
#include "cx_json.h"
#include "cx_jparse.h"
#include "cx_openai.h"

/* Parse a test literal; owned by the pool. */
static json_t *J(const char *s)
{
    const char *err = NULL;
    json_t *j = cx_json_parse(pool, s, strlen(s), &err);
    ck_assert_msg(j != NULL, "bad test JSON: %s", err ? err : "?");
    return j;
}

static char *dump(const json_t *j)
{
    char *s = cx_json_dump(pool, j, NULL);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void assert_bytes(const char *got, apr_size_t got_len, const char *want)
{
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(got_len == strlen(want) && memcmp(got, want, got_len) == 0,
                  "\n got: %.*s\nwant: %s", (int)got_len, got, want);
    ck_assert_int_eq(got[got_len], '\0');
}

/* ------------------------------------------------------------ upstream body */

#define REQ_HEAD \
    "{\"model\":\"llama-4-maverick\"," \
    "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"}," \
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"h\xc3\xa9llo\"}," \
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.invalid/a.png\",\"detail\":\"low\"}}]}]," \
    "\"temperature\":0.7,\"top_p\":1.0,\"max_tokens\":64,\"n\":1,\"seed\":-3," \
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"," \
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]," \
    "\"response_format\":{\"type\":\"json_object\"},\"user\":\"u-1\""

START_TEST(test_upstream_body_non_stream)
{
    json_t *req = J(REQ_HEAD ",\"stream\":false}");
    char *before = dump(req);
    apr_size_t len = 0;
    char *body = cx_openai_upstream_body(pool, req, "meta-llama/llama-4-maverick-17b-128e-instruct",
                                         0, &len);
    /* Model replaced in place; everything else identical and in order; no
     * stream_options added. */
    const char *want_prefix = "{\"model\":\"meta-llama/llama-4-maverick-17b-128e-instruct\",";
    const char *rest = strchr(REQ_HEAD, ',') + 1;
    char *want = apr_pstrcat(pool, want_prefix, rest, ",\"stream\":false}", NULL);
    assert_bytes(body, len, want);
    ck_assert_ptr_null(strstr(body, "stream_options"));
    ck_assert_str_eq(dump(req), before);

    /* No "stream" member at all: still no stream_options. */
    req = J("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    body = cx_openai_upstream_body(pool, req, "gpt-4o-mini-2024-07-18", 0, &len);
    assert_bytes(body, len, "{\"model\":\"gpt-4o-mini-2024-07-18\","
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
}
END_TEST

START_TEST(test_upstream_body_stream_adds_include_usage)
{
    json_t *req = J(REQ_HEAD ",\"stream\":true}");
    char *before = dump(req);
    apr_size_t len = 0;
    char *body = cx_openai_upstream_body(pool, req, "up-id", 1, &len);
    const char *rest = strchr(REQ_HEAD, ',') + 1;
    assert_bytes(body, len, apr_pstrcat(pool, "{\"model\":\"up-id\",", rest,
                                        ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                                        NULL));
    ck_assert_str_eq(dump(req), before);
    ck_assert_ptr_null(json_object_get(req, "stream_options"));
    ck_assert_str_eq(json_string_value(json_object_get(req, "model")), "llama-4-maverick");
}
END_TEST

START_TEST(test_upstream_body_stream_keeps_other_stream_options)
{
    /* The client said include_usage:false and passed another member: upstream
     * gets include_usage:true (same position) and the other member as is. */
    const char *src = "{\"model\":\"m\",\"stream\":true,"
                      "\"stream_options\":{\"include_usage\":false,\"continuous_usage_stats\":true},"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    json_t *req = J(src);
    apr_size_t len = 0;
    char *body = cx_openai_upstream_body(pool, req, "up", 1, &len);
    assert_bytes(body, len, "{\"model\":\"up\",\"stream\":true,"
                 "\"stream_options\":{\"include_usage\":true,\"continuous_usage_stats\":true},"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    /* The client's request, including its nested stream_options, is untouched. */
    ck_assert_str_eq(dump(req), dump(J(src)));
    ck_assert_int_eq(cx_openai_client_wants_usage(req), 0);

    /* Without include_usage in the client's object: appended after its members. */
    req = J("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"x\":[1,2]}}");
    body = cx_openai_upstream_body(pool, req, "up", 1, &len);
    assert_bytes(body, len, "{\"model\":\"up\",\"stream\":true,"
                 "\"stream_options\":{\"x\":[1,2],\"include_usage\":true}}");
    ck_assert_str_eq(dump(req), "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"x\":[1,2]}}");

    /* A client that already asked: unchanged apart from the model. */
    req = J("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    body = cx_openai_upstream_body(pool, req, "up", 1, &len);
    assert_bytes(body, len, "{\"model\":\"up\",\"stream\":true,"
                 "\"stream_options\":{\"include_usage\":true}}");

    /* A non-object stream_options is replaced by a proper one. */
    req = J("{\"model\":\"m\",\"stream\":true,\"stream_options\":null}");
    body = cx_openai_upstream_body(pool, req, "up", 1, &len);
    assert_bytes(body, len, "{\"model\":\"up\",\"stream\":true,"
                 "\"stream_options\":{\"include_usage\":true}}");
    ck_assert(json_is_null(json_object_get(req, "stream_options")));
}
END_TEST

START_TEST(test_client_wants_usage)
{
    ck_assert_int_eq(cx_openai_client_wants_usage(
        J("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}")), 1);
    ck_assert_int_eq(cx_openai_client_wants_usage(
        J("{\"stream\":true,\"stream_options\":{\"foo\":1,\"include_usage\":true}}")), 1);
    ck_assert_int_eq(cx_openai_client_wants_usage(
        J("{\"stream\":true,\"stream_options\":{\"include_usage\":false}}")), 0);
    ck_assert_int_eq(cx_openai_client_wants_usage(
        J("{\"stream\":true,\"stream_options\":{\"include_usage\":\"true\"}}")), 0);
    ck_assert_int_eq(cx_openai_client_wants_usage(
        J("{\"stream\":true,\"stream_options\":{\"include_usage\":1}}")), 0);
    ck_assert_int_eq(cx_openai_client_wants_usage(J("{\"stream\":true,\"stream_options\":{}}")), 0);
    ck_assert_int_eq(cx_openai_client_wants_usage(J("{\"stream\":true,\"stream_options\":true}")), 0);
    ck_assert_int_eq(cx_openai_client_wants_usage(J("{\"stream\":true}")), 0);
    ck_assert_int_eq(cx_openai_client_wants_usage(J("{\"include_usage\":true}")), 0);
}
END_TEST

/* ------------------------------------------------------- non-stream rewrite */

#define RESP_A \
    "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion\"," \
    "\"created\":1741570283,\"model\":"
#define RESP_B \
    ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\"," \
    "\"content\":\"The image shows a wooden boardwalk.\",\"refusal\":null,\"annotations\":[]}," \
    "\"logprobs\":null,\"finish_reason\":\"stop\"}]," \
    "\"usage\":{\"prompt_tokens\":1117,\"completion_tokens\":46,\"total_tokens\":1163," \
    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0}," \
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0," \
    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}," \
    "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fc9f1d7035\"," \
    "\"x_extra\":{\"temperature\":0.5,\"big\":9007199254740993,\"neg\":-12,\"f\":false}}"

START_TEST(test_rewrite_response_golden)
{
    const char *body = RESP_A "\"gpt-4o-mini-2024-07-18\"" RESP_B;
    cx_usage_t u = {0};
    apr_size_t len = 0;
    char *out = cx_openai_rewrite_response(pool, body, strlen(body), "gpt-4o-mini", &u, &len);
    assert_bytes(out, len, RESP_A "\"gpt-4o-mini\"" RESP_B);
    ck_assert_int_eq(u.have, 1);
    ck_assert_uint_eq(u.prompt_tokens, 1117);
    ck_assert_uint_eq(u.completion_tokens, 46);

    /* The requested id is echoed even when it is an alias or pin containing '/'
     * (no "\/" escaping). */
    out = cx_openai_rewrite_response(pool, body, strlen(body), "together/llama-4-maverick", &u, &len);
    assert_bytes(out, len, RESP_A "\"together/llama-4-maverick\"" RESP_B);

    /* The body need not be NUL-terminated: only len bytes are read. */
    char *buf = apr_pstrcat(pool, body, "garbage", NULL);
    out = cx_openai_rewrite_response(pool, buf, strlen(body), "gpt-4o-mini", &u, &len);
    assert_bytes(out, len, RESP_A "\"gpt-4o-mini\"" RESP_B);

    /* Reals are re-printed with 17 significant digits: the text may change
     * (0.7 -> 0.69999999999999996) but every client decodes the same double. */
    const char *floats = "{\"model\":\"m\",\"lp\":[0.7,-0.0012345678901234567,1e-300]}";
    out = cx_openai_rewrite_response(pool, floats, strlen(floats), "x", &u, &len);
    ck_assert_ptr_nonnull(out);
    json_t *back = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(back);
    json_t *lp = json_object_get(back, "lp");
    ck_assert(json_real_value(json_array_get(lp, 0)) == 0.7);
    ck_assert(json_real_value(json_array_get(lp, 1)) == -0.0012345678901234567);
    ck_assert(json_real_value(json_array_get(lp, 2)) == 1e-300);
    json_decref(back);
}
END_TEST

START_TEST(test_rewrite_response_whitespace_is_kept)
{
    /* OpenAI pretty-prints its answers: they are relayed as written, "model" aside. */
    const char *body = "{\n  \"id\": \"x\",\n  \"model\": \"up\",\n  \"choices\": [],\n"
                       "  \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 7}\n}\n";
    cx_usage_t u = {0};
    apr_size_t len = 0;
    char *out = cx_openai_rewrite_response(pool, body, strlen(body), "req", &u, &len);
    assert_bytes(out, len, "{\n  \"id\": \"x\",\n  \"model\": \"req\",\n  \"choices\": [],\n"
                 "  \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 7}\n}\n");
    ck_assert_int_eq(u.have, 1);
    ck_assert_uint_eq(u.prompt_tokens, 5);
    ck_assert_uint_eq(u.completion_tokens, 7);
}
END_TEST

START_TEST(test_rewrite_response_without_usage)
{
    const char *body = "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[]}";
    cx_usage_t u = {0};
    apr_size_t len = 0;
    char *out = cx_openai_rewrite_response(pool, body, strlen(body), "req", &u, &len);
    /* No upstream model: the requested one is still reported. */
    assert_bytes(out, len, "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[],"
                 "\"model\":\"req\"}");
    ck_assert_int_eq(u.have, 0);
    ck_assert_uint_eq(u.prompt_tokens, 0);
    ck_assert_uint_eq(u.completion_tokens, 0);

    /* usage:null, or usage with no token counts, is not usage. */
    body = "{\"model\":\"up\",\"usage\":null}";
    out = cx_openai_rewrite_response(pool, body, strlen(body), "req", &u, &len);
    assert_bytes(out, len, "{\"model\":\"req\",\"usage\":null}");
    ck_assert_int_eq(u.have, 0);
    body = "{\"model\":\"up\",\"usage\":{\"total_tokens\":9}}";
    out = cx_openai_rewrite_response(pool, body, strlen(body), "req", &u, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(u.have, 0);

    /* Only prompt tokens reported (an embedding-like answer). */
    body = "{\"model\":\"up\",\"usage\":{\"prompt_tokens\":3}}";
    out = cx_openai_rewrite_response(pool, body, strlen(body), "req", &u, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(u.have, 1);
    ck_assert_uint_eq(u.prompt_tokens, 3);
    ck_assert_uint_eq(u.completion_tokens, 0);

    /* Negative counts are never taken. */
    u = (cx_usage_t){0};
    body = "{\"model\":\"up\",\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":2}}";
    out = cx_openai_rewrite_response(pool, body, strlen(body), "req", &u, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(u.prompt_tokens, 0);
    ck_assert_uint_eq(u.completion_tokens, 2);
}
END_TEST

START_TEST(test_rewrite_response_rejects_non_json)
{
    static const char *const bad[] = {
        "<html><body>502 Bad Gateway</body></html>",
        "",
        "{\"model\":\"x\"",
        "[{\"model\":\"x\"}]",
        "\"just a string\"",
        "null",
        "{\"model\":\"x\"} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cx_usage_t u = {0};
        apr_size_t len = 12345;
        char *out = cx_openai_rewrite_response(pool, bad[i], strlen(bad[i]), "req", &u, &len);
        ck_assert_msg(out == NULL, "accepted: %s", bad[i]);
        ck_assert_int_eq(u.have, 0);
    }
}
END_TEST

/* --------------------------------------------------------------- streaming */

static cx_chunk_action_t chunk(cx_openai_stream_t *st, const char *data, const char **out,
                               apr_size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    return cx_openai_stream_chunk(pool, st, data, strlen(data), out, out_len);
}

#define CHUNK_HEAD(model) \
    "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190," \
    "\"model\":\"" model "\",\"system_fingerprint\":\"fp_44709d6fcb\","

#define USAGE_OBJ "{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21}"

START_TEST(test_stream_normal_chunk_rewritten_usage_removed)
{
    cx_openai_stream_t st = { .requested_model = "gpt-4o-mini", .client_wants_usage = 0 };
    const char *out;
    apr_size_t n;
    /* With include_usage upstream, OpenAI sends "usage":null on every chunk. */
    const char *in = CHUNK_HEAD("gpt-4o-mini-2024-07-18")
        "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"},"
        "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
    ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, CHUNK_HEAD("gpt-4o-mini")
        "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"},"
        "\"logprobs\":null,\"finish_reason\":null}]}");
    ck_assert_int_eq(st.usage.have, 0);
    ck_assert_uint_eq(st.chunks, 1);

    /* A provider that puts usage on the finish chunk (with choices): the chunk
     * goes out without usage, and usage is captured. */
    in = CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
         "\"usage\":" USAGE_OBJ "}";
    ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, CHUNK_HEAD("gpt-4o-mini")
                 "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
    ck_assert_int_eq(st.usage.have, 1);
    ck_assert_uint_eq(st.usage.prompt_tokens, 9);
    ck_assert_uint_eq(st.usage.completion_tokens, 12);
    ck_assert_uint_eq(st.chunks, 2);
}
END_TEST

START_TEST(test_stream_normal_chunk_keeps_usage_when_asked)
{
    cx_openai_stream_t st = { .requested_model = "claude-haiku-4-5", .client_wants_usage = 1 };
    const char *out;
    apr_size_t n;
    const char *in = CHUNK_HEAD("claude-haiku-4-5-20251001")
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}],"
        "\"usage\":null}";
    ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, CHUNK_HEAD("claude-haiku-4-5")
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}],"
        "\"usage\":null}");
}
END_TEST

START_TEST(test_stream_usage_chunk_dropped_when_not_asked)
{
    cx_openai_stream_t st = { .requested_model = "gpt-4o-mini", .client_wants_usage = 0 };
    const char *out;
    apr_size_t n;
    const char *in = CHUNK_HEAD("gpt-4o-mini-2024-07-18") "\"choices\":[],\"usage\":" USAGE_OBJ "}";
    ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_DROP);
    ck_assert_int_eq(st.usage.have, 1);
    ck_assert_uint_eq(st.usage.prompt_tokens, 9);
    ck_assert_uint_eq(st.usage.completion_tokens, 12);

    /* An ordinary chunk that happens to have an empty choices array but no usage
     * is not the usage chunk: it is forwarded. */
    st = (cx_openai_stream_t){ .requested_model = "gpt-4o-mini" };
    in = CHUNK_HEAD("up") "\"choices\":[]}";
    ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, CHUNK_HEAD("gpt-4o-mini") "\"choices\":[]}");
    ck_assert_int_eq(st.usage.have, 0);
}
END_TEST

START_TEST(test_stream_usage_chunk_forwarded_when_asked)
{
    cx_openai_stream_t st = { .requested_model = "gpt-4o-mini", .client_wants_usage = 1 };
    const char *out;
    apr_size_t n;
    const char *in = CHUNK_HEAD("gpt-4o-mini-2024-07-18") "\"choices\":[],\"usage\":" USAGE_OBJ "}";
    ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, CHUNK_HEAD("gpt-4o-mini") "\"choices\":[],\"usage\":" USAGE_OBJ "}");
    ck_assert_int_eq(st.usage.have, 1);
    ck_assert_uint_eq(st.usage.prompt_tokens, 9);
    ck_assert_uint_eq(st.usage.completion_tokens, 12);
}
END_TEST

START_TEST(test_stream_done_error_and_non_json)
{
    cx_openai_stream_t st = { .requested_model = "gpt-4o-mini", .client_wants_usage = 0 };
    const char *out;
    apr_size_t n;

    const char *done = "[DONE]";
    ck_assert_int_eq(chunk(&st, done, &out, &n), CX_CHUNK_DONE);
    ck_assert_ptr_eq(out, done);
    ck_assert_uint_eq(n, 6);

    /* [DONE] is matched on the bytes given, not on a NUL terminator. */
    const char *done_more = "[DONE]x";
    ck_assert_int_eq(cx_openai_stream_chunk(pool, &st, done_more, 6, &out, &n), CX_CHUNK_DONE);
    ck_assert_int_ne(chunk(&st, "[DONE]x", &out, &n), CX_CHUNK_DONE);
    ck_assert_int_ne(chunk(&st, "[done]", &out, &n), CX_CHUNK_DONE);

    const char *err = "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\","
                      "\"param\":null,\"code\":null}}";
    ck_assert_int_eq(chunk(&st, err, &out, &n), CX_CHUNK_ERROR);
    assert_bytes(out, n, err);
    ck_assert_ptr_eq(out, err);   /* forwarded as the upstream sent it */

    const char *plain = "this is not json";
    ck_assert_int_eq(chunk(&st, plain, &out, &n), CX_CHUNK_FORWARD);
    ck_assert_ptr_eq(out, plain);
    ck_assert_uint_eq(n, strlen(plain));

    const char *arr = "[1,2,3]";
    ck_assert_int_eq(chunk(&st, arr, &out, &n), CX_CHUNK_FORWARD);
    ck_assert_ptr_eq(out, arr);
    ck_assert_uint_eq(n, strlen(arr));

    /* None of these counted as a data chunk, none touched usage. */
    ck_assert_uint_eq(st.chunks, 0);
    ck_assert_int_eq(st.usage.have, 0);
}
END_TEST

/* A whole stream, as the chat handler feeds it. */
START_TEST(test_stream_sequence)
{
    static const char *const events[] = {
        CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
            "\"finish_reason\":null}],\"usage\":null}",
        CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},"
            "\"finish_reason\":null}],\"usage\":null}",
        CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
            "\"usage\":null}",
        CHUNK_HEAD("up") "\"choices\":[],\"usage\":" USAGE_OBJ "}",
        "[DONE]",
    };
    for (int wants = 0; wants <= 1; wants++) {
        cx_openai_stream_t st = { .requested_model = "req", .client_wants_usage = wants };
        int forwarded = 0, dropped = 0, done = 0;
        for (int i = 0; i < 5; i++) {
            const char *out;
            apr_size_t n;
            switch (chunk(&st, events[i], &out, &n)) {
            case CX_CHUNK_FORWARD:
                forwarded++;
                ck_assert_ptr_nonnull(strstr(out, "\"model\":\"req\""));
                ck_assert_ptr_null(strstr(out, "\"model\":\"up\""));
                ck_assert_int_eq(strstr(out, "\"usage\"") != NULL, wants);
                break;
            case CX_CHUNK_DROP: dropped++; break;
            case CX_CHUNK_DONE: done++; ck_assert_int_eq(i, 4); break;
            default: ck_abort_msg("unexpected action at event %d", i);
            }
        }
        ck_assert_int_eq(forwarded, wants ? 4 : 3);
        ck_assert_int_eq(dropped, wants ? 0 : 1);
        ck_assert_int_eq(done, 1);
        ck_assert_uint_eq(st.chunks, 4);
        ck_assert_int_eq(st.usage.have, 1);
        ck_assert_uint_eq(st.usage.prompt_tokens, 9);
        ck_assert_uint_eq(st.usage.completion_tokens, 12);
    }
}
END_TEST

START_TEST(test_stream_unicode_survives)
{
    cx_openai_stream_t st = { .requested_model = "gemini-2.5-flash", .client_wants_usage = 0 };
    const char *out;
    apr_size_t n;
    /* Raw UTF-8 in, raw UTF-8 out: no \u escaping of non-ASCII. */
    const char *raw = CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89\"},\"finish_reason\":null}]}";
    const char *want = CHUNK_HEAD("gemini-2.5-flash") "\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89\"},\"finish_reason\":null}]}";
    ck_assert_int_eq(chunk(&st, raw, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, want);

    /* \u escapes in (including a surrogate pair) come out as the same characters
     * in raw UTF-8, which a client decodes to the identical string. */
    const char *esc = CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"h\\u00e9llo \\u4e16\\u754c \\ud83c\\udf89\"},\"finish_reason\":null}]}";
    ck_assert_int_eq(chunk(&st, esc, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, want);
    json_t *back = J(out);
    json_t *content = json_object_get(json_object_get(json_array_get(
        json_object_get(back, "choices"), 0), "delta"), "content");
    ck_assert_str_eq(json_string_value(content), "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89");
    ck_assert_uint_eq(json_string_length(content), strlen("h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8e\x89"));

    /* JSON escapes a client must decode identically: quotes, backslashes,
     * newlines, tabs, control characters, "\/" and raw U+2028. The chunk is relayed
     * as the upstream wrote it (only "model" changes), escapes included. */
    const char *ctl = CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"a\\\"b\\\\c\\nd\\te\\/f\\u001fg\xe2\x80\xa8h\"},\"finish_reason\":null}]}";
    ck_assert_int_eq(chunk(&st, ctl, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, CHUNK_HEAD("gemini-2.5-flash") "\"choices\":[{\"index\":0,\"delta\":{\"content\":"
        "\"a\\\"b\\\\c\\nd\\te\\/f\\u001fg\xe2\x80\xa8h\"},\"finish_reason\":null}]}");
    back = J(out);
    content = json_object_get(json_object_get(json_array_get(
        json_object_get(back, "choices"), 0), "delta"), "content");
    ck_assert_str_eq(json_string_value(content), "a\"b\\c\nd\te/f\x1fg\xe2\x80\xa8h");
}
END_TEST

START_TEST(test_rewrite_response_unicode)
{
    const char *body = "{\"model\":\"up\",\"choices\":[{\"message\":{\"role\":\"assistant\","
                       "\"content\":\"\\u00e9\xe4\xb8\x96\\ud83c\\udf89\"}}]}";
    cx_usage_t u = {0};
    apr_size_t len;
    char *out = cx_openai_rewrite_response(pool, body, strlen(body), "m\xc3\xa9", &u, &len);
    assert_bytes(out, len, "{\"model\":\"m\xc3\xa9\",\"choices\":[{\"message\":{\"role\":\"assistant\","
                 "\"content\":\"\xc3\xa9\xe4\xb8\x96\xf0\x9f\x8e\x89\"}}]}");
}
END_TEST

START_TEST(test_stream_empty_content)
{
    cx_openai_stream_t st = { .requested_model = "gpt-4o-mini", .client_wants_usage = 0 };
    const char *out;
    apr_size_t n;
    const char *in = CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        "\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}";
    ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_FORWARD);
    assert_bytes(out, n, CHUNK_HEAD("gpt-4o-mini") "\"choices\":[{\"index\":0,\"delta\":{\"role\":"
        "\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}");
}
END_TEST

START_TEST(test_stream_tool_call_fragments)
{
    cx_openai_stream_t st = { .requested_model = "gpt-4o-mini", .client_wants_usage = 0 };
    const char *out;
    apr_size_t n;
    static const char *const tails[] = {
        "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
        "\"tool_calls\":[{\"index\":0,\"id\":\"call_DdmO9pD3xa9XTPNJ32zg2hcA\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}],\"refusal\":null},"
        "\"logprobs\":null,\"finish_reason\":null}]}",
        "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"arguments\":\"{\\\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}",
        "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"arguments\":\"city\\\":\\\"Par\"}}]},\"logprobs\":null,\"finish_reason\":null}]}",
        "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"arguments\":\"is\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":null}]}",
        "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\","
        "\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},"
        "\"logprobs\":null,\"finish_reason\":null}]}",
        "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}",
    };
    const char *args0 = "";
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        const char *in = apr_pstrcat(pool, CHUNK_HEAD("gpt-4o-mini-2024-07-18"), tails[i], NULL);
        ck_assert_int_eq(chunk(&st, in, &out, &n), CX_CHUNK_FORWARD);
        assert_bytes(out, n, apr_pstrcat(pool, CHUNK_HEAD("gpt-4o-mini"), tails[i], NULL));
        /* Decode as a client would and accumulate tool call 0's arguments. */
        json_t *calls = json_object_get(json_object_get(json_array_get(
            json_object_get(J(out), "choices"), 0), "delta"), "tool_calls");
        for (size_t k = 0; k < json_array_size(calls); k++) {
            json_t *tc = json_array_get(calls, k);
            if (json_integer_value(json_object_get(tc, "index")) == 0)
                args0 = apr_pstrcat(pool, args0, json_string_value(json_object_get(
                    json_object_get(tc, "function"), "arguments")), NULL);
        }
    }
    /* The argument fragments still concatenate to the JSON the model wrote. */
    ck_assert_str_eq(args0, "{\"city\":\"Paris\"}");
    ck_assert_uint_eq(st.chunks, 6);
}
END_TEST

/* ---------------------------------------------------------------- errors */

typedef struct { const char *message, *type, *param, *code; } err_t;

static err_t parse_err(const char *body)
{
    err_t e = { "x", "x", "x", "x" };
    cx_openai_parse_error(pool, body, body ? strlen(body) : 0, &e.message, &e.type, &e.param, &e.code);
    return e;
}

START_TEST(test_parse_error_openai_envelope)
{
    err_t e = parse_err("{\"error\":{\"message\":\"Rate limit reached for gpt-4o-mini\","
                        "\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}");
    ck_assert_str_eq(e.message, "Rate limit reached for gpt-4o-mini");
    ck_assert_str_eq(e.type, "requests");
    ck_assert_ptr_null(e.param);
    ck_assert_str_eq(e.code, "rate_limit_exceeded");

    e = parse_err("{\"error\":{\"message\":\"Invalid value\",\"type\":\"invalid_request_error\","
                  "\"param\":\"messages[0].role\",\"code\":400}}");
    ck_assert_str_eq(e.message, "Invalid value");
    ck_assert_str_eq(e.type, "invalid_request_error");
    ck_assert_str_eq(e.param, "messages[0].role");
    ck_assert_str_eq(e.code, "400");

    /* Missing or wrongly typed members come back NULL. */
    e = parse_err("{\"error\":{\"type\":7,\"code\":true}}");
    ck_assert_ptr_null(e.message);
    ck_assert_ptr_null(e.type);
    ck_assert_ptr_null(e.param);
    ck_assert_ptr_null(e.code);
}
END_TEST

START_TEST(test_parse_error_other_shapes)
{
    err_t e = parse_err("{\"error\":\"model overloaded\"}");
    ck_assert_str_eq(e.message, "model overloaded");
    ck_assert_ptr_null(e.type);
    ck_assert_ptr_null(e.param);
    ck_assert_ptr_null(e.code);

    e = parse_err("{\"message\":\"x\"}");
    ck_assert_str_eq(e.message, "x");
    ck_assert_ptr_null(e.type);
    ck_assert_ptr_null(e.param);
    ck_assert_ptr_null(e.code);

    /* The error member wins over a top-level message. */
    e = parse_err("{\"message\":\"outer\",\"error\":\"inner\"}");
    ck_assert_str_eq(e.message, "inner");
}
END_TEST

START_TEST(test_parse_error_garbage)
{
    static const char *const bad[] = {
        "<html><head><title>502 Bad Gateway</title></head></html>",
        "upstream connect error or disconnect/reset before headers",
        "{\"error\":",
        "[\"error\"]",
        "{\"error\":null}",
        "{\"detail\":\"Not Found\"}",
        "{\"message\":42}",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_t e = parse_err(bad[i]);
        ck_assert_msg(e.message == NULL, "message from: %s", bad[i]);
        ck_assert_ptr_null(e.type);
        ck_assert_ptr_null(e.param);
        ck_assert_ptr_null(e.code);
    }
    err_t e = parse_err(NULL);
    ck_assert_ptr_null(e.message);
    ck_assert_ptr_null(e.code);

    /* Strings are copies from the pool, not pointers into a freed document. */
    char *body = apr_pstrdup(pool, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
    e = parse_err(body);
    memset(body, 'Z', strlen(body));
    ck_assert_str_eq(e.message, "boom");
    ck_assert_str_eq(e.type, "server_error");
}
END_TEST

/* ------------------------------------------- fast path == jansson reference */

/* Both rewrites of one document agree: both refuse it, or both produce documents
 * that decode to the same JSON, with the same usage and the same action. */
static void assert_same_response(const char *body, apr_size_t blen)
{
    cx_usage_t uf = {0}, ut = {0};
    apr_size_t lf = 0, lt = 0;
    char *f = cx_openai_rewrite_response(pool, body, blen, "req/m\xc3\xa9\"x", &uf, &lf);
    char *t = cx_openai_rewrite_response_tree(pool, body, blen, "req/m\xc3\xa9\"x", &ut, &lt);
    ck_assert_msg((f == NULL) == (t == NULL), "fast %s, tree %s: %.*s", f ? "accepts" : "refuses",
                  t ? "accepts" : "refuses", (int)blen, body);
    ck_assert_int_eq(uf.have, ut.have);
    ck_assert_uint_eq(uf.prompt_tokens, ut.prompt_tokens);
    ck_assert_uint_eq(uf.completion_tokens, ut.completion_tokens);
    if (f) {
        json_t *jf = json_loadb(f, lf, JSON_ALLOW_NUL, NULL);
        json_t *jt = json_loadb(t, lt, JSON_ALLOW_NUL, NULL);
        ck_assert_msg(jf && jt && json_equal(jf, jt), "differ:\n fast %.*s\n tree %.*s", (int)lf, f,
                      (int)lt, t);
        json_decref(jf);
        json_decref(jt);
    }
}

static void assert_same_chunk(const char *data, apr_size_t dlen, int wants_usage)
{
    cx_openai_stream_t sf = {.requested_model = "m", .client_wants_usage = wants_usage};
    cx_openai_stream_t stt = sf;
    const char *of, *ot;
    apr_size_t lf, lt;
    cx_chunk_action_t af = cx_openai_stream_chunk(pool, &sf, data, dlen, &of, &lf);
    cx_chunk_action_t at = cx_openai_stream_chunk_tree(pool, &stt, data, dlen, &ot, &lt);
    ck_assert_msg(af == at, "action %d vs %d: %.*s", af, at, (int)dlen, data);
    ck_assert_uint_eq(sf.chunks, stt.chunks);
    ck_assert_int_eq(sf.usage.have, stt.usage.have);
    ck_assert_uint_eq(sf.usage.prompt_tokens, stt.usage.prompt_tokens);
    ck_assert_uint_eq(sf.usage.completion_tokens, stt.usage.completion_tokens);
    if (af == CX_CHUNK_FORWARD) {
        json_t *jf = json_loadb(of, lf, JSON_ALLOW_NUL, NULL);
        json_t *jt = json_loadb(ot, lt, JSON_ALLOW_NUL, NULL);
        ck_assert_msg((jf == NULL) == (jt == NULL), "decodable differs: %.*s", (int)dlen, data);
        if (jf)
            ck_assert_msg(json_equal(jf, jt), "differ:\n fast %.*s\n tree %.*s", (int)lf, of,
                          (int)lt, ot);
        else
            ck_assert_msg(lf == lt && !memcmp(of, ot, lf), "pass-through differs");
        json_decref(jf);
        json_decref(jt);
    }
}

static const char *const corpus[] = {
    "{}",
    "{\"model\":\"up\"}",
    " \t\r\n{ \"model\" : \"up\" , \"usage\" : { \"prompt_tokens\" : 1 , \"completion_tokens\" : 2 } } \n",
    "{\"usage\":null}",
    "{\"usage\":null,\"model\":\"x\"}",
    "{\"model\":\"x\",\"usage\":null}",
    "{\"a\":1,\"usage\":null,\"b\":2}",
    "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4},\"choices\":[]}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":3}}",
    "{\"choices\":[ ],\"usage\":{}}",
    "{\"choices\":[1],\"usage\":{\"completion_tokens\":4}}",
    "{\"choices\":[],\"usage\":7}",
    "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":9}}",
    "{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":2.0}}",
    "{\"usage\":{\"prompt_tokens\":123456789012345678,\"completion_tokens\":0}}",
    "{\"usage\":{\"prompt_tokens\":1234567890123456789}}",
    "{\"usage\":{\"prompt_tokens\":99999999999999999999}}",
    "{\"usage\":{\"prompt_tokens\":1e3}}",
    "{\"x\":1E400}",
    "{\"x\":-0.0,\"y\":0.1,\"z\":123.456e-7}",
    "{\"model\":null}",
    "{\"model\":{\"model\":\"inner\"}}",
    "{\"model\":\"a\",\"model\":\"b\"}",
    "{\"usage\":1,\"usage\":null}",
    "{\"mod\\u0065l\":\"x\"}",
    "{\"k\\u0000\":1}",
    "{\"a\":{\"k\\u0000\":1}}",
    "{\"s\":\"nul \\u0000 inside\"}",
    "{\"s\":\"\\ud83c\\udf89\"}",
    "{\"s\":\"\\ud83c\"}",
    "{\"s\":\"\\udf89x\"}",
    "{\"s\":\"\xc3\xa9\xe4\xb8\x96\xf0\x9f\x8e\x89\"}",
    "{\"s\":\"\xc0\xaf\"}",
    "{\"s\":\"\xed\xa0\x80\"}",
    "{\"s\":\"\xf4\x90\x80\x80\"}",
    "{\"s\":\"\xe4\xb8\"}",
    "{\"s\":\"tab\there\"}",
    "{\"s\":\"bad \\x escape\"}",
    "{\"s\":\"\\u12G4\"}",
    "{\"error\":{\"message\":\"boom\"}}",
    "{\"error\":\"boom\",\"model\":\"x\"}",
    "{\"error\":null,\"model\":\"x\"}",
    "{\"error\":[1]}",
    "{\"a\":[1,2,{\"b\":[true,false,null]}],\"c\":{}}",
    "{\"a\":[1,]}",
    "{\"a\":1,}",
    "{\"a\" 1}",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":-}",
    "{\"a\":tru}",
    "{\"a\":1}x",
    "{\"a\":1}{}",
    "[1,2]",
    "\"str\"",
    "",
    "   ",
    "{",
    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
};

START_TEST(test_fast_path_matches_jansson)
{
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        assert_same_response(corpus[i], strlen(corpus[i]));
        assert_same_chunk(corpus[i], strlen(corpus[i]), 0);
        assert_same_chunk(corpus[i], strlen(corpus[i]), 1);
    }
    /* Embedded NUL bytes in the buffer (not escaped) are not JSON. */
    static const char nul[] = "{\"a\":\"x\0y\"}";
    assert_same_response(nul, sizeof nul - 1);
    assert_same_chunk(nul, sizeof nul - 1, 0);
}
END_TEST

START_TEST(test_fast_path_matches_jansson_mutated)
{
    /* Real documents with random byte edits: whatever the edit, both paths agree. */
    static const char *const seeds[] = {
        RESP_A "\"gpt-4o-mini-2024-07-18\"" RESP_B,
        CHUNK_HEAD("up") "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"h\xc3\xa9 \\\"q\\\"\"},"
            "\"finish_reason\":null}],\"usage\":null}",
        CHUNK_HEAD("up") "\"choices\":[],\"usage\":" USAGE_OBJ "}",
    };
    static const char alphabet[] = "{}[]\",:0123456789.-eE \\utrfnl\xc3\xa9\x80";
    unsigned seed = 12345;
    for (int iter = 0; iter < 6000; iter++) {
        const char *src = seeds[iter % 3];
        apr_size_t n = strlen(src);
        char *buf = apr_pmemdup(pool, src, n + 1);
        int edits = 1 + iter % 3;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            apr_size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            buf[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
        }
        assert_same_response(buf, n);
        assert_same_chunk(buf, n, iter & 1);
    }
}
END_TEST

START_TEST(test_fast_dump_matches_jansson)
{
    /* cx_json_dump's own writer gives jansson's bytes, whatever the document. */
    static const char *const docs[] = {
        "{}", "[]", "[[],{},[{}]]",
        "{\"a\":1,\"b\":-9223372036854775807,\"c\":0,\"d\":[true,false,null]}",
        "{\"r\":[0.1,0.7,-0.0,1.0,2.5,1e300,-1e-300,123456789.125,1e21,1e-7,3.14159265358979,"
        "9007199254740993.0,0.30000000000000004,5e-324,1.7976931348623157e308,100.0,1e15,1e16]}",
        "{\"s\":\"plain\",\"q\":\"a\\\"b\\\\c/d\",\"c\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\","
        "\"u\":\"h\xc3\xa9 \xe4\xb8\x96 \xf0\x9f\x8e\x89 \xe2\x80\xa8\",\"nul\":\"x\\u0000y\"}",
        "{\"key \\\"quoted\\\"\\n\":1,\"\xc3\xa9\":2,\"z\":3,\"a\":4}",
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":\"hi\"}]}],\"temperature\":0.2,\"max_tokens\":100,\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},\"tools\":[{\"type\":\"function\",\"function\":"
        "{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]}",
    };
    static const size_t flags[] = {
        JSON_COMPACT | JSON_REAL_PRECISION(15), JSON_COMPACT | JSON_REAL_PRECISION(17),
        JSON_COMPACT, JSON_COMPACT | JSON_REAL_PRECISION(3),
        JSON_INDENT(2) | JSON_REAL_PRECISION(15), JSON_COMPACT | JSON_SORT_KEYS,
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *j = json_loads(docs[i], JSON_ALLOW_NUL, NULL);
        ck_assert_msg(j != NULL, "bad test JSON %zu", i);
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            apr_size_t fl, jl;
            char *fast = cx_json_dump_flags(pool, j, flags[f], &fl);
            char *ref = cx_json_dump_jansson(pool, j, flags[f], &jl);
            ck_assert_ptr_nonnull(fast);
            ck_assert_ptr_nonnull(ref);
            ck_assert_msg(fl == jl && !memcmp(fast, ref, fl), "doc %zu flags %zx:\n fast %s\n  ref %s",
                          i, flags[f], fast, ref);
        }
        json_decref(j);
    }
    /* Built values (not from the parser): reals of every magnitude. */
    json_t *a = json_array();
    double v = 1.0;
    for (int i = 0; i < 700; i++) {
        json_array_append_new(a, json_real(v));
        json_array_append_new(a, json_real(-v / 3.0));
        json_array_append_new(a, json_integer((json_int_t)(i * 7919) - 100000));
        v *= (i % 2) ? 10.0 : 0.37;
        if (v > 1e300 || v < 1e-300)
            v = 1.0 + i;
    }
    apr_size_t fl, jl;
    char *fast = cx_json_dump_flags(pool, a, JSON_COMPACT | JSON_REAL_PRECISION(17), &fl);
    char *ref = cx_json_dump_jansson(pool, a, JSON_COMPACT | JSON_REAL_PRECISION(17), &jl);
    ck_assert_msg(fl == jl && !memcmp(fast, ref, fl), "reals differ");
    fast = cx_json_dump_flags(pool, a, JSON_COMPACT | JSON_REAL_PRECISION(15), &fl);
    ref = cx_json_dump_jansson(pool, a, JSON_COMPACT | JSON_REAL_PRECISION(15), &jl);
    ck_assert_msg(fl == jl && !memcmp(fast, ref, fl), "reals differ (15)");
    json_decref(a);
    /* Short decimals (the writer's fast path) at every precision it serves and the
     * ones it leaves to snprintf, around its limits, and the integer extremes. */
    a = json_array();
    static const double pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    for (int k = 0; k <= 7; k++)
        for (long long m = 1; m < 2000000000LL; m = m * 7 + 3) {
            json_array_append_new(a, json_real((double)m / pow10[k]));
            json_array_append_new(a, json_real(-(double)m / pow10[k]));
        }
    static const double edges[] = {0.2, 0.95, 0.7, 1.0, 2.0, 1e-4, 9.9999e-5, 1.0001e-4, 999999999.0,
                                   1e9, 123456789.5, 0.1 + 0.2, 1.0 / 3.0, 0.0, -0.0, 100.0, 1e15};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        json_array_append_new(a, json_real(edges[i]));
        json_array_append_new(a, json_real(-edges[i]));
    }
    json_array_append_new(a, json_integer(INT64_MAX));
    json_array_append_new(a, json_integer(INT64_MIN));
    json_array_append_new(a, json_integer(0));
    json_array_append_new(a, json_integer(-1));
    for (int prec = 1; prec <= 17; prec++) {
        fast = cx_json_dump_flags(pool, a, JSON_COMPACT | JSON_REAL_PRECISION(prec), &fl);
        ref = cx_json_dump_jansson(pool, a, JSON_COMPACT | JSON_REAL_PRECISION(prec), &jl);
        ck_assert_msg(fl == jl && !memcmp(fast, ref, fl), "short decimals differ at precision %d", prec);
    }
    json_decref(a);
    /* A bare scalar is jansson's business (it refuses it without JSON_ENCODE_ANY). */
    json_t *str = json_string("x");
    ck_assert_ptr_null(cx_json_dump(pool, str, NULL));
    json_decref(str);
}
END_TEST

/* cx_jparse either declines or builds exactly jansson's tree (same types, values,
 * member order), and never accepts what jansson refuses. */
static void assert_parse_like_jansson(const char *buf, apr_size_t len)
{
    json_t *fast = cx_jparse(buf, len);
    json_t *ref = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (fast) {
        ck_assert_msg(ref != NULL, "fast parser accepted what jansson refuses: %.*s", (int)len, buf);
        ck_assert_msg(json_equal(fast, ref), "trees differ: %.*s", (int)len, buf);
        /* member order too: the dumps must be identical */
        char *a = json_dumps(fast, JSON_COMPACT | JSON_REAL_PRECISION(17));
        char *b = json_dumps(ref, JSON_COMPACT | JSON_REAL_PRECISION(17));
        ck_assert_str_eq(a, b);
        free(a);
        free(b);
    }
    json_decref(fast);
    json_decref(ref);
}

START_TEST(test_fast_parser_matches_jansson)
{
    static const char *const docs[] = {
        REQ_HEAD "}",
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Line 1\\nLine \\\"2\\\" \\\\ "
        "\\/ \\b\\f\\r\\t \\u00e9\\u4e16\\ud83c\\udf89 \xc3\xa9\xe4\xb8\x96\xf0\x9f\x8e\x89 end\"}],"
        "\"temperature\":0.2,\"top_p\":1,\"n\":1,\"seed\":-42,\"max_tokens\":100,\"stream\":false,"
        "\"stop\":null,\"logit_bias\":{\"50256\":-100},\"x\":[1.5e3,-2E-2,0.0,-0,1e308,4.9e-324,1e-400]}",
        "{}", "[]", "[[],{}]", " \n\t{ \"a\" : [ 1 , 2 ] } \r\n",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":2}}", "{\"s\":\"\\u0000\"}", "{\"\\u0000\":1}",
        "{\"s\":\"\\ud83c\"}", "{\"s\":\"\\udf89\"}", "{\"s\":\"\\ud83c\\u0041\"}", "{\"s\":\"\\uZZZZ\"}",
        "{\"i\":123456789012345678}", "{\"i\":-123456789012345678}", "{\"i\":1234567890123456789}",
        "{\"i\":99999999999999999999}", "{\"r\":1e400}", "{\"r\":-1e400}",
        "{\"r\":0.1234567890123456789012345678901234567890123456789012345678901234567890}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}",
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}", "{\"a\":1}x",
        "\"str\"", "1", "null", "", "  ", "{\"s\":\"tab\there\"}", "{\"s\":\"\xc0\xaf\"}",
        "{\"s\":\"\xed\xa0\x80\"}", "{\"s\":\"\xe4\xb8\"}", "{\"k\xc3\xa9y\":\"v\"}",
        "{\"long key that does not fit the small buffer of the parser at all, no, it is longer than "
        "one hundred and twenty-eight bytes, which is the size of that buffer\":1}",
        "{\"esc\\\"key\":1,\"esc\\\"key2\":2}", "{\"a\\nb\":1,\"a\\u000ab\":2}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        assert_parse_like_jansson(docs[i], strlen(docs[i]));
    static const char nul[] = "{\"a\":\"x\0y\"}";
    assert_parse_like_jansson(nul, sizeof nul - 1);
    /* The parser takes the ordinary request itself (not declining it). */
    json_t *j = cx_jparse(docs[1], strlen(docs[1]));
    ck_assert_ptr_nonnull(j);
    json_decref(j);

    /* Mutations of a real request: whatever the edit, never a different answer. */
    static const char alphabet[] = "{}[]\",:0123456789.-eE \\utrfnl/\xc3\xa9\x80";
    unsigned seed = 777;
    for (int iter = 0; iter < 8000; iter++) {
        const char *src = docs[iter % 2];
        apr_size_t n = strlen(src);
        char *buf = apr_pmemdup(pool, src, n + 1);
        for (int e = 0; e <= iter % 3; e++) {
            seed = seed * 1103515245u + 12345u;
            apr_size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            buf[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
        }
        assert_parse_like_jansson(buf, n);
    }
}
END_TEST

/* The upstream body is written without copying the request (cx_json_dump_with): it
 * must be the bytes the copy-and-set way gives, for any request object. */
START_TEST(test_upstream_body_equals_copy_and_set)
{
    static const char *const reqs[] = {
        "{\"model\":\"m\",\"messages\":[]}",
        "{\"messages\":[],\"model\":\"m\",\"stream\":true}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"h\u00e9 \\\"q\\\"\"}],\"temperature\":0.2,"
        "\"top_p\":0.95,\"max_tokens\":100,\"model\":\"m\",\"stream_options\":{\"include_usage\":false,\"x\":1}}",
        "{\"stream_options\":null,\"model\":\"m\"}",
        "{\"stream_options\":{},\"n\":1,\"seed\":-42,\"x\":[1.5e3,-0.0,1e300,{\"a\":null}]}",
        "{}",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
        for (int stream = 0; stream <= 1; stream++) {
            json_t *req = J(reqs[i]);
            apr_size_t len;
            char *body = cx_openai_upstream_body(pool, req, "up/model", stream, &len);
            json_t *copy = json_copy(req);
            json_object_set_new(copy, "model", json_string("up/model"));
            if (stream) {
                json_t *opts = json_object_get(copy, "stream_options");
                json_t *fresh = json_is_object(opts) ? json_copy(opts) : json_object();
                json_object_set_new(fresh, "include_usage", json_true());
                json_object_set_new(copy, "stream_options", fresh);
            }
            apr_size_t wl;
            char *want = cx_json_dump_jansson(pool, copy, JSON_COMPACT | JSON_REAL_PRECISION(15), &wl);
            ck_assert_msg(len == wl && !memcmp(body, want, len), "%s (stream %d):\n got %s\nwant %s",
                          reqs[i], stream, body, want);
            json_decref(copy);
        }
}
END_TEST

/* The word-at-a-time string skip (lib/cx_jchars.h): every kind of stop byte at every
 * offset of strings from 0 to 40 bytes long, so each lands at each position of an
 * eight-byte word and in the byte-by-byte tail; parser and scanner against jansson. */
START_TEST(test_string_runs_every_offset)
{
    static const char *const stops[] = {"\"", "\\n", "\\\"", "\x01", "\x1f", "\x7f", "\xc3\xa9",
                                        "\xe4\xb8\x96", "\xf0\x9f\x8e\x89", "\xc3", "\x80", "\\u00e9",
                                        "\xff", " ", "~"};
    for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++)
        for (int len = 0; len <= 40; len++)
            for (int at = 0; at <= len; at++) {
                char buf[160];
                int n = snprintf(buf, sizeof buf, "{\"model\":\"%.*s%s%.*s\",\"k\":1}", at,
                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP", stops[k], len - at,
                                 "0123456789012345678901234567890123456789012");
                assert_parse_like_jansson(buf, (apr_size_t)n);
                assert_same_response(buf, (apr_size_t)n);
                assert_same_chunk(buf, (apr_size_t)n, 0);
            }
}
END_TEST

static Suite *openai_suite(void)
{
    Suite *s = suite_create("cx_openai");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_upstream_body_non_stream);
    tcase_add_test(tc, test_string_runs_every_offset);
    tcase_add_test(tc, test_upstream_body_equals_copy_and_set);
    tcase_add_test(tc, test_upstream_body_stream_adds_include_usage);
    tcase_add_test(tc, test_upstream_body_stream_keeps_other_stream_options);
    tcase_add_test(tc, test_client_wants_usage);
    tcase_add_test(tc, test_rewrite_response_golden);
    tcase_add_test(tc, test_rewrite_response_whitespace_is_kept);
    tcase_add_test(tc, test_rewrite_response_without_usage);
    tcase_add_test(tc, test_rewrite_response_rejects_non_json);
    tcase_add_test(tc, test_rewrite_response_unicode);
    tcase_add_test(tc, test_stream_normal_chunk_rewritten_usage_removed);
    tcase_add_test(tc, test_stream_normal_chunk_keeps_usage_when_asked);
    tcase_add_test(tc, test_stream_usage_chunk_dropped_when_not_asked);
    tcase_add_test(tc, test_stream_usage_chunk_forwarded_when_asked);
    tcase_add_test(tc, test_stream_done_error_and_non_json);
    tcase_add_test(tc, test_stream_sequence);
    tcase_add_test(tc, test_stream_unicode_survives);
    tcase_add_test(tc, test_fast_path_matches_jansson);
    tcase_add_test(tc, test_fast_path_matches_jansson_mutated);
    tcase_add_test(tc, test_fast_dump_matches_jansson);
    tcase_add_test(tc, test_fast_parser_matches_jansson);
    tcase_add_test(tc, test_stream_empty_content);
    tcase_add_test(tc, test_stream_tool_call_fragments);
    tcase_add_test(tc, test_parse_error_openai_envelope);
    tcase_add_test(tc, test_parse_error_other_shapes);
    tcase_add_test(tc, test_parse_error_garbage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(openai_suite());
}
