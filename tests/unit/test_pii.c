/* Unit tests for cx_pii: a corpus of positives (each with its exact redacted text)
 * and negatives (left untouched), the JSON walk over chat requests including
 * JSON-escaped input and the re-encoded upstream body, and the linear-time bound
 * on adversarial inputs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cx_unit.h"
#include "cx_json.h"
#include "cx_openai.h"
#include "cx_pii.h"

#define EM "[REDACTED_EMAIL]"
#define SS "[REDACTED_SSN]"
#define PH "[REDACTED_PHONE]"
#define CC "[REDACTED_CARD]"

/* Positives: input and the exact redacted text. */
static const struct { const char *in, *out; } positives[] = {
    {"john.doe@example.com", EM},
    {"Contact: jane_smith@mail.example.org.", "Contact: " EM "."},
    {"mail me at a.b-c+tag@sub.domain.co.uk today", "mail me at " EM " today"},
    {"<bob@example.net>", "<" EM ">"},
    {"(alice@example.io)", "(" EM ")"},
    {"mailto:support@conduix.dev", "mailto:" EM},
    {"first.last@company-name.com, second@x.org", EM ", " EM},
    {"UPPER.CASE@EXAMPLE.COM", EM},
    {"x@y.io", EM},
    {"user%ops@example.com", EM},
    {"5551234567@txt.att.net", EM},
    {"send to \"quoted\" person@example.museum now", "send to \"quoted\" " EM " now"},
    {"emails: a@example.com;b@example.com", "emails: " EM ";" EM},
    {"trailing dot: me@example.com.", "trailing dot: " EM "."},
    {"'single@quotes.example'", "'" EM "'"},
    {"Écrivez à jean.dupont@exemple.fr s'il vous plaît", "Écrivez à " EM " s'il vous plaît"},
    {"邮箱：zhang.san@example.cn，谢谢", "邮箱：" EM "，谢谢"},
    {"メール: taro@example.jp。", "メール: " EM "。"},
    {"📧 hello@emoji.example 🎉", "📧 " EM " 🎉"},
    {"idn: user@xn--bcher-kva.example", "idn: " EM},
    {"tab\tsep@example.com\tend", "tab\t" EM "\tend"},
    {"line1\nnew.line@example.com\nline3", "line1\n" EM "\nline3"},
    {"git@github.com", EM},
    {"https://user:secret@example.com/path", "https://user:" EM "/path"},
    {"a@b.co", EM},
    {"123-45-6789", SS},
    {"SSN 078-05-1120 on file", "SSN " SS " on file"},
    {"my ssn is 219 09 9999.", "my ssn is " SS "."},
    {"SSN: 123456789", "SSN: " SS},
    {"ssn#123456789", "ssn#" SS},
    {"Social Security Number 536224321", "Social Security Number " SS},
    {"social security no. 536224321", "social security no. " SS},
    {"(123-45-6789)", "(" SS ")"},
    {"ids: 001-01-0001, 899-99-9999", "ids: " SS ", " SS},
    {"社会保障番号 123-45-6789 です", "社会保障番号 " SS " です"},
    {"ssn=\"123-45-6789\"", "ssn=\"" SS "\""},
    {"SSN - 456789123", "SSN - " SS},
    {"555-123-4567", PH},
    {"Call (555) 123-4567 now", "Call " PH " now"},
    {"(555)123-4567", PH},
    {"555.123.4567", PH},
    {"555 123 4567", PH},
    {"+1 555 123 4567", PH},
    {"+1-555-123-4567", PH},
    {"+1 (555) 123-4567", PH},
    {"+1.555.123.4567", PH},
    {"1-800-555-0199", PH},
    {"1 (800) 555-0199", PH},
    {"+15551234567", PH},
    {"tel:+1-212-555-0143", "tel:" PH},
    {"Phone:212-555-0143.", "Phone:" PH "."},
    {"call 555-123-4567 ext. 89", "call " PH " ext. 89"},
    {"555-123-4567 / 555-987-6543", PH " / " PH},
    {"电话：(415) 555-2671。", "电话：" PH "。"},
    {"📞 415-555-2671", "📞 " PH},
    {"\"phone\": \"312-555-0100\"", "\"phone\": \"" PH "\""},
    {"Tel.415.555.2671", "Tel." PH},
    {"cell 555 123-4567", "cell " PH},
    {"+44 20 7946 0958", PH},
    {"+4915112345678", PH},
    {"+33 1 23 45 67 89", PH},
    {"+91 98765 43210", PH},
    {"+86 138 0013 8000", PH},
    {"電話：+86 138 0013 8000。", "電話：" PH "。"},
    {"+44 (0)20 7946 0958", PH},
    {"+61-2-9374-4000", PH},
    {"+81 3-1234-5678", PH},
    {"+55 11 91234-5678", PH},
    {"WhatsApp +34 612 345 678 please", "WhatsApp " PH " please"},
    {"+7 495 123-45-67", PH},
    {"Numéro : +33 6 12 34 56 78.", "Numéro : " PH "."},
    {"+971 50 123 4567", PH},
    {"+27 21 123 4567", PH},
    {"+353 1 234 5678", PH},
    {"+49 30 12345678", PH},
    {"+82 2-312-3456", PH},
    {"4111 1111 1111 1111", CC},
    {"4111-1111-1111-1111", CC},
    {"4111111111111111", CC},
    {"card: 4012888888881881 exp 12/29", "card: " CC " exp 12/29"},
    {"5555 5555 5555 4444", CC},
    {"5105-1051-0510-5100", CC},
    {"2223 0031 2200 3222", CC},
    {"378282246310005", CC},
    {"3782 822463 10005", CC},
    {"3714-496353-98431", CC},
    {"6011 1111 1111 1117", CC},
    {"6011000990139424", CC},
    {"30569309025904", CC},
    {"3622 720627 1667", CC},
    {"3566 0020 2036 0505", CC},
    {"6200000000000005", CC},
    {"4917610000000000003", CC},
    {"4222222222222", CC},
    {"(4242 4242 4242 4242)", "(" CC ")"},
    {"pay with 4000056655665556.", "pay with " CC "."},
    {"卡号：4111 1111 1111 1111，谢谢", "卡号：" CC "，谢谢"},
    {"card=\"5200828282828210\"", "card=\"" CC "\""},
    {"Visa 4532015112830366 and MC 5425233430109903", "Visa " CC " and MC " CC},
    {"4111 1111 1111 1111 2029", CC " 2029"},
    {"JCB 3530-1113-3330-0000", "JCB " CC},
    {"Email a@example.com, phone 555-123-4567, SSN 123-45-6789, card 4111111111111111.", "Email " EM ", phone " PH ", SSN " SS ", card " CC "."},
    {"Name: Ana; ana@example.com; +44 20 7946 0958", "Name: Ana; " EM "; " PH},
    {"{\"email\":\"x@example.com\",\"ssn\":\"123-45-6789\"}", "{\"email\":\"" EM "\",\"ssn\":\"" SS "\"}"},
    {"555-123-4567.john@example.com", PH "." EM},
};

/* Negatives: left exactly as they are. */
static const char *const negatives[] = {
    "2024-01-15",
    "2024-01-15T10:30:00Z",
    "2024-01-15T10:30:00.123+05:30",
    "01/15/2024",
    "15.01.2024",
    "12/31/1999 23:59:59",
    "10:30:45",
    "2023-W05",
    "Q3 2024",
    "20240115",
    "Meeting on 2024-03-05 at 14:00",
    "Date: 2024/12/31",
    "1999-12-31 23:59:59.999999",
    "v1.2.3",
    "version 10.15.7",
    "Python 3.11.4",
    "2.4.59-1ubuntu1",
    "node v18.17.1",
    "1.0.0-rc.1+build.123",
    "10.0.19041.1234",
    "libfoo.so.1.2.3",
    "kernel 6.1.0-13-amd64",
    "v2024.01.15",
    "192.168.1.1",
    "10.0.0.255",
    "255.255.255.255",
    "127.0.0.1:8080",
    "fe80::1ff:fe23:4567:890a",
    "172.16.254.1/24",
    "host 10.123.45.67 port 5432",
    "2001:db8::ff00:42:8329",
    "ORD-555-123-4567",
    "Order #A1B2C3",
    "order 123456789",
    "INV-2024-000123",
    "ticket 98765",
    "1Z999AA10123456784",
    "PO-4111111111111111",
    "SKU 12345-678",
    "case 00123456",
    "ref: 2024-000123-45",
    "order_id=A-555-123-4567",
    "id-4111-1111-1111-1111",
    "4111 1111 1111 1112",
    "1234567890123456",
    "4000000000000000",
    "1234 5678 9012 3456",
    "0000 0000 0000 0000",
    "9999999999999999",
    "1700000000000",
    "12345678901234567890",
    "4111 1111 1111 111",
    "411111111111111111111",
    "$1,299.99",
    "€ 1.234,56",
    "USD 4,111,111,111.11",
    "Total: $12,345,678.90",
    "1,000,000 tokens",
    "price 0.000150 per 1K",
    "₹ 98,765.43",
    "£ 555.12",
    "-123.45",
    "1e-9 credits",
    "978-3-16-148410-0",
    "ISBN 0-306-40615-2",
    "9780306406157",
    "123e4567-e89b-12d3-a456-426614174000",
    "sha256:4111111111111111aaaa",
    "0x4111111111111111",
    "commit 5551234567abc",
    "1700000000",
    "1700000000123",
    "90210-1234",
    "40.7128, -74.0060",
    "lat=51.5074 lon=-0.1278",
    "123-456-7890",
    "555-1234",
    "(12) 345-6789",
    "+05:30",
    "+1234",
    "+12 500 000",
    "3+4155551234",
    "call 911",
    "555-123-45678",
    "1555-123-4567",
    "555-123-4567-8",
    "5551234567",
    "555--123--4567",
    "555.123-4567",
    "000-12-3456",
    "666-12-3456",
    "900-12-3456",
    "123-00-4567",
    "123-45-0000",
    "123456789",
    "account 536224321",
    "12-345-6789",
    "123-456-789",
    "@channel",
    "@Override",
    "user@localhost",
    "name@domain",
    "a@b.c",
    "foo@123.456",
    "lodash@4.17.21",
    "@types/node@18.0.0",
    "user@@example.com",
    "email me @ example.com",
    "a@-example.com",
    "x@example.c0m",
    "@",
    "a@",
    "@b.com",
    "no at sign here",
    "",
    "hello world",
    "Привет, мир",
    "こんにちは世界",
    "🙂🙃",
    "math: 3 + 4 = 7",
    "x",
};

#define NPOS (sizeof positives / sizeof positives[0])
#define NNEG (sizeof negatives / sizeof negatives[0])

static unsigned int count_placeholders(const char *s)
{
    unsigned int n = 0;
    for (const char *p = s; (p = strstr(p, "[REDACTED_")); p++)
        n++;
    return n;
}

static const char *redact(const char *in, unsigned int *count, cx_pii_stats_t *st)
{
    const char *out;
    apr_size_t out_len;
    *count = cx_pii_redact(pool, in, strlen(in), &out, &out_len, st);
    ck_assert_uint_eq(out_len, strlen(out));
    return out;
}

START_TEST(corpus_is_large_enough)
{
    ck_assert_uint_ge(NPOS, 100);
    ck_assert_uint_ge(NNEG, 100);
}
END_TEST

START_TEST(positive)
{
    unsigned int count;
    cx_pii_stats_t st = {0};
    const char *out = redact(positives[_i].in, &count, &st);
    ck_assert_msg(!strcmp(out, positives[_i].out), "positive %d: '%s' -> '%s', expected '%s'", _i,
                  positives[_i].in, out, positives[_i].out);
    ck_assert_uint_eq(count, count_placeholders(positives[_i].out));
    ck_assert_uint_eq(st.total, count);
    ck_assert_uint_eq(st.found[CX_PII_EMAIL] + st.found[CX_PII_SSN] + st.found[CX_PII_PHONE] +
                      st.found[CX_PII_CARD], count);
    /* Redacting the redacted text finds nothing more. */
    unsigned int again;
    ck_assert_str_eq(redact(out, &again, NULL), out);
    ck_assert_uint_eq(again, 0);
}
END_TEST

START_TEST(negative)
{
    unsigned int count;
    const char *out = redact(negatives[_i], &count, NULL);
    ck_assert_msg(count == 0 && out == negatives[_i], "negative %d: '%s' -> '%s'", _i,
                  negatives[_i], out);
}
END_TEST

/* The kind of each placeholder is the kind that was found. */
START_TEST(kinds_are_typed)
{
    cx_pii_stats_t st = {0};
    unsigned int count;
    redact("a@example.com 123-45-6789 555-123-4567 +44 20 7946 0958 4111111111111111", &count, &st);
    ck_assert_uint_eq(count, 5);
    ck_assert_uint_eq(st.found[CX_PII_EMAIL], 1);
    ck_assert_uint_eq(st.found[CX_PII_SSN], 1);
    ck_assert_uint_eq(st.found[CX_PII_PHONE], 2);
    ck_assert_uint_eq(st.found[CX_PII_CARD], 1);
    ck_assert_str_eq(cx_pii_placeholder(CX_PII_CARD), CC);
}
END_TEST

/* Embedded NUL bytes (legal in JSON strings) do not end the scan. */
START_TEST(length_not_nul_terminated)
{
    const char in[] = "x\0a@example.com";
    const char *out;
    apr_size_t out_len;
    ck_assert_uint_eq(cx_pii_redact(pool, in, sizeof in - 1, &out, &out_len, NULL), 1);
    ck_assert_uint_eq(out_len, 2 + strlen(EM));
    ck_assert_int_eq(memcmp(out, "x\0" EM, out_len), 0);
}
END_TEST

/* ---------------------------------------------------------------- linear time */

/* Adversarial inputs: every position can start a match attempt. The scanner must
 * look at each byte a bounded number of times, whatever the input. */
static const char *const adversarial_units[] = {
    "1 ", "12 ", "4111 ", "1-", "+1 ", "(555) ", "+44 (0)", "a@", "@a.", "555-12", "9", "@",
    "ssn 12345678 ", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@",
    "a.b.c.d.e.f.g.h@", "1.2.3.4.", "555.123.", "+1234567890123456 ",
};

START_TEST(linear_on_adversarial_input)
{
    const char *unit = adversarial_units[_i];
    apr_size_t ulen = strlen(unit);
    apr_size_t steps[2];
    apr_size_t sizes[2] = { 1 << 17, 1 << 19 };
    for (int k = 0; k < 2; k++) {
        apr_size_t n = sizes[k] / ulen * ulen;
        char *s = apr_palloc(pool, n + 1);
        for (apr_size_t off = 0; off < n; off += ulen)
            memcpy(s + off, unit, ulen);
        s[n] = '\0';
        cx_pii_stats_t st = {0};
        const char *out;
        apr_size_t out_len;
        cx_pii_redact(pool, s, n, &out, &out_len, &st);
        /* A small constant number of looks per byte ... */
        ck_assert_msg(st.steps <= 40 * n, "unit '%s': %zu steps for %zu bytes", unit,
                      (size_t)st.steps, (size_t)n);
        steps[k] = st.steps;
    }
    /* ... and four times the input costs (about) four times the work. */
    ck_assert_msg(steps[1] <= 4 * steps[0] + 4096, "unit '%s': %zu then %zu steps", unit,
                  (size_t)steps[0], (size_t)steps[1]);
}
END_TEST

/* ---------------------------------------------------------------- chat bodies */

static json_t *parse(const char *text)
{
    const char *err = NULL;
    json_t *j = cx_json_parse(pool, text, strlen(text), &err);
    ck_assert_msg(j != NULL, "bad test JSON: %s", err ? err : "?");
    return j;
}

/* Redact, build the upstream body, parse that body again: what the provider gets. */
static json_t *upstream_after_redaction(const char *request, unsigned int *count)
{
    json_t *req = parse(request);
    *count = cx_pii_redact_chat(pool, req, NULL);
    apr_size_t len;
    char *body = cx_openai_upstream_body(pool, req, "upstream-model", 0, &len);
    ck_assert_ptr_nonnull(body);
    ck_assert_uint_eq(len, strlen(body));
    return parse(body);
}

static const char *content_of(json_t *doc, size_t m)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(doc, "messages"), m),
                                             "content"));
}

/* The redactor sees decoded strings: \u0040 is an '@', \u002d a '-', \n a newline;
 * the upstream body is valid JSON again, with the escapes it needs. */
START_TEST(json_escaped_text)
{
    unsigned int count;
    json_t *up = upstream_after_redaction(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"mail a\\u0040example.com\\nphone: 555\\u002d123\\u002d4567\\tcard \\\"4111 1111 1111 1111\\\" \\\\ end\"}]}",
        &count);
    ck_assert_uint_eq(count, 3);
    ck_assert_str_eq(content_of(up, 0), "mail " EM "\nphone: " PH "\tcard \"" CC "\" \\ end");
    ck_assert_str_eq(json_string_value(json_object_get(up, "model")), "upstream-model");
}
END_TEST

START_TEST(json_unicode_escapes)
{
    unsigned int count;
    /* U+1F4DE (telephone receiver) as a surrogate pair, then CJK text. */
    json_t *up = upstream_after_redaction(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"\\ud83d\\udcde 415-555-2671 \\u90ae\\u7bb1\\uff1azhang@example.cn\\u3002\"}]}", &count);
    ck_assert_uint_eq(count, 2);
    ck_assert_str_eq(content_of(up, 0), "\xF0\x9F\x93\x9E " PH " \xE9\x82\xAE\xE7\xAE\xB1\xEF\xBC\x9A" EM "\xE3\x80\x82");
}
END_TEST

START_TEST(json_every_message_and_part)
{
    unsigned int count;
    json_t *up = upstream_after_redaction(
        "{\"model\":\"m\",\"user\":\"owner@example.com\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Escalate to ops@example.com\"},"
        "{\"role\":\"user\",\"content\":["
        "  {\"type\":\"text\",\"text\":\"my SSN is 123-45-6789\"},"
        "  {\"type\":\"image_url\",\"image_url\":{\"url\":\"https://img.example.com/a@b.com/4111111111111111.png\",\"detail\":\"low\"}},"
        "  {\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,555-123-4567+4111111111111111\"}},"
        "  {\"type\":\"input_audio\",\"input_audio\":{\"data\":\"4111111111111111\",\"format\":\"wav\"}},"
        "  {\"type\":\"file\",\"file\":{\"filename\":\"cv (jane@example.com).pdf\",\"file_data\":\"4111111111111111\"}}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
        "  \"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"email\\\":\\\"bob@example.com\\\",\\\"phone\\\":\\\"+44 20 7946 0958\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"found card 5555 5555 5555 4444\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"refusal\",\"refusal\":\"I won't share 555-123-4567\"}]}"
        "]}", &count);
    ck_assert_uint_eq(count, 7);
    json_t *msgs = json_object_get(up, "messages");
    ck_assert_str_eq(content_of(up, 0), "Escalate to " EM);
    json_t *parts = json_object_get(json_array_get(msgs, 1), "content");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(parts, 0), "text")),
                     "my SSN is " SS);
    /* Addresses and binary data are never rewritten. */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(parts, 1), "image_url"), "url")),
                     "https://img.example.com/a@b.com/4111111111111111.png");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(parts, 2), "image_url"), "url")),
                     "data:image/png;base64,555-123-4567+4111111111111111");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(parts, 3), "input_audio"), "data")),
                     "4111111111111111");
    json_t *file = json_object_get(json_array_get(parts, 4), "file");
    ck_assert_str_eq(json_string_value(json_object_get(file, "filename")), "cv (" EM ").pdf");
    ck_assert_str_eq(json_string_value(json_object_get(file, "file_data")), "4111111111111111");
    /* Tool call arguments stay a valid JSON document. */
    const char *args = json_string_value(json_object_get(json_object_get(json_array_get(
        json_object_get(json_array_get(msgs, 2), "tool_calls"), 0), "function"), "arguments"));
    json_t *a = parse(args);
    ck_assert_str_eq(json_string_value(json_object_get(a, "email")), EM);
    ck_assert_str_eq(json_string_value(json_object_get(a, "phone")), PH);
    ck_assert_str_eq(content_of(up, 3), "found card " CC);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(json_array_get(msgs, 4), "content"), 0), "refusal")),
                     "I won't share " PH);
    /* Only message content is redacted, not request metadata. */
    ck_assert_str_eq(json_string_value(json_object_get(up, "user")), "owner@example.com");
}
END_TEST

START_TEST(json_nothing_to_redact)
{
    const char *text = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Release 2.4.59 ships on 2024-01-15 for $1,299.99\"}]}";
    json_t *req = parse(text);
    char *before = cx_json_dump(pool, req, NULL);
    ck_assert_uint_eq(cx_pii_redact_chat(pool, req, NULL), 0);
    ck_assert_str_eq(cx_json_dump(pool, req, NULL), before);
}
END_TEST

static Suite *pii_suite(void)
{
    Suite *s = suite_create("pii");
    TCase *tc = tcase_create("corpus");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, corpus_is_large_enough);
    tcase_add_loop_test(tc, positive, 0, (int)NPOS);
    tcase_add_loop_test(tc, negative, 0, (int)NNEG);
    tcase_add_test(tc, kinds_are_typed);
    tcase_add_test(tc, length_not_nul_terminated);
    suite_add_tcase(s, tc);

    tc = tcase_create("linear");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, linear_on_adversarial_input, 0,
                        (int)(sizeof adversarial_units / sizeof adversarial_units[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("chat");
    tcase_add_checked_fixture(tc, cx_unit_pool_setup, cx_unit_pool_teardown);
    tcase_add_test(tc, json_escaped_text);
    tcase_add_test(tc, json_unicode_escapes);
    tcase_add_test(tc, json_every_message_and_part);
    tcase_add_test(tc, json_nothing_to_redact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(pii_suite());
}
