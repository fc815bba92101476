// Confidence-weighted implicit ALS (Hu, Koren, Volinsky 2008), as in the `implicit` library:
// behaviour embeddings for users and titles learned from engagement weights.
//
//   preference p_ut = 1 if weight > 0, else 0
//   confidence c_ut = 1 + alpha * |weight|      (an abandoned title is a confident "no")
//   unobserved pairs: p = 0, c = 1
//   minimise sum_ut c_ut (p_ut - x_u . y_t)^2 + lambda (|x_u|^2 + |y_t|^2)
//
// Each half-step solves, per row, (Y^T Y + sum_t (c_ut - 1) y_t y_t^T + lambda I) x_u = sum_t c_ut p_ut y_t
// exactly (Cholesky through LAPACK), using Y^T Y computed once per half-step. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace marquee {

struct Interaction {
  uint32_t user = 0;
  uint32_t title = 0;
  float weight = 0;  // engagement weight in [-1, 1]
};

struct AlsOptions {
  // Defaults chosen by `marquee eval-recs` sweeps on generated data (docs/quality.md).
  size_t factors = 32;
  size_t iterations = 12;
  float regularization = 20.0f;
  float alpha = 5.0f;  // confidence scaling
  uint64_t seed = 42;
  int threads = 0;      // 0 = OpenMP default
};

struct AlsModel {
  size_t factors = 0;
  size_t users = 0;
  size_t titles = 0;
  std::vector<float> user_factors;   // users x factors
  std::vector<float> title_factors;  // titles x factors (zero rows for titles nobody interacted with)
  std::vector<uint8_t> title_seen;   // 1 when the title had at least one interaction

  const float* user(size_t u) const { return user_factors.data() + u * factors; }
  const float* title(size_t t) const { return title_factors.data() + t * factors; }
};

/// One side's interactions in CSR form (row r spans [ptr[r], ptr[r+1])), with ALS confidences and
/// preferences; shared by the CPU and GPU trainers.
struct AlsCsr {
  std::vector<uint64_t> ptr;
  std::vector<uint32_t> col;
  std::vector<float> confidence;  // c = 1 + alpha |w|
  std::vector<float> preference;  // p in {0, 1}
};

/// Sums duplicate (user, title) weights (clamped to [-1, 1]) and lays them out by user
/// (by_user = true) or by title. Zero sums are dropped.
AlsCsr build_als_csr(size_t rows, const std::vector<Interaction>& interactions, bool by_user, float alpha);

/// The model both trainers start from: sizes, deterministic small uniform factors seeded per row,
/// and which titles have interactions (from the by-title CSR).
AlsModel start_als_model(size_t users, size_t titles, const AlsOptions& options, const AlsCsr& by_title);

/// Checks options and indices; throws ArgumentError.
void check_als_arguments(size_t users, size_t titles, const std::vector<Interaction>& interactions,
                         const AlsOptions& options);

/// Trains on `interactions` (any order; duplicates are summed). Throws ArgumentError for factors or
/// iterations of 0, or indices outside [0, users) / [0, titles). `progress(iteration)` after each
/// full iteration, if given.
AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions,
                   const AlsOptions& options, const std::function<void(size_t)>& progress = {});

}  // namespace marquee
