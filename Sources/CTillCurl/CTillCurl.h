#ifndef C_TILL_CURL_H
#define C_TILL_CURL_H

#include <curl/curl.h>

#endif
