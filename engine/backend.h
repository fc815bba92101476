// Backend-neutral names for where work runs (`--backend auto|cpu|cuda`) and the options of each
// backend's scorer. The choice itself is made once, at the edge, by host/backend/resolver.h; the
// CUDA entry points live in host/cuda/entry_points.h. Nothing in engine/ depends on either.
#pragma once

#include "engine/scorer.h"

#include <cstddef>
#include <string>

namespace marquee {

enum class Backend { Auto, Cpu, Cuda };

/// "auto" | "cpu" | "cuda"; throws ArgumentError otherwise.
Backend parse_backend(const std::string& text);
const char* backend_name(Backend backend);

/// Storage/compute precision of the GPU GEMM: fp32 (exact reference), tf32 (fp32 storage, tensor
/// cores), bf16/fp16 (half storage of both matrices, fp32 accumulation).
enum class GpuPrecision { Fp32, Tf32, Bf16, Fp16 };
GpuPrecision parse_gpu_precision(const std::string& text);
const char* gpu_precision_name(GpuPrecision precision);

struct CudaScorerOptions {
  int device = 0;
  GpuPrecision precision = GpuPrecision::Fp32;
  size_t memory_budget = 0;       // bytes of device memory for the title matrix and workspaces; 0 = 80% of free
  size_t max_users_per_tile = 65536;
  size_t titles_per_tile = 16384;
};

/// Options of every backend; each backend reads its own part.
struct ScorerOptions {
  CpuScorerOptions cpu;
  CudaScorerOptions cuda;
};

}  // namespace marquee
