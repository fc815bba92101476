// The CUDA backend's entry points. Implemented by host/cuda/*.cu when the build found nvcc, and by
// host/cuda/cuda_unavailable.cpp otherwise, so a CPU-only build links and answers "not compiled in".
// Jobs do not call these to decide where to run: host/backend/resolver.h does, once.
#pragma once

#include "engine/als.h"
#include "engine/artwork.h"
#include "engine/backend.h"
#include "engine/profiles.h"
#include "engine/scorer.h"
#include "engine/segments.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace marquee {

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
/// GPU twin of marquee::train_als (engine/als.h) on `device`: the same algorithm, options (w0, nu,
/// up to 1,024 factors) and starting point, results within float tolerance. Throws BackendError
/// without a usable device, ArgumentError for a device that does not exist.
AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions, const AlsOptions& options,
                   const std::function<void(size_t)>& progress = {}, int device = 0);
/// GPU twin of marquee::als_solve_rows (folding a batch of users in) on `device`. The solver keeps
/// a device copy of the half-step's title factors and Gram matrix between calls (re-uploaded when
/// the step changes); calls are serialised. Throws BackendError without a usable device.
AlsRowSolver make_als_row_solver(int device = 0);

/// Whether this build can invert symmetric positive definite matrices on the GPU (cuSOLVER).
bool spd_inverse_available();
/// GPU twin of marquee::cpu_spd_inverse (engine/model.h; EASE's (X^T X + lambda I)^-1): cuSOLVER
/// potrf + potri on `device`, the same layout in and out. Returns false, with `a` untouched, when
/// n x n floats and cuSOLVER's workspace do not fit in the device's memory. Throws InputError when
/// the matrix is not positive definite, BackendError without a usable device.
bool spd_inverse(size_t n, float* a, int device = 0);

/// Whether this build can build profiles on the GPU.
bool profiles_available();

/// GPU twin of marquee::build_profiles (engine/profiles.h) on `device`: same inputs, same outputs
/// (weights and vectors within float tolerance). Throws BackendError without a usable device,
/// ArgumentError for a device that does not exist.
UserProfiles build_profiles(const Catalog& catalog, const TitleMatrix& titles, std::vector<Event> events,
                            std::vector<std::string> user_ids, const EngagementOptions& options,
                            ProfileBuildStats* stats = nullptr, int device = 0);

/// Whether this build can train k-means on the GPU.
bool kmeans_available();
/// GPU twin of marquee::spherical_kmeans (engine/segments.h): FAISS's algorithm and seeds
/// (engine/kmeans_lloyd.h) with the assignment (cuBLAS SGEMM + argmax) and the centroid sums on the
/// device (`device`), then the same re-seeding of empty segments; centroids within float tolerance
/// of FAISS's. Throws ArgumentError as the CPU one does and for a device that does not exist,
/// BackendError without a usable device.
KMeansResult spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& options, int device = 0);

/// Whether this build can choose artwork on the GPU.
bool artwork_available();
/// GPU twin of make_cpu_artwork_chooser (engine/artwork.h): the variant vectors live on `device` in
/// CSR form and a kernel picks, for the selected (user, title) pairs only, the same variant as the
/// CPU (same fmaf order, same tie-break). Throws BackendError without a usable device.
std::unique_ptr<ArtworkChooser> make_artwork_chooser(const Artwork& artwork, int device = 0);

}  // namespace cuda

}  // namespace marquee
