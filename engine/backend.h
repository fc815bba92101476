// Backend choice, made once at the edge (`--backend auto|cpu|cuda`); algorithms never #ifdef on it.
// The CUDA entry points below are implemented by host/cuda/ when the build found nvcc, and by
// host/cuda_unavailable.cpp otherwise, so a CPU-only build links and reports "not compiled in".
#pragma once

#include "engine/scorer.h"

#include <memory>
#include <string>
#include <vector>

namespace marquee {

enum class Backend { Auto, Cpu, Cuda };

/// "auto" | "cpu" | "cuda"; throws ArgumentError otherwise.
Backend parse_backend(const std::string& text);

namespace cuda {

struct DeviceReport {
  bool compiled_in = false;          // this build has the CUDA backend
  int device_count = 0;              // usable devices (0 when none or no driver)
  std::string error;                 // why there are none, from the CUDA runtime
  std::vector<std::string> devices;  // "NVIDIA H200 (sm_90, 139 GiB)"
};

/// Asks the CUDA runtime which devices exist. Never throws; a machine without a GPU or driver
/// answers device_count = 0 with the runtime's reason.
DeviceReport query_devices();

/// Whether this build's CUDA backend can score (the GPU scoring kernels are compiled in).
bool scoring_available();

/// The CUDA scorer. Throws BackendError naming the reason when no device is usable or the
/// capability is not built.
std::unique_ptr<Scorer> make_scorer(const TitleMatrix& titles);

}  // namespace cuda

struct ScorerChoice {
  std::unique_ptr<Scorer> scorer;
  std::string reason;  // why this backend was taken, for the log
};

/// Picks the scorer: cpu; cuda (error when unusable); auto = cuda when a device is present and the
/// CUDA scoring path exists, otherwise cpu.
ScorerChoice choose_scorer(Backend backend, const TitleMatrix& titles, const CpuScorerOptions& cpu_options);

}  // namespace marquee
