// Loading libcurl at run time. The soname is looked up exactly as a
// DT_NEEDED entry would be (the loader's cache and system directories, and
// LD_LIBRARY_PATH where the loader honours it), so this opens no path that
// linking libcurl did not; a bare soname is never looked up in the current
// directory. The handle is kept for the life of the process: libcurl and
// the TLS libraries under it do not support being unloaded.
#include "remote/curl_api.h"

#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <string>

#include <fmt/format.h>

namespace vramsnap::remote {
namespace {

// CURLOPT_PROTOCOLS_STR and CURLOPT_REDIR_PROTOCOLS_STR arrived in 7.85.0.
constexpr unsigned kMinVersion = 0x075500;
constexpr const char* kSoname = "libcurl.so.4";

Error missing(const std::string& detail) {
  return Error(ErrorKind::Compat,
               fmt::format("remote sources need libcurl 7.85 or later ({}); install it (Debian: the libcurl4 "
                           "package, libcurl4t64 from trixie on), or copy the snapshot to a local file",
                           detail));
}

template <typename Fn>
bool bind(void* lib, const char* name, Fn& fn, std::string& absent) {
  void* p = dlsym(lib, name);
  if (!p) {
    if (absent.empty()) absent = name;
    return false;
  }
  fn = reinterpret_cast<Fn>(p);
  return true;
}

}  // namespace

Result<CurlApi> load_curl(const char* soname) {
  if (std::strchr(soname, '/')) return Error(ErrorKind::Usage, "libcurl is loaded by soname only");
  void* lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    return missing(why ? why : fmt::format("cannot load {}", soname));
  }
  CurlApi api{};
  std::string absent;
  bool ok = bind(lib, "curl_global_init", api.global_init, absent);
  ok &= bind(lib, "curl_easy_init", api.easy_init, absent);
  ok &= bind(lib, "curl_easy_cleanup", api.easy_cleanup, absent);
  ok &= bind(lib, "curl_easy_reset", api.easy_reset, absent);
  ok &= bind(lib, "curl_easy_setopt", api.easy_setopt, absent);
  ok &= bind(lib, "curl_easy_perform", api.easy_perform, absent);
  ok &= bind(lib, "curl_easy_getinfo", api.easy_getinfo, absent);
  ok &= bind(lib, "curl_easy_strerror", api.easy_strerror, absent);
  ok &= bind(lib, "curl_slist_append", api.slist_append, absent);
  ok &= bind(lib, "curl_slist_free_all", api.slist_free_all, absent);
  ok &= bind(lib, "curl_version_info", api.version_info, absent);
  if (!ok) {
    dlclose(lib);  // nothing of it ran yet
    return missing(fmt::format("{} has no {}", soname, absent));
  }
  const curl_version_info_data* v = api.version_info(CURLVERSION_NOW);
  if (!v || v->version_num < kMinVersion)
    return missing(fmt::format("{} is version {}", soname, v && v->version ? v->version : "unknown"));
  return api;
}

Result<const CurlApi*> curl_api() {
  static std::once_flag once;
  static Result<CurlApi> loaded = Error(ErrorKind::Compat, "libcurl not loaded");
  std::call_once(once, [] {
    loaded = load_curl(kSoname);
    if (loaded.ok() && loaded->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      loaded = Error(ErrorKind::Resource, "libcurl failed to initialise (curl_global_init)");
  });
  if (!loaded.ok()) return loaded.error();
  return &*loaded;
}

}  // namespace vramsnap::remote
