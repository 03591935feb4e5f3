/* Conduix PII redaction: emails, US social security numbers, phone numbers (US
 * NANP and international E.164 forms) and Luhn-valid payment card numbers are
 * replaced by typed placeholders before a request leaves the gateway.
 *
 * The scanner makes one left-to-right pass over a decoded string. At each
 * position that can start a match it tries a few fixed grammars, each of which
 * looks ahead a bounded number of bytes (at most ~40), and an email is found from
 * its '@' by looking back at most 64 bytes (never behind the previous '@' or the
 * previous match) and ahead at most 255. No regular expressions, no backtracking:
 * the work is linear in the length of the input (the unit tests check the step
 * count on adversarial inputs).
 *
 * Precision matters as much as recall, so the grammars are deliberately strict:
 *  - email   local@domain.tld, ASCII local part [A-Za-z0-9._%+-] (1..64), domain
 *            of >= 2 labels, TLD of >= 2 letters (or an xn-- IDN label);
 *  - SSN     AAA-GG-SSSS or AAA GG SSSS (same separator twice); area 001-899 except
 *            666, group 01-99, serial 0001-9999. Nine bare digits only right after
 *            the word "SSN" or "social security (number|no)";
 *  - phone   US: [+1|1 ]( (AAA) | AAA<sep> ) EEE<sep> SSSS with sep '-', '.' or a
 *            space (bare ten digits are not a phone: too many ids look like that),
 *            the area code starts with 2-9 as NANP requires;
 *            international: '+' then 9..15 digits in groups separated by single
 *            spaces or dashes, optionally one "(0)"-style parenthesised group;
 *  - card    13..19 digits, contiguous or in groups separated by single spaces or
 *            dashes (first group of 4, others of 3..6), first digit 2-6 (the
 *            issuer ranges of Visa, Mastercard, Amex, Discover, JCB, Diners,
 *            UnionPay, Maestro), and a valid Luhn check digit.
 * A match must not touch letters, digits or a continuing number on either side
 * ("ORD-555-123-4567", "v4111111111111111", "555-123-45678" are left alone), so
 * dates, versions, IPs, ISBNs, timestamps, prices and order ids pass unchanged.
 * Bytes >= 0x80 (any non-ASCII UTF-8) count as separators; replacements only ever
 * cover ASCII bytes, so valid UTF-8 stays valid. */
#ifndef CX_PII_H
#define CX_PII_H

#include <apr_pools.h>
#include <jansson.h>

typedef enum {
    CX_PII_EMAIL = 0,
    CX_PII_SSN,
    CX_PII_PHONE,
    CX_PII_CARD,
    CX_PII__COUNT
} cx_pii_kind_t;

typedef struct {
    unsigned int found[CX_PII__COUNT];  /* redactions per kind */
    unsigned int total;
    apr_size_t steps;                   /* bytes examined, for the linearity tests */
} cx_pii_stats_t;

/* "[REDACTED_EMAIL]", "[REDACTED_SSN]", "[REDACTED_PHONE]", "[REDACTED_CARD]". */
const char *cx_pii_placeholder(cx_pii_kind_t kind);

/* Redact len bytes of in. Returns the number of redactions; *out / *out_len get
 * the redacted text (allocated from p, NUL-terminated) or in itself when nothing
 * was found. stats (may be NULL) accumulates. */
unsigned int cx_pii_redact(apr_pool_t *p, const char *in, apr_size_t len, const char **out,
                           apr_size_t *out_len, cx_pii_stats_t *stats);

/* Redact a chat completions request in place: every message's string content,
 * the strings of its content parts (text, refusal, file names; never image URLs,
 * audio or file data, which are binary or addresses), and the arguments of
 * assistant tool calls. Returns the number of redactions. */
unsigned int cx_pii_redact_chat(apr_pool_t *p, json_t *req, cx_pii_stats_t *stats);

#endif
