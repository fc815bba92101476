// Confidence-weighted implicit ALS (Hu, Koren, Volinsky 2008), as in the `implicit` library:
// behaviour embeddings for users and titles learned from engagement weights.
//
//   preference p_ut = 1 if weight > 0, else 0
//   confidence c_ut = 1 + alpha * |weight|      (an abandoned title is a confident "no")
//   unobserved pairs: p = 0, c = 1
//   unobserved pairs: weight w0 (`unobserved_weight`, 1 in Hu et al.)
//   minimise sum_ut c_ut (p_ut - x_u . y_t)^2 + w0 sum_unobserved (x_u . y_t)^2
//            + sum_u lambda_u |x_u|^2 + sum_t lambda_t |y_t|^2
//   lambda_u = lambda (n_u + w0 n_titles)^nu   (frequency-scaled, Rendle et al. 2021; nu = 0: plain lambda)
//
// Each half-step solves, per row, (w0 Y^T Y + sum_t (c_ut - w0) y_t y_t^T + lambda_u I) x_u = sum_t c_ut p_ut y_t
// exactly (Cholesky through LAPACK), using Y^T Y computed once per half-step. Deterministic for a seed.
// Folding a new user in (als_fold_in) is the same per-row solve against the trained title factors,
// like implicit's recalculate_user.
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
  float unobserved_weight = 1.0f;  // w0: weight of every unobserved (user, title) pair
  float reg_exponent = 0.0f;       // nu: lambda scaled by (interactions + w0 * other side's rows)^nu
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

/// The fixed side of a half-step: w0 Y^T Y of `y` (rows x factors), computed once, and the options
/// that set each row's system. Solving a row reads it only, so many threads may share one.
struct AlsHalfStep {
  const float* y = nullptr;
  size_t y_rows = 0, factors = 0;
  std::vector<float> gram;  // w0 * Y^T Y, factors x factors
  float lambda = 0, unobserved_weight = 1, reg_exponent = 0;
  /// The Gram matrix is computed from `gram_rows` (default: y itself). A model whose cold titles got
  /// factors after training passes the trained rows here, so folding in solves what training solved.
  AlsHalfStep(const float* y, size_t y_rows, size_t factors, const AlsOptions& options,
              const float* gram_rows = nullptr);
  /// Solves one row from its interactions (columns into y, confidences, preferences; `count` of
  /// them) into x (factors floats); `a` and `b` are scratch of factors^2 and factors floats. A row
  /// without interactions gets zeros. Returns false when the system was not positive definite.
  bool solve_row(const uint32_t* cols, const float* confidence, const float* preference, size_t count, float* x,
                 float* a, float* b) const;
};

/// Solves every row of `rows` (a CSR of build_als_csr) against `step` into x (rows x factors), as
/// AlsHalfStep::solve_row does row by row. The CPU one runs the rows on `threads` OpenMP threads
/// (0: the default) and returns how many systems were not positive definite.
size_t als_solve_rows(const AlsHalfStep& step, const AlsCsr& rows, float* x, int threads = 0);

/// Where many rows are solved at once (folding a batch of users in): empty means the CPU
/// (als_solve_rows above); the GPU twin comes from the backend resolver (choose_als_row_solver).
using AlsRowSolver = std::function<void(const AlsHalfStep& step, const AlsCsr& rows, float* x)>;

/// A user's factors from their (title, engagement weight) pairs against trained title factors: the
/// exact ALS user half-step (duplicates summed and clamped to [-1, 1], zero sums dropped, as in
/// training). `step` holds the title side.
std::vector<float> als_fold_in(const AlsHalfStep& step, const std::vector<std::pair<uint32_t, float>>& seen,
                               float alpha);

/// Trains on `interactions` (any order; duplicates are summed). Throws ArgumentError for factors or
/// iterations of 0, or indices outside [0, users) / [0, titles). `progress(iteration)` after each
/// full iteration, if given.
AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions,
                   const AlsOptions& options, const std::function<void(size_t)>& progress = {});


}  // namespace marquee
