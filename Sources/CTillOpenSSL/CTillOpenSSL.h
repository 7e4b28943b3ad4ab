#ifndef C_TILL_OPENSSL_H
#define C_TILL_OPENSSL_H

// The OpenSSL 3 surface TillCrypto uses. Only TillCrypto imports this module, and only
// with `internal import`, so no OpenSSL type reaches another module's API.

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#endif
