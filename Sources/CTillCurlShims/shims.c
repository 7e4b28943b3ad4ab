#include "CTillCurlShims.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

_Static_assert(sizeof(curl_off_t) == 8, "TillHTTP passes curl_off_t as Int64");

CURLcode till_curl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

CURLcode till_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode till_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode till_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode till_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode till_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode till_curl_easy_setopt_write_function(CURL *handle, CURLoption option,
                                              curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode till_curl_easy_setopt_xferinfo_function(CURL *handle, CURLoption option,
                                                 curl_xferinfo_callback value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode till_curl_easy_setopt_read_function(CURL *handle, curl_read_callback value) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, value);
}

CURLcode till_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLcode till_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLcode till_curl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLMcode till_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

CURLcode till_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

CURLcode till_curl_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback value) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, value);
}

int till_curl_sockaddr_address(const struct curl_sockaddr *address, unsigned char out[16]) {
    // `addr` is declared as a struct sockaddr but curl stores the whole family-specific
    // address there (addrlen bytes).
    if (address->family == AF_INET && address->addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)&address->addr;
        memcpy(out, &v4->sin_addr, 4);
        return 4;
    }
    if (address->family == AF_INET6 && address->addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)&address->addr;
        memcpy(out, &v6->sin6_addr, 16);
        return 16;
    }
    return 0;
}
