/* conduix-admin: ClearSilver rendering. Every page is layout.cs including the page's
 * own template; variables are HTML-escaped by default (Config.VarEscapeMode = html),
 * so a template has to say so explicitly to emit markup from data (it never does).
 * The golden tests call cxa_render_to_string with fixed HDF files. */
#include "admin.h"

#include <stdlib.h>
#include <string.h>

void cxa_hdf_config(HDF *hdf, const char *template_dir)
{
    hdf_set_value(hdf, "Config.VarEscapeMode", "html");
    hdf_set_value(hdf, "Config.DebugEnabled", "0");
    hdf_set_value(hdf, "Config.TimeFooter", "0");
    hdf_set_value(hdf, "Config.WhiteSpaceStrip", "0");
    hdf_set_value(hdf, "Config.CompressionEnabled", "0");
    hdf_set_value(hdf, "hdf.loadpaths.0", template_dir);
}

static NEOERR *append_output(void *ctx, char *s)
{
    return nerr_pass(string_append((STRING *)ctx, s));
}

char *cxa_render_to_string(HDF *hdf, const char *template_dir, const char *page_template,
                           STRING *out)
{
    CSPARSE *cs = NULL;
    NEOERR *err;
    cxa_hdf_config(hdf, template_dir);
    do {
        err = hdf_set_value(hdf, "Page.Template", page_template);
        if (err != STATUS_OK)
            break;
        err = cs_init(&cs, hdf);
        if (err != STATUS_OK)
            break;
        err = cgi_register_strfuncs(cs);
        if (err != STATUS_OK)
            break;
        err = cs_parse_file(cs, "layout.cs");
        if (err != STATUS_OK)
            break;
        err = cs_render(cs, out, append_output);
    } while (0);
    if (cs)
        cs_destroy(&cs);
    if (err != STATUS_OK) {
        STRING msg;
        string_init(&msg);
        nerr_error_string(err, &msg);
        nerr_ignore(&err);
        char *m = strdup(msg.buf ? msg.buf : "unknown ClearSilver error");
        string_clear(&msg);
        return m;
    }
    return NULL;
}
