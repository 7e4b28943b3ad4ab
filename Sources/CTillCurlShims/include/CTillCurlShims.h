#ifndef C_TILL_CURL_SHIMS_H
#define C_TILL_CURL_SHIMS_H

// Typed wrappers for libcurl's variadic calls (curl_easy_setopt, curl_easy_getinfo,
// curl_multi_setopt) and function-like macros, which Swift cannot call. One wrapper per
// argument type, so the compiler checks what Swift passes. Every symbol is prefixed `till_`.

#include <curl/curl.h>

// curl_global_init with CURL_GLOBAL_DEFAULT; call once per process (TillHTTP does).
CURLcode till_curl_global_init_default(void);

// curl_easy_setopt
CURLcode till_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode till_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode till_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode till_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode till_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode till_curl_easy_setopt_write_function(CURL *handle, CURLoption option,
                                              curl_write_callback value);
CURLcode till_curl_easy_setopt_xferinfo_function(CURL *handle, CURLoption option,
                                                 curl_xferinfo_callback value);
// CURLOPT_READFUNCTION, the upload source of an SMTP message (TillMail).
CURLcode till_curl_easy_setopt_read_function(CURL *handle, curl_read_callback value);

CURLcode till_curl_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback value);

// The address curl is about to open a socket to: copies its 4 (IPv4) or 16 (IPv6) bytes
// into `out` and returns that count, or 0 for any other family or a short address.
int till_curl_sockaddr_address(const struct curl_sockaddr *address, unsigned char out[16]);

// curl_easy_getinfo
CURLcode till_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode till_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode till_curl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value);

// curl_multi_setopt
CURLMcode till_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value);

// The `data.result` member of a CURLMSG_DONE message, without Swift touching the union.
CURLcode till_curl_msg_result(const CURLMsg *message);

#endif
