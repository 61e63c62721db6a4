#include "cufft_dyn.h"

#include <dlfcn.h>

#include <mutex>

#include "errors.h"

namespace dsfft {
namespace {

std::mutex g_mutex;
std::vector<std::string> g_candidates = {"libcufft.so.12", "libcufft.so.11", "libcufft.so"};
bool g_tried = false;
CufftApi g_api;
std::string g_error;

template <typename F>
bool bind(void* lib, const char* name, F& fn, std::string& err) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) err = std::string("missing symbol ") + name;
  return fn != nullptr;
}

}  // namespace

void set_cufft_candidates(const std::vector<std::string>& candidates) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_api.planMany) return;  // already loaded: keep the library in use
  g_candidates = candidates;
  g_tried = false;
}

const CufftApi& cufft() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_api.planMany) return g_api;
  if (!g_tried) {
    g_tried = true;
    std::string tried;
    for (const auto& path : g_candidates) {
      void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        const char* why = dlerror();
        tried += "\n  " + path + ": " + (why ? why : "not loadable");
        continue;
      }
      CufftApi api;
      std::string err;
      if (bind(lib, "cufftPlanMany", api.planMany, err) &&
          bind(lib, "cufftSetStream", api.setStream, err) &&
          bind(lib, "cufftExecR2C", api.execR2C, err) &&
          bind(lib, "cufftDestroy", api.destroy, err) &&
          bind(lib, "cufftGetVersion", api.getVersion, err)) {
        api.path = path;
        api.getVersion(&api.version);
        g_api = api;
        return g_api;
      }
      tried += "\n  " + path + ": " + err;
      dlclose(lib);
    }
    g_error = "cuFFT not found (install the pip package nvidia-cufft, or set "
              "DEEPSCREEN_CUFFT to libcufft.so.*); tried:" + tried;
  }
  throw CudaUnavailable(g_error);
}

const char* cufft_result_name(cufftResult r) {
  switch (r) {
    case 0: return "CUFFT_SUCCESS";
    case 1: return "CUFFT_INVALID_PLAN";
    case 2: return "CUFFT_ALLOC_FAILED";
    case 3: return "CUFFT_INVALID_TYPE";
    case 4: return "CUFFT_INVALID_VALUE";
    case 5: return "CUFFT_INTERNAL_ERROR";
    case 6: return "CUFFT_EXEC_FAILED";
    case 7: return "CUFFT_SETUP_FAILED";
    case 8: return "CUFFT_INVALID_SIZE";
    case 10: return "CUFFT_INCOMPLETE_PARAMETER_LIST";
    case 11: return "CUFFT_INVALID_DEVICE";
    case 13: return "CUFFT_NO_WORKSPACE";
    case 14: return "CUFFT_NOT_IMPLEMENTED";
    case 16: return "CUFFT_NOT_SUPPORTED";
    default: return "CUFFT_UNKNOWN_ERROR";
  }
}

}  // namespace dsfft
