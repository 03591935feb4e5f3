/* Golden tests for cx_anthropic: OpenAI chat request -> Messages request, Message ->
 * chat.completion, Messages SSE events -> chat.completion.chunk events, and error
 * classification. Field names follow Anthropic's Messages API reference. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cx_unit.h"
#include "cx_anthropic.h"
#include "cx_json.h"

static json_t *J(const char *s)
{
    const char *err = NULL;
    json_t *j = cx_json_parse(pool, s, strlen(s), &err);
    ck_assert_msg(j != NULL, "bad test JSON: %s", err ? err : "?");
    return j;
}

/* Compare JSON documents structurally (key order does not matter). */
static void assert_json(const char *got, apr_size_t len, const char *want)
{
    ck_assert_ptr_nonnull(got);
    json_t *g = json_loadb(got, len, 0, NULL);
    json_t *w = json_loads(want, 0, NULL);
    ck_assert_msg(w != NULL, "bad golden JSON: %s", want);
    ck_assert_msg(g != NULL, "output is not JSON: %.*s", (int)len, got);
    int eq = json_equal(g, w);
    json_decref(g);
    json_decref(w);
    ck_assert_msg(eq, "\n got: %.*s\nwant: %s", (int)len, got, want);
}

static char *request(const char *req_json, unsigned int dflt, int stream)
{
    apr_size_t len;
    const char *err = NULL, *param = NULL;
    char *body = cx_anthropic_request(pool, J(req_json), "claude-haiku-4-5-20251001", dflt, stream,
                                      &len, &err, &param);
    ck_assert_msg(body != NULL, "translation failed: %s", err ? err : "?");
    return body;
}

/* ------------------------------------------------------------------ request */

START_TEST(test_request_full)
{
    char *body = request(
        "{\"model\":\"claude-haiku-4-5\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Use metric units.\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in these?\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.jpg\",\"detail\":\"low\"}}]}],"
        "\"temperature\":1.5,\"top_p\":0.9,\"stop\":\"END\",\"user\":\"u-42\",\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},\"seed\":7,"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"now\"}}],"
        "\"tool_choice\":\"required\",\"parallel_tool_calls\":false}", 8192, 1);
    assert_json(body, strlen(body),
        "{\"model\":\"claude-haiku-4-5-20251001\","
        "\"system\":\"Be brief.\\n\\nUse metric units.\","
        "\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"What is in these?\"},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
        "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/cat.jpg\"}}]}],"
        "\"max_tokens\":8192,\"stop_sequences\":[\"END\"],\"temperature\":1.0,\"top_p\":0.9,"
        "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":"
        "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}},"
        "{\"name\":\"now\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}],"
        "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true},"
        "\"metadata\":{\"user_id\":\"u-42\"},\"stream\":true}");
}
END_TEST

START_TEST(test_request_multi_turn_tool_use)
{
    char *body = request(
        "{\"model\":\"m\",\"max_completion_tokens\":300,\"max_tokens\":50,\"messages\":["
        "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
        "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
        "{\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
        "{\"id\":\"toolu_2\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"18C\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_2\",\"content\":[{\"type\":\"text\",\"text\":\"21C\"}]},"
        "{\"role\":\"user\",\"content\":\"Which is warmer?\"},"
        "{\"role\":\"assistant\",\"content\":\"\"},"
        "{\"role\":\"user\",\"content\":\"Well?\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}", 8192, 0);
    assert_json(body, strlen(body),
        "{\"model\":\"claude-haiku-4-5-20251001\",\"max_tokens\":300,\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather in Paris and Rome?\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"get_weather\",\"input\":{}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"18C\"},"
        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\",\"content\":\"21C\"},"
        "{\"type\":\"text\",\"text\":\"Which is warmer?\"},{\"type\":\"text\",\"text\":\"Well?\"}]}],"
        "\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\"}}],"
        "\"tool_choice\":{\"type\":\"tool\",\"name\":\"get_weather\"}}");
}
END_TEST

START_TEST(test_request_unicode_and_defaults)
{
    char *body = request("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                         "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 end\"}],\"tool_choice\":\"none\"}", 0, 0);
    assert_json(body, strlen(body),
        "{\"model\":\"claude-haiku-4-5-20251001\",\"max_tokens\":4096,\"messages\":[{\"role\":\"user\","
        "\"content\":[{\"type\":\"text\",\"text\":\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 end\"}]}]}");
    /* UTF-8 is sent as is, not \u-escaped */
    ck_assert_ptr_nonnull(strstr(body, "\xf0\x9f\x98\x80"));
}
END_TEST

START_TEST(test_request_refusals)
{
    struct { const char *req, *param; } cases[] = {
        {"{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "n"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"},{\"role\":\"user\",\"content\":\"\"}]}",
         "messages"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\","
         "\"input_audio\":{\"data\":\"AA==\",\"format\":\"wav\"}}]}]}", "messages[0].content[0]"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"a\","
         "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
         "messages[0].tool_calls[0].function.arguments"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apr_size_t len;
        const char *err = NULL, *param = NULL;
        char *body = cx_anthropic_request(pool, J(cases[i].req), "m", 100, 0, &len, &err, &param);
        ck_assert_msg(body == NULL, "case %zu translated: %s", i, body);
        ck_assert_str_eq(param, cases[i].param);
        ck_assert_ptr_nonnull(strstr(err, cases[i].param));
    }
}
END_TEST

/* ------------------------------------------------------------------ response */

START_TEST(test_response_text_and_tools)
{
    const char *msg =
        "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5-20251001\","
        "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"s\"},"
        "{\"type\":\"text\",\"text\":\"Let me check \xc3\xa9t\xc3\xa9.\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\",\"days\":2}}],"
        "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
        "\"usage\":{\"input_tokens\":10,\"output_tokens\":25,\"cache_creation_input_tokens\":100,"
        "\"cache_read_input_tokens\":1000}}";
    cx_usage_t u;
    apr_size_t len;
    char *out = cx_anthropic_response(pool, msg, strlen(msg), "claude-haiku-4-5", "abc", 1700000000, &u, &len);
    assert_json(out, len,
        "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1700000000,"
        "\"model\":\"claude-haiku-4-5\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"Let me check \xc3\xa9t\xc3\xa9.\",\"tool_calls\":[{\"id\":\"toolu_9\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"days\\\":2}\"}}],"
        "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":1110,\"completion_tokens\":25,\"total_tokens\":1135,"
        "\"prompt_tokens_details\":{\"cached_tokens\":1000}}}");
    ck_assert(u.have);
    ck_assert_uint_eq(u.prompt_tokens, 1110);
    ck_assert_uint_eq(u.completion_tokens, 25);
    ck_assert_uint_eq(u.cache_read_tokens, 1000);
    ck_assert_uint_eq(u.cache_write_tokens, 100);
}
END_TEST

START_TEST(test_response_empty_content)
{
    const char *msg = "{\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
                      "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}";
    cx_usage_t u;
    apr_size_t len;
    char *out = cx_anthropic_response(pool, msg, strlen(msg), "m", "x", 1, &u, &len);
    assert_json(out, len,
        "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
        "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":0,"
        "\"total_tokens\":3,\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
    ck_assert_ptr_null(cx_anthropic_response(pool, "not json", 8, "m", "x", 1, &u, &len));
    ck_assert_ptr_null(cx_anthropic_response(pool, "{\"type\":\"message\"}", 18, "m", "x", 1, &u, &len));
}
END_TEST

START_TEST(test_stop_reasons)
{
    ck_assert_str_eq(cx_anthropic_finish_reason("end_turn"), "stop");
    ck_assert_str_eq(cx_anthropic_finish_reason("stop_sequence"), "stop");
    ck_assert_str_eq(cx_anthropic_finish_reason("max_tokens"), "length");
    ck_assert_str_eq(cx_anthropic_finish_reason("tool_use"), "tool_calls");
    ck_assert_str_eq(cx_anthropic_finish_reason("refusal"), "content_filter");
    ck_assert_str_eq(cx_anthropic_finish_reason("pause_turn"), "stop");
    ck_assert_str_eq(cx_anthropic_finish_reason("model_context_window_exceeded"), "length");
    ck_assert_str_eq(cx_anthropic_finish_reason(NULL), "stop");
}
END_TEST

/* ------------------------------------------------------------------ stream */

typedef struct {
    const char *event, *data;
} ev_t;

/* Feed events; returns the forwarded chunks joined by "\n", the last action in *last. */
static const char *feed(cx_xstream_t *st, const ev_t *evs, size_t n, cx_chunk_action_t *last)
{
    const char *all = "";
    for (size_t i = 0; i < n; i++) {
        apr_array_header_t *out = cx_chunks_make(pool);
        *last = cx_anthropic_stream_event(pool, st, evs[i].event, evs[i].data, strlen(evs[i].data), out);
        for (int k = 0; k < out->nelts; k++) {
            cx_chunk_t *c = &APR_ARRAY_IDX(out, k, cx_chunk_t);
            ck_assert_int_eq(c->data[c->len], '\0');
            all = apr_pstrcat(pool, all, *all ? "\n" : "", c->data, NULL);
        }
        if (*last != CX_CHUNK_FORWARD && i + 1 < n)
            ck_abort_msg("event %zu ended the stream early", i);
    }
    return all;
}

#define HEAD "{\"id\":\"chatcmpl-r1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"claude-haiku-4-5\",\"choices\":[{\"index\":0,\"delta\":"
#define TAIL(f) ",\"logprobs\":null,\"finish_reason\":" f "}]}"

START_TEST(test_stream_text_golden)
{
    ev_t evs[] = {
        {"message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
         "\"content\":[],\"model\":\"claude-haiku-4-5-20251001\",\"stop_reason\":null,\"stop_sequence\":null,"
         "\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_read_input_tokens\":5,\"cache_creation_input_tokens\":0}}}"},
        {"content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"},
        {"ping", "{\"type\": \"ping\"}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"H\xc3\xa9llo\"}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" \xf0\x9f\x98\x80!\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"},
        {"message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
         "\"usage\":{\"output_tokens\":15}}"},
        {"message_stop", "{\"type\":\"message_stop\"}"},
    };
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "claude-haiku-4-5", 1, "r1", 5);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, sizeof evs / sizeof evs[0], &last);
    ck_assert_int_eq(last, CX_CHUNK_DONE);
    ck_assert_str_eq(all,
        HEAD "{\"role\":\"assistant\",\"content\":\"\"}" TAIL("null") "\n"
        HEAD "{\"content\":\"H\xc3\xa9llo\"}" TAIL("null") "\n"
        HEAD "{\"content\":\" \xf0\x9f\x98\x80!\"}" TAIL("null") "\n"
        HEAD "{}" TAIL("\"stop\"") "\n"
        "{\"id\":\"chatcmpl-r1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"claude-haiku-4-5\","
        "\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":15,\"total_tokens\":45,"
        "\"prompt_tokens_details\":{\"cached_tokens\":5}}}");
    ck_assert(st.completed);
    ck_assert_uint_eq(st.usage.prompt_tokens, 30);
    ck_assert_uint_eq(st.usage.completion_tokens, 15);
}
END_TEST

START_TEST(test_stream_tool_call_fragments)
{
    ev_t evs[] = {
        {"message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\","
         "\"content\":[],\"model\":\"x\",\"stop_reason\":null,\"usage\":{\"input_tokens\":40,\"output_tokens\":1}}}"},
        {"content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"},
        {"content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
         "\"id\":\"toolu_A\",\"name\":\"get_weather\",\"input\":{}}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Pa\"}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ris\\\"}\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}"},
        {"content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
         "\"id\":\"toolu_B\",\"name\":\"now\",\"input\":{}}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}"},
        {"message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":33}}"},
        {"message_stop", "{\"type\":\"message_stop\"}"},
    };
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "claude-haiku-4-5", 0, "r1", 5);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, sizeof evs / sizeof evs[0], &last);
    ck_assert_int_eq(last, CX_CHUNK_DONE);
    ck_assert_str_eq(all,
        HEAD "{\"role\":\"assistant\",\"content\":\"\"}" TAIL("null") "\n"
        HEAD "{\"content\":\"Okay\"}" TAIL("null") "\n"
        HEAD "{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_A\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}" TAIL("null") "\n"
        HEAD "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\": \\\"Pa\"}}]}" TAIL("null") "\n"
        HEAD "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ris\\\"}\"}}]}" TAIL("null") "\n"
        HEAD "{\"tool_calls\":[{\"index\":1,\"id\":\"toolu_B\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"\"}}]}" TAIL("null") "\n"
        HEAD "{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}" TAIL("null") "\n"
        HEAD "{}" TAIL("\"tool_calls\""));
    /* no usage chunk: the client did not ask, but billing still knows */
    ck_assert_uint_eq(st.usage.prompt_tokens, 40);
    ck_assert_uint_eq(st.usage.completion_tokens, 33);
}
END_TEST

/* Fragments are routed by the block they name, even when blocks interleave. */
START_TEST(test_stream_interleaved_tool_blocks)
{
    ev_t evs[] = {
        {"content_block_start", "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t3\",\"name\":\"a\",\"input\":{}}}"},
        {"content_block_start", "{\"type\":\"content_block_start\",\"index\":12,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t12\",\"name\":\"b\",\"input\":{}}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":12,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"B\"}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"A\"}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":7,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"lost\"}}"},
    };
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "m", 0, "r", 1);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, sizeof evs / sizeof evs[0], &last);
    ck_assert_ptr_nonnull(strstr(all, "\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"B\"}}]"));
    ck_assert_ptr_nonnull(strstr(all, "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"A\"}}]"));
    ck_assert_ptr_null(strstr(all, "lost"));   /* a block that never started */
}
END_TEST

START_TEST(test_stream_error_event)
{
    ev_t evs[] = {
        {"message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}"},
        {"error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"},
    };
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "m", 0, "r", 1);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, 2, &last);
    ck_assert_int_eq(last, CX_CHUNK_ERROR);
    /* nothing went out before the error: the gateway may still fall over */
    assert_json(all, strlen(all),
                "{\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":\"overloaded_error\"}}");
    ck_assert(!st.completed);
}
END_TEST

START_TEST(test_stream_ignores_unknown_and_garbage)
{
    ev_t evs[] = {
        {NULL, "not json"},
        {"future_event", "{\"type\":\"future_event\",\"x\":1}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}"},
        {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\"}}"},
    };
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "m", 0, "r", 1);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, 4, &last);
    ck_assert_int_eq(last, CX_CHUNK_FORWARD);
    ck_assert_str_eq(all, "");
}
END_TEST

/* ------------------------------------------------------------------ errors */

START_TEST(test_errors_classified)
{
    cx_upstream_error_t e;
    const char *over = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},\"request_id\":\"req_1\"}";
    cx_anthropic_error(pool, 529, over, strlen(over), &e);
    ck_assert(e.retry);
    ck_assert_str_eq(e.message, "Overloaded");
    ck_assert_str_eq(e.code, "overloaded_error");

    const char *rate = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}";
    cx_anthropic_error(pool, 429, rate, strlen(rate), &e);
    ck_assert(e.retry);

    const char *auth = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}";
    cx_anthropic_error(pool, 401, auth, strlen(auth), &e);
    ck_assert(e.retry);

    const char *bad = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: must be at least 1\"}}";
    cx_anthropic_error(pool, 400, bad, strlen(bad), &e);
    ck_assert(!e.retry);
    ck_assert_int_eq(e.status, 400);
    ck_assert_str_eq(e.type, "invalid_request_error");
    ck_assert_str_eq(e.message, "max_tokens: must be at least 1");
    assert_json(cx_upstream_error_body(pool, &e), strlen(cx_upstream_error_body(pool, &e)),
                "{\"error\":{\"message\":\"max_tokens: must be at least 1\",\"type\":\"invalid_request_error\","
                "\"param\":null,\"code\":null}}");

    const char *big = "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"too big\"}}";
    cx_anthropic_error(pool, 413, big, strlen(big), &e);
    ck_assert(!e.retry);
    ck_assert_str_eq(e.code, "request_too_large");

    cx_anthropic_error(pool, 503, "<html>down</html>", 17, &e);
    ck_assert(e.retry);
    ck_assert_int_eq(e.status, 503);
    ck_assert_ptr_nonnull(strstr(e.message, "503"));
    cx_anthropic_error(pool, 422, "", 0, &e);
    ck_assert(!e.retry);
}
END_TEST

static Suite *anthropic_suite(void)
{
    Suite *s = suite_create("cx_anthropic");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_request_full);
    tcase_add_test(tc, test_request_multi_turn_tool_use);
    tcase_add_test(tc, test_request_unicode_and_defaults);
    tcase_add_test(tc, test_request_refusals);
    tcase_add_test(tc, test_response_text_and_tools);
    tcase_add_test(tc, test_response_empty_content);
    tcase_add_test(tc, test_stop_reasons);
    tcase_add_test(tc, test_stream_text_golden);
    tcase_add_test(tc, test_stream_tool_call_fragments);
    tcase_add_test(tc, test_stream_interleaved_tool_blocks);
    tcase_add_test(tc, test_stream_error_event);
    tcase_add_test(tc, test_stream_ignores_unknown_and_garbage);
    tcase_add_test(tc, test_errors_classified);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(anthropic_suite());
}
