#ifndef C_TILL_OPENSSL_SHIMS_H
#define C_TILL_OPENSSL_SHIMS_H

// Wrappers for the OpenSSL calls Swift cannot make comfortably: function-like macros,
// OSSL_PARAM arrays that point at C string literals, and thread-local state.
// Every symbol is prefixed `till_` so it cannot collide with another package's shims.
//
// OpenSSL types are forward-declared rather than included so that this module does not
// carry a second copy of the OpenSSL headers next to CTillOpenSSL; pointers to these
// incomplete structs import into Swift as OpaquePointer, the same as CTillOpenSSL's.

#include <stddef.h>

struct evp_md_ctx_st;
struct evp_mac_ctx_st;

/// Sizes the Swift code relies on; shims.c checks each against OpenSSL's own constant.
enum {
    TILL_SHA256_DIGEST_LENGTH = 32,
    TILL_AES256_KEY_LENGTH = 32,
    TILL_GCM_NONCE_LENGTH = 12,
    TILL_GCM_TAG_LENGTH = 16,
    TILL_KEY_WRAP_OVERHEAD = 8,
};

/// The OpenSSL version this process runs against, for diagnostics.
const char *till_openssl_version(void);

/// Borrows this thread's cached digest context, creating it on first use, so that
/// one-shot hashing allocates nothing once warm. Returns NULL when the context is already
/// borrowed on this thread (re-entrant use) or cannot be created; the caller then uses a
/// fresh context of its own. Every non-NULL result must be given back with
/// `till_thread_digest_ctx_release` on the same thread.
struct evp_md_ctx_st *till_thread_digest_ctx_acquire(void);

/// Gives back the context borrowed with `till_thread_digest_ctx_acquire`.
void till_thread_digest_ctx_release(struct evp_md_ctx_st *ctx);

/// Selects the digest of an HMAC context by name ("SHA256"). Returns 1 on success.
int till_mac_ctx_set_digest(struct evp_mac_ctx_st *ctx, const char *digest_name);

/// SHA-256 of the byte `prefix` followed by `length` bytes at `data`, into 32 bytes at
/// `out`: an RFC 6962 leaf hash (prefix 0) without copying the entry. Cannot fail.
void till_sha256_prefixed(unsigned char prefix, const void *data, size_t length, unsigned char *out);

/// SHA-256 of prefix || left (32 bytes) || right (32 bytes) into `out`: with prefix 1, an
/// RFC 6962 node hash.
void till_sha256_pair(unsigned char prefix, const unsigned char *left, const unsigned char *right, unsigned char *out);

/// Frees memory that OpenSSL allocated (OPENSSL_free is a function-like macro).
void till_openssl_free(void *pointer);

#endif
