/* Conduix fast JSON parser for client requests: builds the same jansson tree as
 * json_loadb(buf, len, JSON_REJECT_DUPLICATES) for ordinary documents in a single
 * pass, at a fraction of jansson's cost per byte (its lexer copies and re-checks every
 * character). It returns NULL, without saying why, for anything it does not handle
 * exactly as jansson does: every syntax error, duplicate keys, \u0000, unpaired
 * surrogates, integers of more than 18 digits, reals that overflow or are written
 * with more than 60 characters, nesting deeper than 512. The caller then parses with
 * jansson, which accepts or rejects (with its error message) exactly as before; so
 * the result is never different, only cheaper. */
#ifndef CX_JPARSE_H
#define CX_JPARSE_H

#include <apr.h>
#include <jansson.h>

/* A new reference (the caller owns it), or NULL: use jansson. */
json_t *cx_jparse(const char *buf, apr_size_t len);

#endif
