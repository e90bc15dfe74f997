// libcurl's easy interface (Debian: libcurl4-openssl-dev, found through pkg-config "libcurl").
// curl_easy_setopt and curl_easy_getinfo take variable arguments, which Swift cannot call: these
// wrappers take one value of each kind.
#include <curl/curl.h>

typedef size_t (*zoo_curl_data_callback)(char *data, size_t size, size_t count, void *context);
typedef int (*zoo_curl_progress_callback)(void *context, curl_off_t total, curl_off_t now, curl_off_t upload_total,
                                          curl_off_t upload_now);

static inline CURLcode zoo_curl_set_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode zoo_curl_set_offset(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode zoo_curl_set_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode zoo_curl_set_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode zoo_curl_set_data_callback(CURL *curl, CURLoption option, zoo_curl_data_callback value) {
    return curl_easy_setopt(curl, option, value);
}
static inline CURLcode zoo_curl_set_progress_callback(CURL *curl, zoo_curl_progress_callback value) {
    return curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, value);
}
static inline CURLcode zoo_curl_get_long(CURL *curl, CURLINFO info, long *value) {
    return curl_easy_getinfo(curl, info, value);
}
