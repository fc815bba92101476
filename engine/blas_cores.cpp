#include "engine/blas_cores.h"

#include <dlfcn.h>
#include <strings.h>

#include <cstdlib>
#include <mutex>

extern "C" char* openblas_get_corename(void);

namespace marquee {
namespace {

struct Level {
  const char* core;
  int level;
};
// OpenBLAS's x86-64 core names (driver/others/dynamic.c) by the widest instruction set they use.
constexpr Level kLevels[] = {
    {"Prescott", 1},   {"Core2", 1},       {"Penryn", 1},      {"Dunnington", 1},   {"Nehalem", 1},
    {"Atom", 1},       {"Nano", 1},        {"Opteron", 1},     {"Opteron_SSE3", 1}, {"Barcelona", 1},
    {"Bobcat", 1},     {"Sandybridge", 2}, {"Bulldozer", 2},   {"Piledriver", 2},   {"Steamroller", 3},
    {"Excavator", 3},  {"Haswell", 3},     {"Zen", 3},         {"SkylakeX", 4},     {"Cooperlake", 5},
    {"SapphireRapids", 5},
};

std::string current_core() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

BlasCores tune_once() {
  BlasCores r;
  r.before = r.after = current_core();
  if (const char* keep = std::getenv("MARQUEE_BLAS_CORES"); keep && std::string(keep) == "keep") {
    r.reason = "MARQUEE_BLAS_CORES=keep";
    return r;
  }
  if (std::getenv("OPENBLAS_CORETYPE")) {
    r.reason = "OPENBLAS_CORETYPE is set";
    return r;
  }
  const int have = blas_core_level(r.before), can = cpu_blas_level();
  if (have == 0 || have >= can) {
    r.reason = have == 0 ? "unknown OpenBLAS core" : "OpenBLAS already uses this CPU's widest kernels";
    return r;
  }
  // Exported by DYNAMIC_ARCH builds only; others keep what they have.
  using Fn = void (*)();
  const auto quit = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  const auto init = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (!quit || !init) {
    r.reason = "this OpenBLAS cannot switch kernels (not a DYNAMIC_ARCH build)";
    return r;
  }
  const char* want = blas_core_for_level(can);
  setenv("OPENBLAS_CORETYPE", want, 0);  // what dynamic_init reads; also inherited by child processes
  quit();
  init();
  r.after = current_core();
  r.reason = r.changed() ? "OpenBLAS did not recognise this CPU (" + r.before + " kernels)"
                         : "OpenBLAS has no " + std::string(want) + " kernels";
  return r;
}

}  // namespace

int blas_core_level(const std::string& core) {
  for (const Level& l : kLevels)
    if (strcasecmp(l.core, core.c_str()) == 0) return l.level;  // OpenBLAS ignores case too
  return 0;
}

int cpu_blas_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return __builtin_cpu_supports("avx512bf16") ? 5 : 4;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 3;
  if (__builtin_cpu_supports("avx")) return 2;
  return 1;
}

const char* blas_core_for_level(int level) {
  switch (level) {
    case 5: return "Cooperlake";
    case 4: return "SkylakeX";
    case 3: return "Haswell";
    case 2: return "Sandybridge";
    default: return "Prescott";
  }
}

BlasCores tune_blas_cores() {
  static std::once_flag once;
  static BlasCores result;
  std::call_once(once, [] { result = tune_once(); });
  return result;
}

}  // namespace marquee
