#ifndef C_TILL_CURL_SHIMS_H
#define C_TILL_CURL_SHIMS_H

// Typed wrappers for libcurl's variadic calls (curl_easy_setopt, curl_easy_getinfo),
// which Swift cannot call. Every symbol is prefixed `till_`.

#include <curl/curl.h>

CURLcode till_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);

#endif
