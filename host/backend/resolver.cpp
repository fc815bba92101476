#include "host/backend/resolver.h"

#include "engine/enum_names.h"
#include "engine/error.h"
#include "host/cuda/entry_points.h"

#include <spdlog/spdlog.h>

namespace marquee {
namespace {

bool built_with(Capability capability) {
  switch (capability) {
    case Capability::Scoring: return cuda::scoring_available();
    case Capability::Profiles: return cuda::profiles_available();
    case Capability::Als: return cuda::als_available();
    case Capability::KMeans: return cuda::kmeans_available();
    case Capability::Artwork: return cuda::artwork_available();
    case Capability::SpdInverse: return cuda::spd_inverse_available();
  }
  return false;
}

}  // namespace

const char* capability_name(Capability capability) {
  static constexpr EnumName<Capability> kNames[] = {{Capability::Scoring, "GPU scoring"},
                                                    {Capability::Profiles, "GPU profile building"},
                                                    {Capability::Als, "GPU ALS"},
                                                    {Capability::KMeans, "GPU k-means"},
                                                    {Capability::Artwork, "GPU artwork choice"},
                                                    {Capability::SpdInverse, "GPU EASE inverse"}};
  return enum_name(kNames, capability);
}

BackendResolution resolve_backend(Backend requested, Capability capability) {
  if (requested == Backend::Cpu) return {Backend::Cpu, "--backend cpu"};
  const cuda::DeviceReport report = cuda::query_devices();
  const bool built = report.compiled_in && built_with(capability);
  // Why the GPU cannot run it; empty when it can.
  std::string missing;
  if (!report.compiled_in) missing = report.error;
  else if (!built) missing = std::string("this build has no ") + capability_name(capability);
  else if (report.device_count == 0) missing = "no usable CUDA device (" + report.error + ")";
  if (requested == Backend::Cuda) {
    if (!missing.empty())
      MARQUEE_THROW_AS(BackendError, "--backend cuda: {}: {}; use --backend cpu or auto", capability_name(capability),
                       missing);
    return {Backend::Cuda, "--backend cuda"};
  }
  if (missing.empty()) return {Backend::Cuda, "auto: CUDA device present (" + report.devices.front() + ")"};
  return {Backend::Cpu, "auto: " + missing};
}

ScorerChoice choose_scorer(Backend backend, const TitleMatrix& titles, const ScorerOptions& options) {
  const BackendResolution where = resolve_backend(backend, Capability::Scoring);
  ScorerChoice choice;
  choice.scorer = where.on_gpu() ? cuda::make_scorer(titles, options.cuda) : make_cpu_scorer(titles, options.cpu);
  choice.reason = where.reason;
  choice.on_gpu = where.on_gpu();
  return choice;
}

std::unique_ptr<ArtworkChooser> choose_artwork_chooser(const ScorerChoice& scorer, const Artwork& artwork,
                                                       const ScorerOptions& options) {
  if (scorer.on_gpu) return cuda::make_artwork_chooser(artwork, options.cuda.device);
  return make_cpu_artwork_chooser(artwork, options.cpu.threads);
}

AlsTrainer choose_als_trainer(Backend backend, int device) {
  if (!resolve_backend(backend, Capability::Als).on_gpu()) return {};
  return [device](size_t users, size_t titles, const std::vector<Interaction>& in, const AlsOptions& a) {
    return cuda::train_als(users, titles, in, a, {}, device);
  };
}

AlsRowSolver choose_als_row_solver(Backend backend, int device) {
  if (!resolve_backend(backend, Capability::Als).on_gpu()) return {};
  return cuda::make_als_row_solver(device);
}

FitBackend choose_fit_backend(Backend backend, int device) {
  FitBackend fb(choose_als_trainer(backend, device));
  const BackendResolution where = resolve_backend(backend, Capability::SpdInverse);
  if (!where.on_gpu()) return fb;
  const bool fall_back = backend == Backend::Auto;
  fb.spd_inverse = [device, fall_back](size_t n, float* a) {
    constexpr size_t kGpuFrom = 2048;  // below: LAPACK takes milliseconds, less than the copies
    if (n < kGpuFrom) return cpu_spd_inverse(n, a);
    if (cuda::spd_inverse(n, a, device)) return;
    if (!fall_back)
      MARQUEE_THROW_AS(BackendError,
                       "--backend cuda: EASE's {} x {} inverse does not fit in device {}'s memory; use --backend cpu "
                       "or auto",
                       n, n, device);
    spdlog::warn("EASE inverse of {} titles does not fit in device {}'s memory; inverting on the CPU", n, device);
    cpu_spd_inverse(n, a);  // `a` still holds the input
  };
  return fb;
}

KMeansResult KMeansBackend::train(const float* x, size_t n, size_t dim, const KMeansOptions& o) const {
  return where.on_gpu() ? cuda::spherical_kmeans(x, n, dim, o, device) : spherical_kmeans(x, n, dim, o);
}

KMeansBackend choose_kmeans_backend(Backend backend, int device) {
  return {resolve_backend(backend, Capability::KMeans), device};
}

}  // namespace marquee
