/* Conduix secret box (see cx_secretbox.h): OpenSSL EVP AES-256-GCM. */
#include "cx_secretbox.h"

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN 16

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *cx_secretbox_read_key(apr_pool_t *p, const char *path,
                                  unsigned char key[CX_SECRETBOX_KEY_LEN])
{
    apr_file_t *f;
    char buf[130];
    apr_size_t n = sizeof buf;
    if (apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS)
        return apr_psprintf(p, "cannot read the key file %s", path);
    apr_status_t rv = apr_file_read_full(f, buf, sizeof buf, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "cannot read the key file %s", path);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    const char *err = NULL;
    if (n == CX_SECRETBOX_KEY_LEN) {
        memcpy(key, buf, CX_SECRETBOX_KEY_LEN);
    }
    else if (n == 2 * CX_SECRETBOX_KEY_LEN) {
        for (int i = 0; i < CX_SECRETBOX_KEY_LEN; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                err = apr_psprintf(p, "the key file %s is not 64 hex digits", path);
                break;
            }
            key[i] = (unsigned char)(hi << 4 | lo);
        }
    }
    else {
        err = apr_psprintf(p, "the key file %s must hold 32 bytes or 64 hex digits", path);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return err;
}

const char *cx_secretbox_seal(apr_pool_t *p, const unsigned char key[CX_SECRETBOX_KEY_LEN],
                              const char *plaintext, const char *aad)
{
    size_t len = strlen(plaintext);
    unsigned char *raw = apr_palloc(p, NONCE_LEN + len + TAG_LEN);
    const char *result = NULL;
    int outl = 0, finl = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return NULL;
    if (apr_generate_random_bytes(raw, NONCE_LEN) != APR_SUCCESS)
        goto done;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, raw) != 1)
        goto done;
    if (aad && *aad && EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, (int)strlen(aad)) != 1)
        goto done;
    if (EVP_EncryptUpdate(ctx, raw + NONCE_LEN, &outl, (const unsigned char *)plaintext, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, raw + NONCE_LEN + outl, &finl) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + len) != 1)
        goto done;
    {
        int total = (int)(NONCE_LEN + len + TAG_LEN);
        char *b64 = apr_palloc(p, (apr_size_t)apr_base64_encode_len(total));
        apr_base64_encode(b64, (const char *)raw, total);
        result = apr_pstrcat(p, CX_SECRETBOX_PREFIX, b64, NULL);
    }
done:
    EVP_CIPHER_CTX_free(ctx);
    return result;
}

const char *cx_secretbox_open(apr_pool_t *p, const unsigned char key[CX_SECRETBOX_KEY_LEN],
                              const char *sealed, const char *aad)
{
    size_t plen = strlen(CX_SECRETBOX_PREFIX);
    if (!sealed || strncmp(sealed, CX_SECRETBOX_PREFIX, plen))
        return NULL;
    const char *b64 = sealed + plen;
    for (const char *c = b64; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '+' || *c == '/' || *c == '='))
            return NULL;
    unsigned char *raw = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64));
    int n = apr_base64_decode_binary(raw, b64);
    if (n < NONCE_LEN + TAG_LEN)
        return NULL;
    int len = n - NONCE_LEN - TAG_LEN, outl = 0, finl = 0;
    char *plain = apr_palloc(p, (apr_size_t)len + 1);
    const char *result = NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return NULL;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) != 1)
        goto done;
    if (aad && *aad && EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, (int)strlen(aad)) != 1)
        goto done;
    if (EVP_DecryptUpdate(ctx, (unsigned char *)plain, &outl, raw + NONCE_LEN, len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + len) != 1)
        goto done;
    /* The tag is verified here: a failure means tampering or the wrong key/aad. */
    if (EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + outl, &finl) != 1) {
        OPENSSL_cleanse(plain, (size_t)len + 1);
        goto done;
    }
    plain[outl + finl] = '\0';
    result = plain;
done:
    EVP_CIPHER_CTX_free(ctx);
    return result;
}
