/* Conduix sealed secrets (see cx_seal.h): AES-256-GCM through OpenSSL's EVP API. */
#include "cx_seal.h"

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN 16
#define MAX_PLAIN (64 * 1024)

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int cx_seal_key_load(apr_pool_t *p, const char *path, cx_seal_key_t **out, const char **err)
{
    apr_file_t *f;
    unsigned char buf[130];
    apr_size_t len = sizeof buf;
    if (!path || apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS) {
        *err = apr_psprintf(p, "secret key file %s cannot be read", path ? path : "(none)");
        return -1;
    }
    apr_status_t rv = apr_file_read_full(f, buf, sizeof buf, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(p, "secret key file %s cannot be read", path);
        return -1;
    }
    cx_seal_key_t *k = apr_palloc(p, sizeof *k);
    apr_size_t n = len;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    int ok = 0;
    if (len == CX_SEAL_KEY_LEN) {
        memcpy(k->bytes, buf, CX_SEAL_KEY_LEN);
        ok = 1;
    }
    else if (n == 2 * CX_SEAL_KEY_LEN) {
        ok = 1;
        for (int i = 0; i < CX_SEAL_KEY_LEN && ok; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            k->bytes[i] = (unsigned char)(hi << 4 | lo);
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok) {
        OPENSSL_cleanse(k->bytes, sizeof k->bytes);
        *err = apr_psprintf(p, "secret key file %s must hold exactly 32 bytes (or 64 hex digits)", path);
        return -1;
    }
    *out = k;
    return 0;
}

int cx_seal_is_sealed(const char *stored)
{
    return stored && !strncmp(stored, CX_SEAL_PREFIX, sizeof CX_SEAL_PREFIX - 1);
}

const char *cx_seal(apr_pool_t *p, const cx_seal_key_t *key, const char *aad, const char *plain,
                    const char **err)
{
    size_t plen = plain ? strlen(plain) : 0;
    if (!key || !plain || plen > MAX_PLAIN) {
        *err = !key ? "no secret key configured" : "the value is too long to seal";
        return NULL;
    }
    size_t blen = NONCE_LEN + plen + TAG_LEN;
    unsigned char *blob = apr_palloc(p, blen);
    if (RAND_bytes(blob, NONCE_LEN) != 1) {
        *err = "no random nonce (RAND_bytes failed)";
        return NULL;
    }
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    int ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_EncryptInit_ex(c, NULL, NULL, key->bytes, blob) == 1 &&
             (!aad || EVP_EncryptUpdate(c, NULL, &outl, (const unsigned char *)aad, (int)strlen(aad)) == 1) &&
             EVP_EncryptUpdate(c, blob + NONCE_LEN, &outl, (const unsigned char *)plain, (int)plen) == 1 &&
             EVP_EncryptFinal_ex(c, blob + NONCE_LEN + outl, &finl) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, blob + NONCE_LEN + plen) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok || (size_t)(outl + finl) != plen) {
        *err = "encryption failed";
        return NULL;
    }
    char *b64 = apr_palloc(p, apr_base64_encode_len((int)blen));
    apr_base64_encode(b64, (const char *)blob, (int)blen);
    return apr_pstrcat(p, CX_SEAL_PREFIX, b64, NULL);
}

cx_seal_rc cx_unseal(apr_pool_t *p, const cx_seal_key_t *key, const char *aad, const char *stored,
                     const char **plain, const char **err)
{
    *plain = NULL;
    if (!stored) {
        *err = "no value";
        return CX_SEAL_REFUSED;
    }
    if (!cx_seal_is_sealed(stored)) {
        *plain = stored;
        return CX_SEAL_LEGACY;
    }
    if (!key) {
        *err = "the value is sealed and no secret key is configured";
        return CX_SEAL_REFUSED;
    }
    const char *b64 = stored + sizeof CX_SEAL_PREFIX - 1;
    size_t n = strlen(b64);
    /* apr_base64_decode stops quietly at the first foreign character: check first. */
    for (size_t i = 0; i < n; i++)
        if (!(apr_isalnum(b64[i]) || b64[i] == '+' || b64[i] == '/' || (b64[i] == '=' && i + 2 >= n))) {
            *err = "the sealed value is malformed";
            return CX_SEAL_REFUSED;
        }
    if (n % 4 || n > 2 * MAX_PLAIN) {
        *err = "the sealed value is malformed";
        return CX_SEAL_REFUSED;
    }
    unsigned char *blob = apr_palloc(p, apr_base64_decode_len(b64));
    int blen = apr_base64_decode_binary(blob, b64);
    if (blen < NONCE_LEN + TAG_LEN) {
        *err = "the sealed value is malformed";
        return CX_SEAL_REFUSED;
    }
    int clen = blen - NONCE_LEN - TAG_LEN;
    unsigned char *out = apr_palloc(p, (apr_size_t)clen + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_DecryptInit_ex(c, NULL, NULL, key->bytes, blob) == 1 &&
             (!aad || EVP_DecryptUpdate(c, NULL, &outl, (const unsigned char *)aad, (int)strlen(aad)) == 1) &&
             EVP_DecryptUpdate(c, out, &outl, blob + NONCE_LEN, clen) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, blob + NONCE_LEN + clen) == 1 &&
             EVP_DecryptFinal_ex(c, out + outl, &finl) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, (size_t)clen + 1);
        *err = "the sealed value does not open with this key (wrong key, or altered)";
        return CX_SEAL_REFUSED;
    }
    out[outl + finl] = '\0';
    if (memchr(out, '\0', (size_t)(outl + finl))) {
        *err = "the sealed value is malformed";
        return CX_SEAL_REFUSED;
    }
    *plain = (const char *)out;
    return CX_SEAL_OPENED;
}
