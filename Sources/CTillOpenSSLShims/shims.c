#include "CTillOpenSSLShims.h"

// The audit verifier hashes one short line at a time; the low-level SHA256_* calls skip
// the EVP layer's per-call provider dispatch. They are deprecated in OpenSSL 3 but remain
// the same assembly underneath.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

// The Swift side sizes buffers with these constants; a mismatch must stop the build, not
// overflow a buffer at run time.
_Static_assert(TILL_SHA256_DIGEST_LENGTH == SHA256_DIGEST_LENGTH, "SHA-256 digest size");
_Static_assert(TILL_SHA256_DIGEST_LENGTH <= EVP_MAX_MD_SIZE, "digest fits EVP_MAX_MD_SIZE");
_Static_assert(TILL_AES256_KEY_LENGTH <= EVP_MAX_KEY_LENGTH, "AES-256 key fits EVP");
_Static_assert(TILL_GCM_NONCE_LENGTH <= EVP_MAX_IV_LENGTH, "GCM nonce fits EVP");
_Static_assert(TILL_GCM_TAG_LENGTH == EVP_GCM_TLS_TAG_LEN, "GCM tag is 16 bytes");
// Swift passes Int for size_t and UInt for unsigned long (ERR_get_error codes).
_Static_assert(sizeof(size_t) == sizeof(intptr_t), "size_t is pointer-sized");
_Static_assert(sizeof(unsigned long) == sizeof(uintptr_t), "unsigned long is pointer-sized");

const char *till_openssl_version(void) {
    return OpenSSL_version(OPENSSL_VERSION);
}

// One EVP_MD_CTX per thread, freed by the pthread key destructor when the thread exits.
static pthread_key_t till_digest_key;
static pthread_once_t till_digest_once = PTHREAD_ONCE_INIT;
static int till_digest_key_ready = 0;
static _Thread_local int till_digest_borrowed = 0;

static void till_digest_ctx_destroy(void *ctx) {
    EVP_MD_CTX_free((EVP_MD_CTX *)ctx);
}

static void till_digest_key_create(void) {
    till_digest_key_ready = pthread_key_create(&till_digest_key, till_digest_ctx_destroy) == 0;
}

struct evp_md_ctx_st *till_thread_digest_ctx_acquire(void) {
    if (till_digest_borrowed) {
        return NULL;
    }
    if (pthread_once(&till_digest_once, till_digest_key_create) != 0 || !till_digest_key_ready) {
        return NULL;
    }
    EVP_MD_CTX *ctx = pthread_getspecific(till_digest_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL) {
            return NULL;
        }
        if (pthread_setspecific(till_digest_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            return NULL;
        }
    }
    till_digest_borrowed = 1;
    return ctx;
}

void till_thread_digest_ctx_release(struct evp_md_ctx_st *ctx) {
    (void)ctx;
    till_digest_borrowed = 0;
}

int till_mac_ctx_set_digest(struct evp_mac_ctx_st *ctx, const char *digest_name) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(ctx, params);
}

void till_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

void till_sha256_prefixed(unsigned char prefix, const void *data, size_t length, unsigned char *out) {
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, &prefix, 1);
    SHA256_Update(&ctx, data, length);
    SHA256_Final(out, &ctx);
}

void till_sha256_pair(unsigned char prefix, const unsigned char *left, const unsigned char *right, unsigned char *out) {
    unsigned char message[65];
    message[0] = prefix;
    memcpy(message + 1, left, 32);
    memcpy(message + 33, right, 32);
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, message, sizeof message);
    SHA256_Final(out, &ctx);
}
