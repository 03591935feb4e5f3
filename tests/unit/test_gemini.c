/* Golden tests for cx_gemini: OpenAI chat request -> GenerateContentRequest,
 * GenerateContentResponse -> chat.completion, streamGenerateContent SSE events ->
 * chat.completion.chunk events, finish reasons (SAFETY and blocked prompts ->
 * content_filter) and error classification. Field names follow Google's Gemini API
 * reference (camelCase JSON mapping). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cx_unit.h"
#include "cx_gemini.h"
#include "cx_json.h"

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

static char *request(const char *req_json, int stream)
{
    apr_size_t len;
    const char *err = NULL, *param = NULL;
    char *body = cx_gemini_request(pool, J(req_json), stream, &len, &err, &param);
    ck_assert_msg(body != NULL, "translation failed: %s", err ? err : "?");
    return body;
}

START_TEST(test_url)
{
    ck_assert_str_eq(cx_gemini_url(pool, "https://generativelanguage.googleapis.com/v1beta", "gemini-2.5-flash", 0),
                     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
    ck_assert_str_eq(cx_gemini_url(pool, "http://127.0.0.1:9/google/v1beta", "gemini-2.5-pro", 1),
                     "http://127.0.0.1:9/google/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
}
END_TEST

START_TEST(test_request_full)
{
    char *body = request(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Describe \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/webp;base64,UklGRg==\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a/cat.PNG?size=2\"}}]}],"
        "\"temperature\":0.2,\"top_p\":0.5,\"max_tokens\":100,\"stop\":[\"END\",\"STOP\"],\"seed\":3,"
        "\"presence_penalty\":0.5,\"frequency_penalty\":0.25,\"n\":2,"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}},"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"additionalProperties\":false}}}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}", 0);
    assert_json(body, strlen(body),
        "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Describe \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\"},"
        "{\"inlineData\":{\"mimeType\":\"image/webp\",\"data\":\"UklGRg==\"}},"
        "{\"fileData\":{\"mimeType\":\"image/png\",\"fileUri\":\"https://example.com/a/cat.PNG?size=2\"}}]}],"
        "\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},"
        "\"generationConfig\":{\"temperature\":0.2,\"topP\":0.5,\"presencePenalty\":0.5,\"frequencyPenalty\":0.25,"
        "\"seed\":3,\"maxOutputTokens\":100,\"candidateCount\":2,\"stopSequences\":[\"END\",\"STOP\"],"
        "\"responseMimeType\":\"application/json\",\"responseJsonSchema\":{\"type\":\"object\"}},"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"description\":\"Weather\","
        "\"parametersJsonSchema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"additionalProperties\":false}}]}],"
        "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"get_weather\"]}}}");
}
END_TEST

START_TEST(test_request_multi_turn_tool_use)
{
    char *body = request(
        "{\"model\":\"m\",\"messages\":["
        "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
        "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\":18}\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"noon\"},"
        "{\"role\":\"assistant\",\"content\":\"\"},"
        "{\"role\":\"assistant\",\"content\":\"Paris: 18C at noon.\"},"
        "{\"role\":\"user\",\"content\":\"Thanks\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}],\"tool_choice\":\"auto\"}", 1);
    assert_json(body, strlen(body),
        "{\"contents\":["
        "{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in Paris and Rome?\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}},"
        "{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}]},"
        "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"temp\":18}}},"
        "{\"functionResponse\":{\"name\":\"get_time\",\"response\":{\"output\":\"noon\"}}}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"Paris: 18C at noon.\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"text\":\"Thanks\"}]}],"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_weather\"},{\"name\":\"get_time\"}]}],"
        "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}}");
}
END_TEST

START_TEST(test_request_refusals)
{
    struct { const char *req; int stream; const char *param; } cases[] = {
        {"{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 1, "n"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}", 0, "messages"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"file_id\":\"f\"}}]}]}",
         0, "messages[0].content[0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apr_size_t len;
        const char *err = NULL, *param = NULL;
        char *body = cx_gemini_request(pool, J(cases[i].req), cases[i].stream, &len, &err, &param);
        ck_assert_msg(body == NULL, "case %zu translated: %s", i, body);
        ck_assert_str_eq(param, cases[i].param);
    }
}
END_TEST

START_TEST(test_response_text_and_usage)
{
    const char *doc =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"thinking...\",\"thought\":true},"
        "{\"text\":\"Hello \"},{\"text\":\"w\xc3\xb6rld \xf0\x9f\x98\x80\"}]},\"finishReason\":\"STOP\",\"index\":0,"
        "\"safetyRatings\":[]}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":4,"
        "\"thoughtsTokenCount\":6,\"cachedContentTokenCount\":8,\"totalTokenCount\":22},"
        "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}";
    cx_usage_t u;
    apr_size_t len;
    char *out = cx_gemini_response(pool, doc, strlen(doc), "gemini-2.5-flash", "r9", 42, &u, &len);
    assert_json(out, len,
        "{\"id\":\"chatcmpl-r9\",\"object\":\"chat.completion\",\"created\":42,\"model\":\"gemini-2.5-flash\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello w\xc3\xb6rld \xf0\x9f\x98\x80\","
        "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":10,\"total_tokens\":22,"
        "\"prompt_tokens_details\":{\"cached_tokens\":8}}}");
    ck_assert_uint_eq(u.prompt_tokens, 12);
    ck_assert_uint_eq(u.completion_tokens, 10);
    ck_assert_uint_eq(u.cache_read_tokens, 8);
}
END_TEST

START_TEST(test_response_function_calls)
{
    const char *doc =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
        "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}},"
        "{\"functionCall\":{\"id\":\"g-7\",\"name\":\"get_time\",\"args\":{}}}]},\"finishReason\":\"STOP\"}],"
        "\"usageMetadata\":{\"promptTokenCount\":20,\"candidatesTokenCount\":5}}";
    cx_usage_t u;
    apr_size_t len;
    char *out = cx_gemini_response(pool, doc, strlen(doc), "m", "r1", 1, &u, &len);
    assert_json(out, len,
        "{\"id\":\"chatcmpl-r1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"call_r1_0\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
        "{\"id\":\"g-7\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}],"
        "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":5,\"total_tokens\":25,\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
}
END_TEST

START_TEST(test_response_safety_and_blocked)
{
    const char *safety = "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[]},\"finishReason\":\"SAFETY\","
                         "\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\",\"probability\":\"HIGH\","
                         "\"blocked\":true}]}],\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9}}";
    cx_usage_t u;
    apr_size_t len;
    char *out = cx_gemini_response(pool, safety, strlen(safety), "m", "a", 1, &u, &len);
    assert_json(out, len,
        "{\"id\":\"chatcmpl-a\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
        "\"logprobs\":null,\"finish_reason\":\"content_filter\"}],\"usage\":{\"prompt_tokens\":9,"
        "\"completion_tokens\":0,\"total_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":0}}}");

    const char *blocked = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\",\"safetyRatings\":[]},"
                          "\"usageMetadata\":{\"promptTokenCount\":7,\"totalTokenCount\":7}}";
    out = cx_gemini_response(pool, blocked, strlen(blocked), "m", "b", 1, &u, &len);
    assert_json(out, len,
        "{\"id\":\"chatcmpl-b\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
        "\"logprobs\":null,\"finish_reason\":\"content_filter\"}],\"usage\":{\"prompt_tokens\":7,"
        "\"completion_tokens\":0,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
    ck_assert_ptr_null(cx_gemini_response(pool, "[1,2]", 5, "m", "b", 1, &u, &len));
    ck_assert_ptr_null(cx_gemini_response(pool, "{}", 2, "m", "b", 1, &u, &len));
}
END_TEST

START_TEST(test_finish_reasons)
{
    ck_assert_str_eq(cx_gemini_finish_reason("STOP", 0), "stop");
    ck_assert_str_eq(cx_gemini_finish_reason("STOP", 1), "tool_calls");
    ck_assert_str_eq(cx_gemini_finish_reason("MAX_TOKENS", 0), "length");
    const char *filtered[] = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                              "IMAGE_SAFETY"};
    for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++)
        ck_assert_str_eq(cx_gemini_finish_reason(filtered[i], 0), "content_filter");
    ck_assert_str_eq(cx_gemini_finish_reason("MALFORMED_FUNCTION_CALL", 0), "stop");
    ck_assert_str_eq(cx_gemini_finish_reason(NULL, 0), "stop");
}
END_TEST

/* ------------------------------------------------------------------ stream */

static const char *feed(cx_xstream_t *st, const char *const *evs, size_t n, cx_chunk_action_t *last)
{
    const char *all = "";
    for (size_t i = 0; i < n; i++) {
        apr_array_header_t *out = cx_chunks_make(pool);
        *last = cx_gemini_stream_event(pool, st, evs[i], strlen(evs[i]), out);
        for (int k = 0; k < out->nelts; k++)
            all = apr_pstrcat(pool, all, *all ? "\n" : "", APR_ARRAY_IDX(out, k, cx_chunk_t).data, NULL);
    }
    return all;
}

static const char *end(cx_xstream_t *st, int *complete)
{
    apr_array_header_t *out = cx_chunks_make(pool);
    *complete = cx_gemini_stream_end(pool, st, out);
    const char *all = "";
    for (int k = 0; k < out->nelts; k++)
        all = apr_pstrcat(pool, all, *all ? "\n" : "", APR_ARRAY_IDX(out, k, cx_chunk_t).data, NULL);
    return all;
}

#define HEAD "{\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"gemini-2.5-flash\",\"choices\":[{\"index\":0,\"delta\":"
#define TAIL(f) ",\"logprobs\":null,\"finish_reason\":" f "}]}"

START_TEST(test_stream_text_golden)
{
    const char *evs[] = {
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":11,\"totalTokenCount\":11}}",
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo \xe2\x9c\x93\"}]},\"index\":0}]}",
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":11,\"candidatesTokenCount\":3,\"totalTokenCount\":14}}",
    };
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "gemini-2.5-flash", 1, "s1", 5);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, 3, &last);
    ck_assert_int_eq(last, CX_CHUNK_FORWARD);
    ck_assert_str_eq(all,
        HEAD "{\"role\":\"assistant\",\"content\":\"\"}" TAIL("null") "\n"
        HEAD "{\"content\":\"Hel\"}" TAIL("null") "\n"
        HEAD "{\"content\":\"lo \xe2\x9c\x93\"}" TAIL("null") "\n"
        HEAD "{}" TAIL("\"stop\""));
    int complete;
    const char *tail = end(&st, &complete);
    ck_assert(complete);
    ck_assert_str_eq(tail,
        "{\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"gemini-2.5-flash\","
        "\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3,\"total_tokens\":14,"
        "\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
}
END_TEST

START_TEST(test_stream_function_calls)
{
    const char *evs[] = {
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\","
        "\"args\":{\"city\":\"Paris\"}}},{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}]},"
        "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":30,\"candidatesTokenCount\":8}}",
    };
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "gemini-2.5-flash", 0, "s1", 5);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, 1, &last);
    ck_assert_str_eq(all,
        HEAD "{\"role\":\"assistant\",\"content\":\"\"}" TAIL("null") "\n"
        HEAD "{\"tool_calls\":[{\"id\":\"call_s1_0\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"},\"index\":0}]}" TAIL("null") "\n"
        HEAD "{\"tool_calls\":[{\"id\":\"call_s1_1\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
        "\"arguments\":\"{}\"},\"index\":1}]}" TAIL("null") "\n"
        HEAD "{}" TAIL("\"tool_calls\""));
    int complete;
    ck_assert_str_eq(end(&st, &complete), "");   /* no usage chunk: not asked */
    ck_assert(complete);
    ck_assert_uint_eq(st.usage.completion_tokens, 8);
}
END_TEST

START_TEST(test_stream_blocked_prompt_and_cut)
{
    const char *blocked[] = {"{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},"
                             "\"usageMetadata\":{\"promptTokenCount\":4}}"};
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "gemini-2.5-flash", 0, "s1", 5);
    cx_chunk_action_t last;
    const char *all = feed(&st, blocked, 1, &last);
    ck_assert_str_eq(all,
        HEAD "{\"role\":\"assistant\",\"content\":\"\"}" TAIL("null") "\n"
        HEAD "{}" TAIL("\"content_filter\""));
    int complete;
    end(&st, &complete);
    ck_assert(complete);

    /* a stream that stops before any finishReason was cut */
    const char *partial[] = {"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}"};
    cx_xstream_init(&st, pool, "gemini-2.5-flash", 1, "s1", 5);
    feed(&st, partial, 1, &last);
    ck_assert_str_eq(end(&st, &complete), "");
    ck_assert(!complete);
}
END_TEST

START_TEST(test_stream_error_object)
{
    const char *evs[] = {"{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}"};
    cx_xstream_t st;
    cx_xstream_init(&st, pool, "m", 0, "s1", 5);
    cx_chunk_action_t last;
    const char *all = feed(&st, evs, 1, &last);
    ck_assert_int_eq(last, CX_CHUNK_ERROR);
    assert_json(all, strlen(all), "{\"error\":{\"message\":\"The model is overloaded.\",\"type\":\"server_error\","
                                  "\"param\":null,\"code\":\"UNAVAILABLE\"}}");
}
END_TEST

START_TEST(test_errors_classified)
{
    cx_upstream_error_t e;
    const char *bad = "{\"error\":{\"code\":400,\"message\":\"Invalid JSON payload received.\",\"status\":\"INVALID_ARGUMENT\"}}";
    cx_gemini_error(pool, 400, bad, strlen(bad), &e);
    ck_assert(!e.retry);
    ck_assert_int_eq(e.status, 400);
    ck_assert_str_eq(e.type, "invalid_request_error");
    ck_assert_str_eq(e.message, "Invalid JSON payload received.");
    ck_assert_str_eq(e.code, "INVALID_ARGUMENT");

    const char *key = "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\","
                      "\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
                      "\"reason\":\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]}}";
    cx_gemini_error(pool, 400, key, strlen(key), &e);
    ck_assert(e.retry);

    const char *quota = "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}";
    cx_gemini_error(pool, 429, quota, strlen(quota), &e);
    ck_assert(e.retry);
    cx_gemini_error(pool, 503, "oops", 4, &e);
    ck_assert(e.retry);
    cx_gemini_error(pool, 404, "", 0, &e);
    ck_assert(e.retry);
}
END_TEST

static Suite *gemini_suite(void)
{
    Suite *s = suite_create("cx_gemini");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_url);
    tcase_add_test(tc, test_request_full);
    tcase_add_test(tc, test_request_multi_turn_tool_use);
    tcase_add_test(tc, test_request_refusals);
    tcase_add_test(tc, test_response_text_and_usage);
    tcase_add_test(tc, test_response_function_calls);
    tcase_add_test(tc, test_response_safety_and_blocked);
    tcase_add_test(tc, test_finish_reasons);
    tcase_add_test(tc, test_stream_text_golden);
    tcase_add_test(tc, test_stream_function_calls);
    tcase_add_test(tc, test_stream_blocked_prompt_and_cut);
    tcase_add_test(tc, test_stream_error_object);
    tcase_add_test(tc, test_errors_classified);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(gemini_suite());
}
