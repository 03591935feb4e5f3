/* Unit tests for cx_validate: every rule is broken once and must be reported
 * with the field path a client can act on. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "cx_unit.h"
#include "cx_validate.h"

/* The body is built from fragments so each case changes one thing only. */
#define USER_HI "{\"role\":\"user\",\"content\":\"hi\"}"
#define MINIMAL "{\"model\":\"gpt-4o-mini\",\"messages\":[" USER_HI "]}"
#define WITH(fields) "{\"model\":\"gpt-4o-mini\",\"messages\":[" USER_HI "]," fields "}"
#define MSGS(list) "{\"model\":\"gpt-4o-mini\",\"messages\":" list "}"
#define CALL_OK "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}"
#define ASSISTANT_WITH_CALLS(calls) "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":" calls "}"
#define PARTS(parts) MSGS("[{\"role\":\"user\",\"content\":" parts "}]")

/* Validates `text`; returns the verdict and fills err. Fails the test when the
 * text is not JSON at all (a broken fixture, not a validation result). */
static int run_validation(const char *text, cx_verr_t *err)
{
    json_error_t jerr;
    json_t *req = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(req != NULL, "fixture is not JSON (%s): %s", jerr.text, text);
    int ok = cx_validate_chat(pool, req, err);
    json_decref(req);
    return ok;
}

static void assert_valid(const char *text)
{
    cx_verr_t err = { NULL, NULL };
    int ok = run_validation(text, &err);
    ck_assert_msg(ok == 1, "expected valid, got \"%s\" for %s", err.message, text);
}

/* ---- valid requests ------------------------------------------------------ */

START_TEST(test_minimal_request_is_valid)
{
    assert_valid(MINIMAL);
    /* The error struct is optional for callers that only want a yes/no. */
    json_t *req = json_loads(MINIMAL, 0, NULL);
    ck_assert_int_eq(cx_validate_chat(pool, req, NULL), 1);
    json_decref(req);
}
END_TEST

START_TEST(test_maximal_request_is_valid)
{
    assert_valid(
        "{\"model\":\"gpt-4o\","
        " \"messages\":["
        "  {\"role\":\"system\",\"content\":\"You are terse.\",\"name\":\"sys\"},"
        "  {\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Be exact.\"}]},"
        "  {\"role\":\"user\",\"name\":\"ann\",\"content\":["
        "     {\"type\":\"text\",\"text\":\"What is on this picture and recording?\"},"
        "     {\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\",\"detail\":\"high\"}},"
        "     {\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}},"
        "     {\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":\"wav\"}},"
        "     {\"type\":\"file\",\"file\":{\"file_id\":\"file-abc\"}},"
        "     {\"type\":\"file\",\"file\":{\"file_data\":\"JVBERi0=\",\"filename\":\"a.pdf\"}}]},"
        "  " ASSISTANT_WITH_CALLS("[" CALL_OK "]") ","
        "  {\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\":21}\"},"
        "  {\"role\":\"assistant\",\"tool_calls\":[" CALL_OK "]},"
        "  {\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":[{\"type\":\"text\",\"text\":\"21\"}]},"
        "  {\"role\":\"assistant\",\"content\":null,\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
        "  {\"role\":\"function\",\"name\":\"f\",\"content\":null},"
        "  {\"role\":\"function\",\"name\":\"f\",\"content\":\"42\"},"
        "  {\"role\":\"assistant\",\"content\":[{\"type\":\"refusal\",\"refusal\":\"No.\"}]},"
        "  {\"role\":\"assistant\",\"content\":\"Sure.\",\"tool_calls\":[]},"
        "  {\"role\":\"user\",\"content\":\"\"}],"
        " \"stream\":true,\"stream_options\":{\"include_usage\":true},"
        " \"temperature\":0.7,\"top_p\":0.9,\"n\":2,\"max_tokens\":100,\"max_completion_tokens\":200,"
        " \"stop\":[\"\\n\\n\",\"END\",\"STOP\",\"###\"],"
        " \"presence_penalty\":-1.5,\"frequency_penalty\":1,\"seed\":-42,\"user\":\"user-1\","
        " \"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "            \"description\":\"Weather by city\",\"strict\":true,"
        "            \"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}},"
        "          {\"type\":\"function\",\"function\":{\"name\":\"A-b_9\"}}],"
        " \"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},"
        " \"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"weather\","
        "            \"strict\":true,\"schema\":{\"type\":\"object\"}}},"
        " \"logit_bias\":{\"50256\":-100,\"1234\":100,\"99\":0.5},"
        " \"logprobs\":true,\"top_logprobs\":5,\"parallel_tool_calls\":false,"
        " \"metadata\":{\"k\":\"v\"},\"reasoning_effort\":\"low\",\"x_vendor_option\":[1,2,3]}");
}
END_TEST

START_TEST(test_null_optionals_count_as_absent)
{
    assert_valid(WITH("\"temperature\":null,\"top_p\":null,\"n\":null,\"stop\":null,"
                      "\"stream\":null,\"stream_options\":null,\"tools\":null,\"tool_choice\":null,"
                      "\"max_tokens\":null,\"seed\":null,\"user\":null,\"response_format\":null,"
                      "\"logit_bias\":null,\"logprobs\":null,\"top_logprobs\":null"));
    assert_valid(MSGS("[{\"role\":\"user\",\"content\":\"x\",\"name\":null},"
                      "{\"role\":\"assistant\",\"content\":\"y\",\"tool_calls\":null,\"function_call\":null}]"));
}
END_TEST

START_TEST(test_range_boundaries_are_inclusive)
{
    assert_valid(WITH("\"temperature\":0,\"top_p\":0,\"n\":1,\"presence_penalty\":-2,"
                      "\"frequency_penalty\":-2,\"top_logprobs\":0,\"max_tokens\":1,"
                      "\"max_completion_tokens\":1"));
    assert_valid(WITH("\"temperature\":2,\"top_p\":1,\"n\":128,\"presence_penalty\":2,"
                      "\"frequency_penalty\":2.0,\"top_logprobs\":20,\"logit_bias\":{\"1\":-100,\"2\":100}"));
    assert_valid(WITH("\"stop\":[]"));
    assert_valid(WITH("\"stop\":\"\\n\""));
    assert_valid(WITH("\"tool_choice\":\"none\""));
    assert_valid(WITH("\"tool_choice\":\"auto\""));
    assert_valid(WITH("\"tool_choice\":\"required\""));
    assert_valid(WITH("\"response_format\":{\"type\":\"text\"}"));
    assert_valid(WITH("\"response_format\":{\"type\":\"json_object\"}"));
    assert_valid(WITH("\"stream\":false"));
    /* 64 characters is the longest allowed tool name. */
    assert_valid(WITH("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                      "\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-\"}}]"));
}
END_TEST

/* ---- one broken rule per case ------------------------------------------- */

typedef struct {
    const char *body;
    const char *param;      /* NULL: the error is about the body as a whole */
    const char *message;    /* the exact message */
} invalid_case;

static const invalid_case invalid_cases[] = {
    /* body */
    { "[]", NULL, "the request body must be a JSON object" },
    { "\"hello\"", NULL, "the request body must be a JSON object" },
    /* model */
    { "{\"messages\":[" USER_HI "]}", "model", "'model' is required" },
    { "{\"model\":\"\",\"messages\":[" USER_HI "]}", "model", "model must be a non-empty string" },
    { "{\"model\":4,\"messages\":[" USER_HI "]}", "model", "model must be a non-empty string" },
    /* messages */
    { "{\"model\":\"m\"}", "messages", "'messages' is required" },
    { MSGS("[]"), "messages", "messages must be a non-empty array" },
    { MSGS("{\"role\":\"user\"}"), "messages", "messages must be a non-empty array" },
    { MSGS("[" USER_HI ",42]"), "messages[1]", "messages[1] must be an object" },
    { MSGS("[{\"content\":\"x\"}]"), "messages[0].role", "'messages[0].role' is required" },
    { MSGS("[" USER_HI "," USER_HI ",{\"role\":\"robot\",\"content\":\"x\"}]"), "messages[2].role",
      "messages[2].role must be one of system, developer, user, assistant, tool, function" },
    { MSGS("[{\"role\":1,\"content\":\"x\"}]"), "messages[0].role",
      "messages[0].role must be one of system, developer, user, assistant, tool, function" },
    { MSGS("[{\"role\":\"user\",\"content\":\"x\",\"name\":5}]"), "messages[0].name",
      "messages[0].name must be a string" },
    /* content */
    { MSGS("[{\"role\":\"user\"}]"), "messages[0].content", "'messages[0].content' is required" },
    { MSGS("[{\"role\":\"user\",\"content\":null}]"), "messages[0].content",
      "messages[0].content may be null only in an assistant message with tool_calls" },
    { MSGS("[{\"role\":\"user\",\"content\":42}]"), "messages[0].content",
      "messages[0].content must be a string or an array of content parts" },
    { MSGS("[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"x\"}}]"), "messages[0].content",
      "messages[0].content must be a string or an array of content parts" },
    { PARTS("[]"), "messages[0].content", "messages[0].content must not be an empty array" },
    { PARTS("[\"hi\"]"), "messages[0].content[0]", "messages[0].content[0] must be an object" },
    { PARTS("[{\"text\":\"x\"}]"), "messages[0].content[0].type",
      "'messages[0].content[0].type' is required" },
    { PARTS("[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"video\"}]"), "messages[0].content[1].type",
      "messages[0].content[1].type must be one of text, image_url, input_audio, file" },
    { PARTS("[{\"type\":\"refusal\",\"refusal\":\"no\"}]"), "messages[0].content[0].type",
      "messages[0].content[0].type must be one of text, image_url, input_audio, file" },
    { PARTS("[{\"type\":\"text\"}]"), "messages[0].content[0].text",
      "'messages[0].content[0].text' is required" },
    { PARTS("[{\"type\":\"text\",\"text\":5}]"), "messages[0].content[0].text",
      "messages[0].content[0].text must be a string" },
    { PARTS("[{\"type\":\"image_url\"}]"), "messages[0].content[0].image_url",
      "'messages[0].content[0].image_url' is required" },
    { PARTS("[{\"type\":\"image_url\",\"image_url\":\"https://example.com/a.png\"}]"),
      "messages[0].content[0].image_url", "messages[0].content[0].image_url must be an object" },
    { PARTS("[{\"type\":\"image_url\",\"image_url\":{}}]"), "messages[0].content[0].image_url.url",
      "'messages[0].content[0].image_url.url' is required" },
    { PARTS("[{\"type\":\"image_url\",\"image_url\":{\"url\":5}}]"),
      "messages[0].content[0].image_url.url", "messages[0].content[0].image_url.url must be a string" },
    { PARTS("[{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\",\"detail\":\"ultra\"}}]"),
      "messages[0].content[0].image_url.detail",
      "messages[0].content[0].image_url.detail must be one of auto, low, high" },
    { PARTS("[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\"}}]"),
      "messages[0].content[0].input_audio.format",
      "'messages[0].content[0].input_audio.format' is required" },
    { PARTS("[{\"type\":\"input_audio\",\"input_audio\":{\"data\":1,\"format\":\"wav\"}}]"),
      "messages[0].content[0].input_audio.data",
      "messages[0].content[0].input_audio.data must be a string" },
    { PARTS("[{\"type\":\"file\",\"file\":{}}]"), "messages[0].content[0].file",
      "messages[0].content[0].file must contain file_id or file_data" },
    { PARTS("[{\"type\":\"file\",\"file\":{\"file_id\":5}}]"), "messages[0].content[0].file.file_id",
      "messages[0].content[0].file.file_id must be a string" },
    /* assistant tool calls */
    { MSGS("[" USER_HI ",{\"role\":\"assistant\",\"content\":null}]"), "messages[1].content",
      "messages[1].content may be null only in an assistant message with tool_calls" },
    { MSGS("[" USER_HI ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]}]"),
      "messages[1].content",
      "messages[1].content may be null only in an assistant message with tool_calls" },
    { MSGS("[" USER_HI ",{\"role\":\"assistant\"}]"), "messages[1].content",
      "'messages[1].content' is required" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS("\"call_1\"") "]"), "messages[1].tool_calls",
      "messages[1].tool_calls must be an array" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS("[" CALL_OK ",7]") "]"), "messages[1].tool_calls[1]",
      "messages[1].tool_calls[1] must be an object" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS(
          "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]") "]"),
      "messages[1].tool_calls[0].id", "'messages[1].tool_calls[0].id' is required" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS(
          "[{\"id\":\"c\",\"type\":\"custom\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]") "]"),
      "messages[1].tool_calls[0].type", "messages[1].tool_calls[0].type must be \"function\"" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS("[{\"id\":\"c\",\"type\":\"function\"}]") "]"),
      "messages[1].tool_calls[0].function", "'messages[1].tool_calls[0].function' is required" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS(
          "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}}]") "]"),
      "messages[1].tool_calls[0].function.name",
      "'messages[1].tool_calls[0].function.name' is required" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS(
          "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]") "]"),
      "messages[1].tool_calls[0].function.arguments",
      "messages[1].tool_calls[0].function.arguments must be a string (the JSON-encoded arguments)" },
    { MSGS("[" USER_HI ",{\"role\":\"assistant\",\"content\":null,\"function_call\":{\"name\":\"f\"}}]"),
      "messages[1].function_call.arguments", "'messages[1].function_call.arguments' is required" },
    /* tool and function results */
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS("[" CALL_OK "]") ",{\"role\":\"tool\",\"content\":\"21\"}]"),
      "messages[2].tool_call_id", "'messages[2].tool_call_id' is required" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS("[" CALL_OK "]")
           ",{\"role\":\"tool\",\"tool_call_id\":1,\"content\":\"21\"}]"),
      "messages[2].tool_call_id", "messages[2].tool_call_id must be a string" },
    { MSGS("[" USER_HI "," ASSISTANT_WITH_CALLS("[" CALL_OK "]")
           ",{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":null}]"),
      "messages[2].content",
      "messages[2].content may be null only in an assistant message with tool_calls" },
    { MSGS("[{\"role\":\"function\",\"content\":\"42\"}]"), "messages[0].name",
      "'messages[0].name' is required" },
    /* streaming */
    { WITH("\"stream\":\"yes\""), "stream", "stream must be a boolean" },
    { WITH("\"stream_options\":{\"include_usage\":true}"), "stream_options",
      "stream_options is only allowed when stream is true" },
    { WITH("\"stream\":false,\"stream_options\":{\"include_usage\":true}"), "stream_options",
      "stream_options is only allowed when stream is true" },
    { WITH("\"stream\":true,\"stream_options\":true"), "stream_options",
      "stream_options must be an object" },
    { WITH("\"stream\":true,\"stream_options\":{\"include_usage\":\"yes\"}"),
      "stream_options.include_usage", "stream_options.include_usage must be a boolean" },
    /* sampling */
    { WITH("\"temperature\":2.5"), "temperature", "temperature must be a number between 0 and 2" },
    { WITH("\"temperature\":-0.1"), "temperature", "temperature must be a number between 0 and 2" },
    { WITH("\"temperature\":\"0.5\""), "temperature", "temperature must be a number between 0 and 2" },
    { WITH("\"top_p\":1.01"), "top_p", "top_p must be a number between 0 and 1" },
    { WITH("\"n\":0"), "n", "n must be an integer between 1 and 128" },
    { WITH("\"n\":129"), "n", "n must be an integer between 1 and 128" },
    { WITH("\"n\":1.5"), "n", "n must be an integer between 1 and 128" },
    { WITH("\"max_tokens\":0"), "max_tokens", "max_tokens must be an integer of at least 1" },
    { WITH("\"max_tokens\":10.0"), "max_tokens", "max_tokens must be an integer of at least 1" },
    { WITH("\"max_completion_tokens\":\"100\""), "max_completion_tokens",
      "max_completion_tokens must be an integer of at least 1" },
    { WITH("\"stop\":5"), "stop", "stop must be a string or an array of at most 4 strings" },
    { WITH("\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "stop",
      "stop must be a string or an array of at most 4 strings" },
    { WITH("\"stop\":[\"a\",1]"), "stop[1]", "stop[1] must be a string" },
    { WITH("\"presence_penalty\":-2.5"), "presence_penalty",
      "presence_penalty must be a number between -2 and 2" },
    { WITH("\"frequency_penalty\":3"), "frequency_penalty",
      "frequency_penalty must be a number between -2 and 2" },
    { WITH("\"seed\":1.5"), "seed", "seed must be an integer" },
    { WITH("\"user\":5"), "user", "user must be a string" },
    /* tools */
    { WITH("\"tools\":{}"), "tools", "tools must be an array" },
    { WITH("\"tools\":[5]"), "tools[0]", "tools[0] must be an object" },
    { WITH("\"tools\":[{\"function\":{\"name\":\"f\"}}]"), "tools[0].type", "'tools[0].type' is required" },
    { WITH("\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]"), "tools[0].type",
      "tools[0].type must be \"function\"" },
    { WITH("\"tools\":[{\"type\":\"function\"}]"), "tools[0].function", "'tools[0].function' is required" },
    { WITH("\"tools\":[{\"type\":\"function\",\"function\":{\"description\":\"d\"}}]"),
      "tools[0].function.name", "'tools[0].function.name' is required" },
    { WITH("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
           "{\"type\":\"function\",\"function\":{\"name\":\"bad name!\"}}]"),
      "tools[1].function.name",
      "tools[1].function.name must be 1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes" },
    { WITH("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"\"}}]"), "tools[0].function.name",
      "tools[0].function.name must be 1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes" },
    { WITH("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
           "\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-x\"}}]"),
      "tools[0].function.name",
      "tools[0].function.name must be 1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes" },
    { WITH("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":5}}]"),
      "tools[0].function.description", "tools[0].function.description must be a string" },
    { WITH("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"{}\"}}]"),
      "tools[0].function.parameters", "tools[0].function.parameters must be an object" },
    /* tool_choice */
    { WITH("\"tool_choice\":\"always\""), "tool_choice",
      "tool_choice must be \"none\", \"auto\", \"required\" or an object naming a function" },
    { WITH("\"tool_choice\":true"), "tool_choice",
      "tool_choice must be \"none\", \"auto\", \"required\" or an object naming a function" },
    { WITH("\"tool_choice\":{\"type\":\"tool\",\"function\":{\"name\":\"f\"}}"), "tool_choice.type",
      "tool_choice.type must be \"function\"" },
    { WITH("\"tool_choice\":{\"type\":\"function\"}"), "tool_choice.function",
      "'tool_choice.function' is required" },
    { WITH("\"tool_choice\":{\"type\":\"function\",\"function\":{}}"), "tool_choice.function.name",
      "'tool_choice.function.name' is required" },
    /* response_format */
    { WITH("\"response_format\":\"json\""), "response_format", "response_format must be an object" },
    { WITH("\"response_format\":{}"), "response_format.type", "'response_format.type' is required" },
    { WITH("\"response_format\":{\"type\":\"yaml\"}"), "response_format.type",
      "response_format.type must be one of text, json_object, json_schema" },
    { WITH("\"response_format\":{\"type\":\"json_schema\"}"), "response_format.json_schema",
      "'response_format.json_schema' is required" },
    { WITH("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}"),
      "response_format.json_schema.name", "'response_format.json_schema.name' is required" },
    { WITH("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"has space\"}}"),
      "response_format.json_schema.name",
      "response_format.json_schema.name must be 1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes" },
    { WITH("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\",\"schema\":5}}"),
      "response_format.json_schema.schema", "response_format.json_schema.schema must be an object" },
    /* logprobs and friends */
    { WITH("\"logit_bias\":[1]"), "logit_bias", "logit_bias must be an object mapping token ids to numbers" },
    { WITH("\"logit_bias\":{\"50256\":101}"), "logit_bias.50256",
      "logit_bias.50256 must be a number between -100 and 100" },
    { WITH("\"logit_bias\":{\"7\":\"ban\"}"), "logit_bias.7",
      "logit_bias.7 must be a number between -100 and 100" },
    { WITH("\"logprobs\":\"true\""), "logprobs", "logprobs must be a boolean" },
    { WITH("\"top_logprobs\":21"), "top_logprobs", "top_logprobs must be an integer between 0 and 20" },
    { WITH("\"top_logprobs\":-1"), "top_logprobs", "top_logprobs must be an integer between 0 and 20" },
    { WITH("\"parallel_tool_calls\":1"), "parallel_tool_calls", "parallel_tool_calls must be a boolean" },
};
#define N_INVALID ((int)(sizeof invalid_cases / sizeof invalid_cases[0]))

START_TEST(test_invalid_case)
{
    const invalid_case *tc = &invalid_cases[_i];
    cx_verr_t err = { NULL, NULL };
    int ok = run_validation(tc->body, &err);
    ck_assert_msg(ok == 0, "case %d accepted: %s", _i, tc->body);
    ck_assert_ptr_nonnull(err.message);
    if (tc->param == NULL)
        ck_assert_msg(err.param == NULL, "case %d: param %s, want none", _i, err.param);
    else
        ck_assert_msg(err.param && strcmp(err.param, tc->param) == 0,
                      "case %d: param \"%s\", want \"%s\" (%s)", _i,
                      err.param ? err.param : "(null)", tc->param, tc->body);
    ck_assert_msg(strcmp(err.message, tc->message) == 0,
                  "case %d: message \"%s\", want \"%s\"", _i, err.message, tc->message);
}
END_TEST

/* The first problem in document order is the one reported, so a client fixing
 * errors one at a time converges. */
START_TEST(test_reports_first_problem)
{
    cx_verr_t err;
    ck_assert_int_eq(run_validation("{\"temperature\":9}", &err), 0);
    ck_assert_str_eq(err.param, "model");
    ck_assert_int_eq(run_validation(MSGS("[{\"role\":\"x\"},{\"role\":\"y\"}]"), &err), 0);
    ck_assert_str_eq(err.param, "messages[0].role");
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("cx_validate");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, test_minimal_request_is_valid);
    tcase_add_test(tc, test_maximal_request_is_valid);
    tcase_add_test(tc, test_null_optionals_count_as_absent);
    tcase_add_test(tc, test_range_boundaries_are_inclusive);
    tcase_add_loop_test(tc, test_invalid_case, 0, N_INVALID);
    tcase_add_test(tc, test_reports_first_problem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(validate_suite());
}
