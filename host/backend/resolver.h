// Where work runs, decided once at the edge: every job and the server ask this one resolver
// (`--backend auto|cpu|cuda` and a capability in, {backend, reason} out), then build the scorer,
// trainer or builder of that backend. Algorithms never #ifdef on CUDA; a CPU-only build answers
// through host/cuda/cuda_unavailable.cpp.
#pragma once

#include "engine/artwork.h"
#include "engine/backend.h"
#include "engine/model.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "engine/segments.h"

#include <memory>
#include <string>

namespace marquee {

/// What a job wants to run; each has its own CUDA implementation (or none in this build).
enum class Capability { Scoring, Profiles, Als, KMeans, Artwork, SpdInverse };
const char* capability_name(Capability capability);  // "GPU scoring", "GPU k-means", ...

struct BackendResolution {
  Backend backend = Backend::Cpu;  // Cpu or Cuda, never Auto
  std::string reason;              // why, for the log: "--backend cpu", "auto: no CUDA device (...)"
  bool on_gpu() const { return backend == Backend::Cuda; }
};

/// cpu: the CPU. cuda: the GPU, or BackendError "--backend cuda: <capability> ...; use --backend cpu
/// or auto" when this build lacks the capability or no device is usable. auto: the GPU when both
/// hold, the CPU otherwise (the reason says which was missing).
BackendResolution resolve_backend(Backend requested, Capability capability);

struct ScorerChoice {
  std::unique_ptr<Scorer> scorer;
  std::string reason;   // why this backend was taken, for the log
  bool on_gpu = false;  // the scorer runs on a CUDA device
};

/// The scorer of the resolved backend for `titles`.
ScorerChoice choose_scorer(Backend backend, const TitleMatrix& titles, const ScorerOptions& options = {});

/// The artwork chooser that runs where the scorer runs: the CUDA twin beside a CUDA scorer (on
/// options.cuda.device), the CPU one otherwise (options.cpu.threads). `artwork` must outlive it.
std::unique_ptr<ArtworkChooser> choose_artwork_chooser(const ScorerChoice& scorer, const Artwork& artwork,
                                                       const ScorerOptions& options = {});

/// Where ALS trains, so that it trains where scoring will run: the GPU twin when resolved to cuda,
/// else the CPU trainer (an empty AlsTrainer, fit_recommender's default). The GPU twin trains on
/// `device` (--device).
AlsTrainer choose_als_trainer(Backend backend, int device = 0);

/// Where batches of users are folded into a behaviour or hybrid model (Model::set_fold_in_solver):
/// the GPU twin on `device` when resolved to cuda, else empty (the CPU).
AlsRowSolver choose_als_row_solver(Backend backend, int device = 0);

/// Where model fitting runs (engine/model.h FitBackend): ALS as choose_als_trainer says, and EASE's
/// inverse on the GPU (cuSOLVER) when resolved to cuda — on the CPU below 2,048 titles, where the
/// copies cost more than LAPACK, and, under `auto`, when the device runs out of memory.
FitBackend choose_fit_backend(Backend backend, int device = 0);

/// Spherical k-means of `segment` and `project --trailers`: FAISS on the CPU, or the GPU twin.
struct KMeansBackend {
  BackendResolution where;
  int device = 0;  // the GPU twin's device (--device)
  const char* name() const { return where.on_gpu() ? "cuda" : "cpu (FAISS)"; }
  KMeansResult train(const float* x, size_t n, size_t dim, const KMeansOptions& o) const;
};
KMeansBackend choose_kmeans_backend(Backend backend, int device = 0);

}  // namespace marquee
