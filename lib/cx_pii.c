#include "cx_pii.h"

#include <apr_strings.h>
#include <string.h>

static const char *const placeholders[CX_PII__COUNT] = {
    [CX_PII_EMAIL] = "[REDACTED_EMAIL]",
    [CX_PII_SSN] = "[REDACTED_SSN]",
    [CX_PII_PHONE] = "[REDACTED_PHONE]",
    [CX_PII_CARD] = "[REDACTED_CARD]",
};

const char *cx_pii_placeholder(cx_pii_kind_t kind)
{
    return (unsigned)kind < CX_PII__COUNT ? placeholders[kind] : "[REDACTED]";
}

/* ------------------------------------------------------------------ scanning */

typedef struct {
    const unsigned char *s;
    apr_size_t len;
    apr_size_t steps;
} scan_t;

/* Every byte the grammars look at goes through here, so steps is an honest
 * measure of the work done. -1 past the end. */
static int at(scan_t *sc, apr_size_t i)
{
    sc->steps++;
    return i < sc->len ? sc->s[i] : -1;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_alnum(int c) { return is_digit(c) || is_alpha(c); }

/* Number of consecutive digits from i, counting at most max+1 of them. */
static apr_size_t digits_at(scan_t *sc, apr_size_t i, apr_size_t max)
{
    apr_size_t n = 0;
    while (n <= max && is_digit(at(sc, i + n)))
        n++;
    return n;
}

/* Can a number start at i? Not inside a word or an identifier, and not as the
 * continuation of another number ("ORD-555-...", "3.555...", "1,555..."). */
static int number_left_ok(scan_t *sc, apr_size_t i)
{
    if (i == 0)
        return 1;
    int c = at(sc, i - 1);
    if (is_alnum(c) || c == '_' || c == '@' || c == '/' || c == '\\' || c == '$' || c == '+')
        return 0;
    /* "ORD-555-123-4567", "id_4111...": part of an identifier. */
    if (c == '-' && i >= 2 && is_alnum(at(sc, i - 2)))
        return 0;
    /* "3.555", "1,555", "12:55": part of a decimal, a grouped number or a time. */
    if ((c == '.' || c == ',' || c == ':') && i >= 2 && is_digit(at(sc, i - 2)))
        return 0;
    return 1;
}

/* Does a number that ends before e stand alone? Not followed by a letter, digit,
 * an address or the rest of a larger number ("...4567.5", "...4567-12"). */
static int number_right_ok(scan_t *sc, apr_size_t e)
{
    int c = at(sc, e);
    if (c < 0)
        return 1;
    if (is_alnum(c) || c == '_' || c == '@')
        return 0;
    if ((c == '.' || c == ',' || c == '-' || c == '/' || c == ':') && is_digit(at(sc, e + 1)))
        return 0;
    return 1;
}

/* ---- payment cards */

#define CARD_MAX_DIGITS 19
#define CARD_MAX_GROUPS 8

static int luhn_ok(scan_t *sc, apr_size_t from, apr_size_t to)
{
    int sum = 0, dbl = 0;
    for (apr_size_t j = to; j-- > from;) {
        int c = at(sc, j);
        if (!is_digit(c))
            continue;
        int d = c - '0';
        if (dbl) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

static apr_size_t match_card(scan_t *sc, apr_size_t i)
{
    apr_size_t ends[CARD_MAX_GROUPS];
    unsigned int glen[CARD_MAX_GROUPS];
    int ng = 0, sep = 0;
    unsigned int total = 0;
    apr_size_t pos = i;
    for (;;) {
        apr_size_t n = digits_at(sc, pos, CARD_MAX_DIGITS - total);
        if (total + n > CARD_MAX_DIGITS)
            break;          /* this group would make the number too long for a card */
        pos += n;
        glen[ng] = (unsigned int)n;
        ends[ng] = pos;
        total += (unsigned int)n;
        if (++ng == CARD_MAX_GROUPS)
            break;
        int c = at(sc, pos);
        if ((c == ' ' || c == '-') && (sep == 0 || sep == c) && is_digit(at(sc, pos + 1))) {
            sep = c;
            pos++;
            continue;
        }
        break;
    }
    int first = at(sc, i);
    if (first < '2' || first > '6')
        return 0;
    for (int k = ng; k >= 1; k--) {
        unsigned int t = 0;
        int shape = 1;
        for (int g = 0; g < k; g++) {
            t += glen[g];
            if (k > 1 && (g == 0 ? glen[g] != 4 : (glen[g] < 3 || glen[g] > 6)))
                shape = 0;
        }
        if (!shape || t < 13 || t > CARD_MAX_DIGITS)
            continue;
        if (!number_right_ok(sc, ends[k - 1]))
            continue;
        if (luhn_ok(sc, i, ends[k - 1]))
            return ends[k - 1];
    }
    return 0;
}

/* ---- US social security numbers */

static int ssn_fields_ok(int area, int group, int serial)
{
    return area > 0 && area != 666 && area < 900 && group > 0 && serial > 0;
}

static int num_at(scan_t *sc, apr_size_t i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++)
        v = v * 10 + (at(sc, i + (apr_size_t)k) - '0');
    return v;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Does the text just before i end with word (lowercase ASCII), as a whole word? */
static int word_before(scan_t *sc, apr_size_t i, const char *word)
{
    apr_size_t n = strlen(word);
    if (i < n)
        return 0;
    for (apr_size_t k = 0; k < n; k++)
        if (lower(at(sc, i - n + k)) != word[k])
            return 0;
    return i == n || !is_alpha(at(sc, i - n - 1));
}

/* Nine bare digits count as an SSN only right after "SSN" or "social security
 * number/no", with a little punctuation in between ("SSN: ", "SSN#", "SSN - "). */
static int ssn_keyword_before(scan_t *sc, apr_size_t i)
{
    apr_size_t j = i;
    for (int k = 0; k < 4 && j > 0; k++) {
        int c = at(sc, j - 1);
        if (c == ' ' || c == ':' || c == '#' || c == '=' || c == '-' || c == '.' || c == '(')
            j--;
        else
            break;
    }
    if (word_before(sc, j, "ssn"))
        return 1;
    static const char *const tails[] = { "number", "no" };
    for (int t = 0; t < 2; t++) {
        apr_size_t n = strlen(tails[t]);
        if (word_before(sc, j, tails[t]) && j >= n + 1 && at(sc, j - n - 1) == ' ' &&
            word_before(sc, j - n - 1, "social security"))
            return 1;
    }
    return 0;
}

static apr_size_t match_ssn(scan_t *sc, apr_size_t i)
{
    if (digits_at(sc, i, 9) == 9 && !is_digit(at(sc, i + 9))) {
        if (ssn_keyword_before(sc, i) && number_right_ok(sc, i + 9) &&
            ssn_fields_ok(num_at(sc, i, 3), num_at(sc, i + 3, 2), num_at(sc, i + 5, 4)))
            return i + 9;
        return 0;
    }
    if (digits_at(sc, i, 3) != 3)
        return 0;
    int sep = at(sc, i + 3);
    if (sep != '-' && sep != ' ')
        return 0;
    if (digits_at(sc, i + 4, 2) != 2 || at(sc, i + 6) != sep || digits_at(sc, i + 7, 4) != 4)
        return 0;
    if (!number_right_ok(sc, i + 11))
        return 0;
    if (!ssn_fields_ok(num_at(sc, i, 3), num_at(sc, i + 4, 2), num_at(sc, i + 7, 4)))
        return 0;
    return i + 11;
}

/* ---- phone numbers */

static int phone_sep(int c)
{
    return c == '-' || c == '.' || c == ' ';
}

/* NANP: [+1|1<sep>] (AAA) EEE-SSSS | AAA<sep>EEE<sep>SSSS; area code 2-9xx. */
static apr_size_t match_us_phone(scan_t *sc, apr_size_t i)
{
    apr_size_t pos = i;
    if (at(sc, pos) == '+') {
        if (at(sc, pos + 1) != '1')
            return 0;
        pos += 2;
        if (phone_sep(at(sc, pos)))
            pos++;
    }
    else if (at(sc, pos) == '1' && phone_sep(at(sc, pos + 1)) &&
             (is_digit(at(sc, pos + 2)) || at(sc, pos + 2) == '(')) {
        pos += 2;
    }
    int area0, sep1;
    if (at(sc, pos) == '(') {
        if (digits_at(sc, pos + 1, 3) != 3 || at(sc, pos + 4) != ')')
            return 0;
        area0 = at(sc, pos + 1);
        pos += 5;
        sep1 = ')';
        if (at(sc, pos) == ' ')
            pos++;
    }
    else {
        if (digits_at(sc, pos, 3) != 3)
            return 0;
        area0 = at(sc, pos);
        sep1 = at(sc, pos + 3);
        if (!phone_sep(sep1))
            return 0;
        pos += 4;
    }
    if (digits_at(sc, pos, 3) != 3)
        return 0;
    int sep2 = at(sc, pos + 3);
    if (!phone_sep(sep2))
        return 0;
    /* Dots only as a consistent style (555.123.4567), never mixed with others. */
    if ((sep1 == '.' || sep2 == '.') && sep1 != sep2)
        return 0;
    pos += 4;
    if (digits_at(sc, pos, 4) != 4)
        return 0;
    pos += 4;
    /* No NANP area code starts with 0 or 1 ("123-456-7890" reaches nobody). The
     * exchange rule (also 2-9) is not applied: 555-123-4567 is how people write
     * numbers in examples and tests, and missing those would look like a miss. */
    if (area0 < '2')
        return 0;
    return number_right_ok(sc, pos) ? pos : 0;
}

#define E164_MIN_DIGITS 9
#define E164_MAX_DIGITS 15
#define E164_MAX_GROUPS 12

/* '+' then 9..15 digits in groups separated by single spaces or dashes, with at
 * most one parenthesised group such as the "(0)" of "+44 (0)20 7946 0958". */
static apr_size_t match_e164(scan_t *sc, apr_size_t i)
{
    apr_size_t pos = i + 1;
    int c = at(sc, pos);
    if (!is_digit(c) || c == '0')
        return 0;
    apr_size_t ends[E164_MAX_GROUPS];
    unsigned int totals[E164_MAX_GROUPS];
    int ng = 0, paren_used = 0;
    unsigned int total = 0;
    for (;;) {
        int paren = 0;
        if (at(sc, pos) == '(') {
            if (ng == 0 || paren_used)
                break;
            paren = 1;
        }
        apr_size_t n = digits_at(sc, pos + (apr_size_t)paren, E164_MAX_DIGITS);
        if (n == 0 || total + n > E164_MAX_DIGITS)
            break;
        if (paren && at(sc, pos + 1 + n) != ')')
            break;
        pos += n + (apr_size_t)(2 * paren);
        paren_used |= paren;
        total += (unsigned int)n;
        ends[ng] = pos;
        totals[ng] = total;
        if (++ng == E164_MAX_GROUPS)
            break;
        c = at(sc, pos);
        if ((c == ' ' || c == '-') && (is_digit(at(sc, pos + 1)) || at(sc, pos + 1) == '(')) {
            pos++;
            continue;
        }
        if (c == '(' || (paren && is_digit(c)))
            continue;
        break;
    }
    for (int k = ng; k >= 1; k--)
        if (totals[k - 1] >= E164_MIN_DIGITS && number_right_ok(sc, ends[k - 1]))
            return ends[k - 1];
    return 0;
}

/* ---- email addresses */

#define EMAIL_LOCAL_MAX 64
#define EMAIL_DOMAIN_MAX 255

static int is_local(int c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int is_domain(int c)
{
    return is_alnum(c) || c == '.' || c == '-';
}

/* Labels of 1..63 letters, digits and inner dashes; at least two; the last one
 * (the TLD) of >= 2 letters or an xn-- IDN label. */
static int domain_ok(scan_t *sc, apr_size_t from, apr_size_t to)
{
    int labels = 0;
    apr_size_t ls = from;
    for (apr_size_t j = from; j <= to; j++) {
        if (j < to && at(sc, j) != '.')
            continue;
        apr_size_t n = j - ls;
        if (n == 0 || n > 63 || at(sc, ls) == '-' || at(sc, j - 1) == '-')
            return 0;
        labels++;
        if (j == to) {
            int idn = n > 4 && lower(at(sc, ls)) == 'x' && lower(at(sc, ls + 1)) == 'n' &&
                      at(sc, ls + 2) == '-' && at(sc, ls + 3) == '-';
            if (!idn) {
                if (n < 2)
                    return 0;
                for (apr_size_t k = ls; k < j; k++)
                    if (!is_alpha(at(sc, k)))
                        return 0;
            }
        }
        ls = j + 1;
    }
    return labels >= 2;
}

/* a is the position of an '@'; the local part may not reach back before floor. */
static int match_email(scan_t *sc, apr_size_t a, apr_size_t floor, apr_size_t *start,
                       apr_size_t *end)
{
    apr_size_t st = a;
    while (st > floor && a - st < EMAIL_LOCAL_MAX && is_local(at(sc, st - 1)))
        st--;
    if (st > floor && is_local(at(sc, st - 1)))
        return 0;   /* longer than any real local part */
    while (st < a && at(sc, st) == '.')
        st++;
    if (st == a)
        return 0;
    apr_size_t e = a + 1;
    while (e - a - 1 < EMAIL_DOMAIN_MAX && is_domain(at(sc, e)))
        e++;
    if (is_domain(at(sc, e)))
        return 0;
    while (e > a + 1 && (at(sc, e - 1) == '.' || at(sc, e - 1) == '-'))
        e--;
    if (e == a + 1 || !domain_ok(sc, a + 1, e))
        return 0;
    int c = at(sc, e);
    if (c == '@' || c == '_')
        return 0;
    *start = st;
    *end = e;
    return 1;
}

/* ------------------------------------------------------------------ output */

typedef struct {
    apr_pool_t *pool;
    char *buf;
    apr_size_t len, cap;
} outbuf_t;

static void out_append(outbuf_t *o, const char *data, apr_size_t n)
{
    if (o->len + n + 1 > o->cap) {
        apr_size_t cap = o->cap ? o->cap : 64;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *nb = apr_palloc(o->pool, cap);
        if (o->len)
            memcpy(nb, o->buf, o->len);
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

unsigned int cx_pii_redact(apr_pool_t *p, const char *in, apr_size_t len, const char **out,
                           apr_size_t *out_len, cx_pii_stats_t *stats)
{
    scan_t sc = { (const unsigned char *)in, len, 0 };
    outbuf_t o = { p, NULL, 0, 0 };
    apr_size_t i = 0, copied = 0, email_floor = 0;
    unsigned int count = 0;
    while (i < len) {
        int c = at(&sc, i);
        apr_size_t start = i, end = 0;
        cx_pii_kind_t kind = CX_PII_PHONE;
        if (c == '@') {
            apr_size_t floor = email_floor > copied ? email_floor : copied;
            if (match_email(&sc, i, floor, &start, &end))
                kind = CX_PII_EMAIL;
            email_floor = i + 1;
        }
        else if ((is_digit(c) || c == '(' || c == '+') && number_left_ok(&sc, i)) {
            if (c == '+') {
                if (!(end = match_us_phone(&sc, i)))
                    end = match_e164(&sc, i);
            }
            else if (c == '(') {
                end = match_us_phone(&sc, i);
            }
            else if ((end = match_card(&sc, i))) {
                kind = CX_PII_CARD;
            }
            else if ((end = match_ssn(&sc, i))) {
                kind = CX_PII_SSN;
            }
            else {
                end = match_us_phone(&sc, i);
            }
        }
        if (!end) {
            i++;
            continue;
        }
        out_append(&o, in + copied, start - copied);
        const char *ph = placeholders[kind];
        out_append(&o, ph, strlen(ph));
        copied = i = end;
        count++;
        if (stats)
            stats->found[kind]++;
    }
    if (stats) {
        stats->total += count;
        stats->steps += sc.steps;
    }
    if (!count) {
        *out = in;
        *out_len = len;
        return 0;
    }
    out_append(&o, in + copied, len - copied);
    *out = o.buf;
    *out_len = o.len;
    return count;
}

/* ------------------------------------------------------------------ chat bodies */

static unsigned int redact_json_string(apr_pool_t *p, json_t *str, cx_pii_stats_t *stats)
{
    const char *out;
    apr_size_t out_len;
    unsigned int n = cx_pii_redact(p, json_string_value(str), json_string_length(str), &out,
                                   &out_len, stats);
    /* Placeholders are ASCII and only replace ASCII, so the UTF-8 stays valid. */
    if (n && json_string_setn(str, out, out_len) != 0)
        return 0;
    return n;
}

/* Members of content parts that hold addresses, binary data or enumerations:
 * rewriting them would corrupt an image or an audio clip, not protect anyone. */
static int skipped_member(const char *key)
{
    static const char *const skip[] = {
        "type", "image_url", "url", "detail", "input_audio", "data", "format",
        "file_data", "file_id", NULL
    };
    for (int k = 0; skip[k]; k++)
        if (!strcmp(key, skip[k]))
            return 1;
    return 0;
}

static unsigned int redact_part(apr_pool_t *p, json_t *v, int depth, cx_pii_stats_t *stats)
{
    unsigned int n = 0;
    if (depth > 8)
        return 0;
    if (json_is_string(v))
        return redact_json_string(p, v, stats);
    if (json_is_array(v)) {
        for (size_t k = 0; k < json_array_size(v); k++)
            n += redact_part(p, json_array_get(v, k), depth + 1, stats);
    }
    else if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach(v, key, member)
            if (!skipped_member(key))
                n += redact_part(p, member, depth + 1, stats);
    }
    return n;
}

static unsigned int redact_arguments(apr_pool_t *p, json_t *function, cx_pii_stats_t *stats)
{
    json_t *args = json_is_object(function) ? json_object_get(function, "arguments") : NULL;
    return json_is_string(args) ? redact_json_string(p, args, stats) : 0;
}

unsigned int cx_pii_redact_chat(apr_pool_t *p, json_t *req, cx_pii_stats_t *stats)
{
    unsigned int n = 0;
    json_t *messages = json_object_get(req, "messages");
    for (size_t m = 0; m < json_array_size(messages); m++) {
        json_t *msg = json_array_get(messages, m);
        if (!json_is_object(msg))
            continue;
        json_t *content = json_object_get(msg, "content");
        if (json_is_string(content))
            n += redact_json_string(p, content, stats);
        else if (json_is_array(content))
            n += redact_part(p, content, 0, stats);
        json_t *calls = json_object_get(msg, "tool_calls");
        for (size_t k = 0; k < json_array_size(calls); k++)
            n += redact_arguments(p, json_object_get(json_array_get(calls, k), "function"), stats);
        n += redact_arguments(p, json_object_get(msg, "function_call"), stats);
    }
    return n;
}
