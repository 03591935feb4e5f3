/* Golden tests for cx_messages, the inbound Anthropic Messages API: Messages request
 * -> chat request, chat.completion -> Message, chat chunks -> Anthropic SSE events,
 * OpenAI error envelope -> Anthropic error body. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cx_unit.h"
#include "cx_json.h"
#include "cx_messages.h"
#include "cx_validate.h"

static json_t *J(const char *s)
{
    const char *err = NULL;
    json_t *j = cx_json_parse(pool, s, strlen(s), &err);
    ck_assert_msg(j != NULL, "bad test JSON: %s", err ? err : "?");
    return j;
}

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

START_TEST(test_request_full)
{
    cx_verr_t err;
    json_t *chat = cx_messages_to_chat(pool, J(
        "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":256,\"stream\":true,"
        "\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\"},{\"type\":\"text\",\"text\":\"Use metric.\"}],"
        "\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather? \xc3\xa9\"},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBO\"}},"
        "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/a.jpg\"}}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"x\",\"signature\":\"y\"},"
        "{\"type\":\"text\",\"text\":\"Checking.\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":[{\"type\":\"text\",\"text\":\"18C\"}]},"
        "{\"type\":\"text\",\"text\":\"Thanks\"}]},"
        "{\"role\":\"assistant\",\"content\":\"You're welcome.\"}],"
        "\"stop_sequences\":[\"END\"],\"temperature\":0.5,\"top_p\":0.9,\"top_k\":5,"
        "\"metadata\":{\"user_id\":\"u1\"},"
        "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":{\"type\":\"object\"}}],"
        "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true}}"), &err);
    ck_assert_msg(chat != NULL, "%s", err.message);
    char *s = cx_json_dump(pool, chat, NULL);
    assert_json(s, strlen(s),
        "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":256,\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\\nUse metric.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather? \xc3\xa9\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBO\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.jpg\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":[{\"id\":\"toolu_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"18C\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Thanks\"}]},"
        "{\"role\":\"assistant\",\"content\":\"You're welcome.\"}],"
        "\"stop\":[\"END\"],\"temperature\":0.5,\"top_p\":0.9,\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},\"user\":\"u1\","
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
        "\"parameters\":{\"type\":\"object\"}}}],"
        "\"tool_choice\":\"required\",\"parallel_tool_calls\":false}");
    /* and the pipeline's validator accepts it */
    ck_assert_msg(cx_validate_chat(pool, chat, &err), "%s", err.message);
}
END_TEST

START_TEST(test_request_errors_name_the_field)
{
    struct { const char *req, *param; } cases[] = {
        {"[]", "body"},
        {"{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "max_tokens"},
        {"{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "max_tokens"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}", "messages"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}", "messages[0].role"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}",
         "messages[0].content[0].type"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"file\"}}]}]}",
         "messages[0].content[0].source"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
         "\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]}", "tools[0].type"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
         "\"tool_choice\":{\"type\":\"sometimes\"}}", "tool_choice.type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cx_verr_t err = {0};
        json_t *chat = cx_messages_to_chat(pool, J(cases[i].req), &err);
        ck_assert_msg(chat == NULL, "case %zu accepted", i);
        ck_assert_msg(!strcmp(err.param, cases[i].param), "case %zu: param %s, want %s", i, err.param,
                      cases[i].param);
        ck_assert_ptr_nonnull(strstr(err.message, cases[i].param));
    }
}
END_TEST

START_TEST(test_response_golden)
{
    const char *chat =
        "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"claude-haiku-4-5\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Let me look.\","
        "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":9,\"total_tokens\":129,"
        "\"prompt_tokens_details\":{\"cached_tokens\":100}}}";
    apr_size_t len;
    char *msg = cx_messages_from_chat(pool, chat, strlen(chat), &len);
    assert_json(msg, len,
        "{\"id\":\"msg_abc\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\","
        "\"content\":[{\"type\":\"text\",\"text\":\"Let me look.\"},{\"type\":\"tool_use\",\"id\":\"call_1\","
        "\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}],\"stop_reason\":\"tool_use\","
        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":9,"
        "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":100}}");

    const char *empty = "{\"id\":\"chatcmpl-e\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":"
                        "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"length\"}]}";
    msg = cx_messages_from_chat(pool, empty, strlen(empty), &len);
    assert_json(msg, len,
        "{\"id\":\"msg_e\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],"
        "\"stop_reason\":\"max_tokens\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,"
        "\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}");
    ck_assert_ptr_null(cx_messages_from_chat(pool, "{}", 2, &len));
}
END_TEST

static const char *events_text(apr_array_header_t *evs)
{
    const char *all = "";
    for (int i = 0; i < evs->nelts; i++) {
        cx_msg_event_t *e = &APR_ARRAY_IDX(evs, i, cx_msg_event_t);
        all = apr_pstrcat(pool, all, "event: ", e->event, "\ndata: ", e->data, "\n", NULL);
    }
    return all;
}

START_TEST(test_stream_golden)
{
    const char *chunks[] = {
        "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
        "{\"id\":\"chatcmpl-s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"H\xc3\xa9\"},\"finish_reason\":null}]}",
        "{\"id\":\"chatcmpl-s\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
        "{\"id\":\"chatcmpl-s\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]},\"finish_reason\":null}]}",
        "{\"id\":\"chatcmpl-s\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":null}]}",
        "{\"id\":\"chatcmpl-s\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
        "{\"id\":\"chatcmpl-s\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}",
    };
    cx_msgstream_t st;
    cx_msgstream_init(&st, pool, "claude-haiku-4-5", NULL);
    apr_array_header_t *evs = apr_array_make(pool, 8, sizeof(cx_msg_event_t));
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        cx_msgstream_chunk(pool, &st, chunks[i], strlen(chunks[i]), evs);
    cx_msgstream_done(pool, &st, evs);
    ck_assert_str_eq(events_text(evs),
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\","
        "\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
        "\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"H\xc3\xa9\"}}\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"f\",\"input\":{}}}\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
        "\"usage\":{\"input_tokens\":12,\"output_tokens\":7,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n");
}
END_TEST

START_TEST(test_stream_empty_answer)
{
    cx_msgstream_t st;
    cx_msgstream_init(&st, pool, "m", "chatcmpl-z");
    apr_array_header_t *evs = apr_array_make(pool, 8, sizeof(cx_msg_event_t));
    cx_msgstream_done(pool, &st, evs);
    ck_assert_int_eq(evs->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(evs, 0, cx_msg_event_t).event, "message_start");
    ck_assert_str_eq(APR_ARRAY_IDX(evs, 1, cx_msg_event_t).event, "message_delta");
    ck_assert_str_eq(APR_ARRAY_IDX(evs, 2, cx_msg_event_t).event, "message_stop");
}
END_TEST

START_TEST(test_error_bodies)
{
    const char *oa = "{\"error\":{\"message\":\"Incorrect API key provided.\",\"type\":\"invalid_request_error\","
                     "\"param\":null,\"code\":\"invalid_api_key\"}}";
    const char *b = cx_messages_error_body(pool, 401, oa);
    assert_json(b, strlen(b), "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                              "\"message\":\"Incorrect API key provided.\",\"code\":\"invalid_api_key\"}}");
    struct { int status; const char *type; } map[] = {
        {400, "invalid_request_error"}, {402, "billing_error"}, {403, "permission_error"},
        {404, "not_found_error"}, {413, "request_too_large"}, {429, "rate_limit_error"},
        {500, "api_error"}, {502, "api_error"}, {503, "overloaded_error"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        json_t *j = cx_json_own(pool, json_loads(cx_messages_error_body(pool, map[i].status, oa), 0, NULL));
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "type")), map[i].type);
    }
    b = cx_messages_error_body(pool, 500, "garbage");
    assert_json(b, strlen(b), "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The request failed.\"}}");
}
END_TEST

static Suite *messages_suite(void)
{
    Suite *s = suite_create("cx_messages");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_request_full);
    tcase_add_test(tc, test_request_errors_name_the_field);
    tcase_add_test(tc, test_response_golden);
    tcase_add_test(tc, test_stream_golden);
    tcase_add_test(tc, test_stream_empty_answer);
    tcase_add_test(tc, test_error_bodies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(messages_suite());
}
