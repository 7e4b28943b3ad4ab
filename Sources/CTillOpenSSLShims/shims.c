#include "CTillOpenSSLShims.h"
#include <openssl/crypto.h>

const char *till_openssl_version(void) {
    return OpenSSL_version(OPENSSL_VERSION);
}
