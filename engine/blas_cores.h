// OpenBLAS picks its kernels at load time from the CPU model (DYNAMIC_ARCH builds). A release that
// does not know the CPU falls back to its oldest x86-64 kernels: Debian 12's OpenBLAS 0.3.21 runs
// Prescott (SSE3) kernels on an AVX-512 Xeon of model 207 (Emerald Rapids), 4-5x below what its
// SkylakeX/Cooperlake kernels reach there (docs/benchmarks.md). tune_blas_cores() fixes that once
// at the edge: when the loaded kernels use a narrower instruction set than this CPU (and the OS)
// support, it re-initialises OpenBLAS with the widest kernels it has for that instruction set, as
// OPENBLAS_CORETYPE would. A user's own OPENBLAS_CORETYPE is always left alone.
#pragma once

#include <string>

namespace marquee {

struct BlasCores {
  std::string before;  // OpenBLAS's core when we looked ("Prescott"), empty when not OpenBLAS
  std::string after;   // the core in use now
  std::string reason;  // why it changed or not, for the log
  bool changed() const { return before != after; }
};

/// Call before any BLAS work, from one thread (process start: the CLI's main, the Python module's
/// import, the benchmarks). Later calls return the first answer. MARQUEE_BLAS_CORES=keep turns it off.
BlasCores tune_blas_cores();

/// The instruction-set level of an OpenBLAS core name: 1 SSE, 2 AVX, 3 AVX2, 4 AVX-512, 5 AVX-512
/// with BF16; 0 for names it does not know (left alone).
int blas_core_level(const std::string& core);

/// The widest level this CPU and OS support (same scale), and the core OpenBLAS offers for it.
int cpu_blas_level();
const char* blas_core_for_level(int level);

}  // namespace marquee
