#pragma once
// libcurl, reached through dlopen on the first remote request. Linking it
// would make every process map libcurl and the ~30 libraries it needs
// (TLS, Kerberos, LDAP, SSH, ...) before main, which costs local commands
// several milliseconds of start-up; only URLs need it.
#include <curl/curl.h>

#include "vramsnap/error.hpp"

namespace vramsnap::remote {

// The entry points the HTTP code uses, with libcurl's own signatures.
struct CurlApi {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  curl_version_info_data* (*version_info)(CURLversion);
};

// The system's libcurl (soname libcurl.so.4, 7.85 or later), loaded and
// initialised once per process and never unloaded. A host without it gets
// a Compat error that says what to install; nothing else changes.
Result<const CurlApi*> curl_api();

// The loading itself, for tests: `soname` must be a bare soname (no '/'),
// so only the loader's system search applies, never a relative path.
Result<CurlApi> load_curl(const char* soname);

}  // namespace vramsnap::remote
