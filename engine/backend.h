// Backend choice, made once at the edge (`--backend auto|cpu|cuda`); algorithms never #ifdef on it.
// The CUDA entry points below are implemented by host/cuda/ when the build found nvcc, and by
// host/cuda_unavailable.cpp otherwise, so a CPU-only build links and reports "not compiled in".
#pragma once

#include "engine/profiles.h"
#include "engine/als.h"
#include "engine/artwork.h"
#include "engine/scorer.h"
#include "engine/segments.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace marquee {

enum class Backend { Auto, Cpu, Cuda };

/// "auto" | "cpu" | "cuda"; throws ArgumentError otherwise.
Backend parse_backend(const std::string& text);

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

struct MemoryInfo {
  bool known = false;  // false: no CUDA in this build, no device, or the runtime could not answer
  size_t free_bytes = 0;
  size_t total_bytes = 0;
};

/// Free and total memory of `device` (for metrics). Never throws.
MemoryInfo memory_info(int device);

/// Whether this build's CUDA backend can score (the GPU scoring kernels are compiled in).
bool scoring_available();

/// The CUDA scorer. Throws BackendError naming the reason when no device is usable or the
/// capability is not built.
std::unique_ptr<Scorer> make_scorer(const TitleMatrix& titles, const CudaScorerOptions& options = {});

/// Whether this build can train ALS on the GPU.
bool als_available();
/// GPU twin of marquee::train_als (engine/als.h): the same algorithm and starting point, results
/// within float tolerance. Throws BackendError without a usable device, ArgumentError above 96 factors.
AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions,
                   const AlsOptions& options, const std::function<void(size_t)>& progress = {});

/// Whether this build can build profiles on the GPU.
bool profiles_available();

/// GPU twin of marquee::build_profiles (engine/profiles.h): same inputs, same outputs (weights and
/// vectors within float tolerance). Throws BackendError without a usable device.
UserProfiles build_profiles(const Catalog& catalog, const TitleMatrix& titles, std::vector<Event> events,
                            std::vector<std::string> user_ids, const EngagementOptions& options,
                            ProfileBuildStats* stats = nullptr);

/// Whether this build can train k-means on the GPU.
bool kmeans_available();
/// GPU twin of marquee::spherical_kmeans (engine/segments.h): FAISS's algorithm and seeds
/// (engine/kmeans_lloyd.h) with the assignment (cuBLAS SGEMM + argmax) and the centroid sums on the
/// device, then the same re-seeding of empty segments; centroids within float tolerance of FAISS's.
/// Throws ArgumentError as the CPU one does, BackendError without a usable device.
KMeansResult spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& options);

/// Whether this build can choose artwork on the GPU.
bool artwork_available();
/// GPU twin of make_cpu_artwork_chooser (engine/artwork.h): the variant vectors live on `device` in
/// CSR form and a kernel picks, for the selected (user, title) pairs only, the same variant as the
/// CPU (same fmaf order, same tie-break). Throws BackendError without a usable device.
std::unique_ptr<ArtworkChooser> make_artwork_chooser(const Artwork& artwork, int device = 0);

}  // namespace cuda

struct ScorerChoice {
  std::unique_ptr<Scorer> scorer;
  std::string reason;  // why this backend was taken, for the log
  bool on_gpu = false;  // the scorer runs on a CUDA device
};

/// Picks the scorer: cpu; cuda (error when unusable); auto = cuda when a device is present and the
/// CUDA scoring path exists, otherwise cpu.
ScorerChoice choose_scorer(Backend backend, const TitleMatrix& titles, const ScorerOptions& options = {});

/// The artwork chooser that runs where the scorer runs: the CUDA twin beside a CUDA scorer (on
/// options.cuda.device), the CPU one otherwise (options.cpu.threads). `artwork` must outlive it.
std::unique_ptr<ArtworkChooser> choose_artwork_chooser(const ScorerChoice& scorer, const Artwork& artwork,
                                                       const ScorerOptions& options = {});

}  // namespace marquee
