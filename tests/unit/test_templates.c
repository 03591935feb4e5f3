/* Golden tests for the dashboard templates: each page template is rendered through
 * layout.cs exactly as conduix-admin renders it (cxa_render_to_string, html escaping on)
 * with a fixed HDF from tests/golden/<page>.hdf, and compared byte for byte with
 * tests/golden/<page>.html. The fixtures carry script payloads in user-controlled
 * fields, so the goldens also pin the escaping. CX_GOLDEN_UPDATE=1 rewrites the goldens
 * (review the diff before committing). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../admin-cgi/admin.h"
#include "cx_unit.h"

#ifndef CX_SRCDIR
#define CX_SRCDIR "."
#endif

static const char *const signed_in_pages[] = {"usage", "models", "keys", "key_edit", "settings",
                                              "audit", "billing", "members", "providers", "error"};
static const char *const public_pages[] = {"login", "accept"};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

/* Render page with common.hdf (signed-in pages) and <page>.hdf; returns malloc'ed HTML. */
static char *render(const char *page, int signed_in)
{
    HDF *hdf;
    char path[1024];
    ck_assert(hdf_init(&hdf) == STATUS_OK);
    if (signed_in) {
        snprintf(path, sizeof path, "%s/tests/golden/common.hdf", CX_SRCDIR);
        ck_assert_msg(hdf_read_file(hdf, path) == STATUS_OK, "cannot read %s", path);
    }
    snprintf(path, sizeof path, "%s/tests/golden/%s.hdf", CX_SRCDIR, page);
    ck_assert_msg(hdf_read_file(hdf, path) == STATUS_OK, "cannot read %s", path);
    STRING out;
    string_init(&out);
    char tpl[64];
    snprintf(tpl, sizeof tpl, "%s.cs", page);
    snprintf(path, sizeof path, "%s/templates", CX_SRCDIR);
    char *err = cxa_render_to_string(hdf, path, tpl, &out);
    ck_assert_msg(err == NULL, "rendering %s failed: %s", page, err ? err : "");
    char *html = strdup(out.buf ? out.buf : "");
    string_clear(&out);
    hdf_destroy(&hdf);
    return html;
}

static void check_golden(const char *page, int signed_in)
{
    char *html = render(page, signed_in);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/%s.html", CX_SRCDIR, page);
    if (getenv("CX_GOLDEN_UPDATE") && !strcmp(getenv("CX_GOLDEN_UPDATE"), "1")) {
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot write %s", path);
        fputs(html, f);
        fclose(f);
    }
    size_t len = 0;
    char *golden = slurp(path, &len);
    ck_assert_msg(golden != NULL, "%s is missing: run CX_GOLDEN_UPDATE=1 make check", path);
    if (strcmp(html, golden)) {
        size_t i = 0;
        while (html[i] && html[i] == golden[i])
            i++;
        size_t from = i > 80 ? i - 80 : 0;
        ck_abort_msg("%s differs from its golden at byte %zu:\n  rendered: %.160s\n  golden:   %.160s",
                     page, i, html + from, golden + from);
    }
    free(golden);
    free(html);
}

START_TEST(golden_signed_in_pages)
{
    check_golden(signed_in_pages[_i], 1);
}
END_TEST

START_TEST(golden_public_pages)
{
    check_golden(public_pages[_i], 0);
}
END_TEST

/* No fixture payload survives as markup: every one renders escaped. */
START_TEST(payloads_render_inert)
{
    static const char *const raw[] = {"<script>", "<img src=x", "<svg onload", "<b>prod</b>",
                                      "\"><script", "\"><img", "\"><svg onload", "onerror=alert('",
                                      "<credits>", "</code><script"};
    for (size_t p = 0; p < sizeof signed_in_pages / sizeof signed_in_pages[0]; p++) {
        char *html = render(signed_in_pages[p], 1);
        for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
            ck_assert_msg(!strstr(html, raw[i]), "%s renders the raw payload %s", signed_in_pages[p],
                          raw[i]);
        free(html);
    }
    char *html = render("keys", 1);
    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(&#39;key&#39;)&lt;/script&gt;"));
    free(html);
    html = render("login", 0);
    ck_assert_ptr_nonnull(strstr(html, "value=\"&quot;&gt;&lt;script&gt;"));
    free(html);
}
END_TEST

/* Every state-changing form carries the CSRF token. */
START_TEST(every_post_form_has_csrf)
{
    const char *all[12];
    int n = 0;
    for (size_t i = 0; i < sizeof signed_in_pages / sizeof signed_in_pages[0]; i++)
        all[n++] = signed_in_pages[i];
    for (size_t i = 0; i < sizeof public_pages / sizeof public_pages[0]; i++)
        all[n++] = public_pages[i];
    for (int p = 0; p < n; p++) {
        int signed_in = p < (int)(sizeof signed_in_pages / sizeof signed_in_pages[0]);
        char *html = render(all[p], signed_in);
        int forms = 0;
        for (char *f = strstr(html, "<form method=\"post\""); f; f = strstr(f + 1, "<form method=\"post\"")) {
            forms++;
            char *end = strstr(f, "</form>");
            ck_assert_ptr_nonnull(end);
            char *tok = strstr(f, "name=\"csrf\" value=\"");
            ck_assert_msg(tok && tok < end, "%s: a POST form has no csrf field", all[p]);
            ck_assert_msg(tok[19] != '"', "%s: a POST form has an empty csrf field", all[p]);
        }
        ck_assert_msg(forms > 0 || !strcmp(all[p], "error") , "%s has no POST form", all[p]);
        free(html);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("templates");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, golden_signed_in_pages, 0,
                        (int)(sizeof signed_in_pages / sizeof signed_in_pages[0]));
    tcase_add_loop_test(tc, golden_public_pages, 0, (int)(sizeof public_pages / sizeof public_pages[0]));
    tcase_add_test(tc, payloads_render_inert);
    tcase_add_test(tc, every_post_form_has_csrf);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cx_unit_run(suite());
}
