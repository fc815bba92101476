// Stand-in for the CUDA backend in builds without nvcc: the same entry points, answering plainly
// that CUDA is not compiled in.
#include "host/cuda/entry_points.h"
#include "engine/error.h"
#include "host/cuda/cuda_scorer.h"
#include "host/cuda/self_test.h"

namespace marquee::cuda {

DeviceReport query_devices() {
  DeviceReport report;
  report.error = "this build has no CUDA backend (nvcc was not found at configure time)";
  return report;
}

bool scoring_available() { return false; }

MemoryInfo memory_info(int) { return {}; }

std::unique_ptr<Scorer> make_scorer(const TitleMatrix&, const CudaScorerOptions&) {
  MARQUEE_THROW_AS(BackendError, "--backend cuda: {}; use --backend cpu or auto", query_devices().error);
}

std::unique_ptr<Scorer> make_cuda_scorer(const TitleMatrix&, const CudaScorerOptions&, ScorerHook) {
  MARQUEE_THROW_AS(BackendError, "--backend cuda: {}; use --backend cpu or auto", query_devices().error);
}

bool profiles_available() { return false; }

UserProfiles build_profiles(const Catalog&, const TitleMatrix&, std::vector<Event>, std::vector<std::string>,
                            const EngagementOptions&, ProfileBuildStats*, int) {
  MARQUEE_THROW_AS(BackendError, "GPU profile building: {}; build profiles on the CPU", query_devices().error);
}

SelfTestResult self_test(int) { return SelfTestResult{false, false, query_devices().error}; }

bool als_available() { return false; }

bool spd_inverse_available() { return false; }

bool spd_inverse(size_t, float*, int) {
  MARQUEE_THROW_AS(BackendError, "GPU EASE inverse: {}; use --backend cpu or auto", query_devices().error);
}

bool kmeans_available() { return false; }

KMeansResult spherical_kmeans(const float*, size_t, size_t, const KMeansOptions&, int) {
  MARQUEE_THROW_AS(BackendError, "GPU k-means: {}; use --backend cpu or auto", query_devices().error);
}

bool artwork_available() { return false; }

std::unique_ptr<ArtworkChooser> make_artwork_chooser(const Artwork&, int) {
  MARQUEE_THROW_AS(BackendError, "GPU artwork choice: {}; choose on the CPU", query_devices().error);
}

AlsModel train_als(size_t, size_t, const std::vector<Interaction>&, const AlsOptions&,
                   const std::function<void(size_t)>&, int) {
  MARQUEE_THROW_AS(BackendError, "GPU ALS: {}; train on the CPU", query_devices().error);
}

AlsRowSolver make_als_row_solver(int) {
  MARQUEE_THROW_AS(BackendError, "GPU fold-in: {}; fold users in on the CPU", query_devices().error);
}

}  // namespace marquee::cuda
