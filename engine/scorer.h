// The scoring interface shared by every backend (the FAISS "Index" shape): a title matrix is loaded
// once, then batches of user vectors are searched for their top-K titles with per-user exclusions.
// The CPU backend (cpu_scorer.cpp) is the reference every other backend is tested against.
#pragma once

#include "engine/profiles.h"
#include "engine/title_matrix.h"
#include "engine/topk.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace marquee {

enum class ExcludePolicy { Watched, Completed, None };

/// "watched" | "completed" | "none"; throws ArgumentError otherwise.
ExcludePolicy parse_exclude_policy(const std::string& text);
const char* exclude_policy_name(ExcludePolicy policy);

/// Per-user excluded title indices in CSR form, each list sorted ascending.
struct Exclusions {
  std::vector<uint64_t> offsets{0};
  std::vector<uint32_t> titles;

  size_t users() const { return offsets.size() - 1; }
  /// Builds the exclusion lists of all users in `profiles` under `policy`.
  static Exclusions from_profiles(const UserProfiles& profiles, ExcludePolicy policy);
};

/// Users `users[0, n)` of a larger set — their rows of `vectors` (dim floats each) and their
/// lists in `seen` — copied into one batch to search (evaluations and fits search samples).
struct GatheredUsers {
  std::vector<float> vectors;
  Exclusions exclusions;
};
GatheredUsers gather_users(const float* vectors, size_t dim, const Exclusions& seen, const size_t* users, size_t n);

/// A batch of user vectors to search, not owned.
struct UserBatchView {
  size_t count = 0;
  size_t dim = 0;
  const float* vectors = nullptr;          // count x dim, row-major
  const Exclusions* exclusions = nullptr;  // nullptr or count users
};

/// Top-K results of a batch: user u's results are titles/scores[u*k, u*k + counts[u]), best first.
struct TopKResult {
  size_t k = 0;
  std::vector<uint32_t> titles;
  std::vector<float> scores;
  std::vector<uint32_t> counts;  // < k only when fewer than k titles remain after exclusion

  void resize(size_t users, size_t k_);
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  /// Backend and path, e.g. "cpu (sparse titles, 2 threads)".
  virtual std::string describe() const = 0;
  virtual size_t num_titles() const = 0;
  virtual size_t dim() const = 0;
  /// Top-K titles for every user of the batch. 1 <= k <= num_titles(); users whose exclusions leave
  /// fewer than k titles get all remaining ones.
  virtual void search(const UserBatchView& batch, size_t k, TopKResult& out) = 0;

 protected:
  /// Validation shared by every backend, called first by search().
  void check_search_args(const UserBatchView& batch, size_t k) const;
};

/// How the CPU backend multiplies users by titles.
enum class CpuScoringPath { Auto, Sparse, Dense };
/// "auto" | "sparse" | "dense"; throws ArgumentError otherwise.
CpuScoringPath parse_cpu_scoring_path(const std::string& text);

/// How the dense path computes scores. Auto: the widest micro-kernel the CPU supports (or the
/// environment's MARQUEE_DENSE_KERNEL=avx2|avx512|blas), BLAS tiles past 1024 dimensions.
enum class CpuDenseKernel { Auto, Avx2, Avx512, Blas };
/// "auto" | "avx2" | "avx512" | "blas"; throws ArgumentError otherwise.
CpuDenseKernel parse_cpu_dense_kernel(const std::string& text);

/// Precision of the dense path's products. Bf16: vectors rounded to bfloat16, sums in fp32 (AVX-512
/// BF16 only; the dense path is taken). Scores then carry bf16's ~3 significant digits.
enum class CpuPrecision { Fp32, Bf16 };
/// "fp32" | "bf16"; throws ArgumentError otherwise.
CpuPrecision parse_cpu_precision(const std::string& text);

struct CpuScorerOptions {
  CpuScoringPath path = CpuScoringPath::Auto;
  CpuDenseKernel dense_kernel = CpuDenseKernel::Auto;
  CpuPrecision precision = CpuPrecision::Fp32;
  /// Auto takes the sparse path below this title-matrix density (measured: docs/benchmarks.md).
  double sparse_density_threshold = 0.3;
  int threads = 0;  // 0 = OpenMP default
};

std::unique_ptr<Scorer> make_cpu_scorer(const TitleMatrix& titles, const CpuScorerOptions& options = {});

}  // namespace marquee
