#include "cx_password.h"
#include "cx_keys.h"

#include <apr_strings.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

const char *cx_password_hash(apr_pool_t *p, const char *password)
{
    /* NULL rbytes: libcrypt reads the salt from the kernel's CSPRNG itself. */
    char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
    if (!setting)
        return NULL;
    struct crypt_data *data = apr_pcalloc(p, sizeof *data);
    const char *h = crypt_r(password, setting, data);
    free(setting);
    if (!h || h[0] == '*')
        return NULL;
    return apr_pstrdup(p, h);
}

int cx_password_verify(const char *password, const char *hash)
{
    if (!password || !hash || hash[0] != '$')
        return 0;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data)
        return 0;
    const char *h = crypt_r(password, hash, data);
    int ok = h && h[0] != '*' && strlen(h) == strlen(hash) && cx_ct_equal(h, hash, strlen(hash));
    explicit_bzero(data, sizeof *data);
    free(data);
    return ok;
}
