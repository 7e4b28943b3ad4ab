#ifndef C_TILL_OPENSSL_SHIMS_H
#define C_TILL_OPENSSL_SHIMS_H

// Wrappers for the OpenSSL calls Swift cannot make directly (function-like macros).
// Every symbol is prefixed `till_` so it cannot collide with another package's shims.

#include <stddef.h>

/// The OpenSSL version this process runs against, for diagnostics.
const char *till_openssl_version(void);

#endif
