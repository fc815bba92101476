#include "engine/scorer.h"

#include "engine/enum_names.h"

#include "engine/error.h"

namespace marquee {

namespace {
constexpr EnumName<ExcludePolicy> kExcludeNames[] = {
    {ExcludePolicy::Watched, "watched"}, {ExcludePolicy::Completed, "completed"}, {ExcludePolicy::None, "none"}};
}  // namespace

ExcludePolicy parse_exclude_policy(const std::string& text) {
  return parse_enum(kExcludeNames, text, "exclusion policy");
}
const char* exclude_policy_name(ExcludePolicy policy) { return enum_name(kExcludeNames, policy); }

CpuScoringPath parse_cpu_scoring_path(const std::string& text) {
  static constexpr EnumName<CpuScoringPath> kPathNames[] = {
      {CpuScoringPath::Auto, "auto"}, {CpuScoringPath::Sparse, "sparse"}, {CpuScoringPath::Dense, "dense"}};
  return parse_enum(kPathNames, text, "--cpu-path");
}

CpuDenseKernel parse_cpu_dense_kernel(const std::string& text) {
  static constexpr EnumName<CpuDenseKernel> kKernelNames[] = {{CpuDenseKernel::Auto, "auto"},
                                                              {CpuDenseKernel::Avx2, "avx2"},
                                                              {CpuDenseKernel::Avx512, "avx512"},
                                                              {CpuDenseKernel::Blas, "blas"}};
  return parse_enum(kKernelNames, text, "MARQUEE_DENSE_KERNEL");
}

CpuPrecision parse_cpu_precision(const std::string& text) {
  static constexpr EnumName<CpuPrecision> kPrecisionNames[] = {{CpuPrecision::Fp32, "fp32"},
                                                               {CpuPrecision::Bf16, "bf16"}};
  return parse_enum(kPrecisionNames, text, "--cpu-precision");
}

Exclusions Exclusions::from_profiles(const UserProfiles& profiles, ExcludePolicy policy) {
  Exclusions ex;
  ex.offsets.reserve(profiles.size() + 1);
  for (size_t u = 0; u < profiles.size(); ++u) {
    if (policy != ExcludePolicy::None) {
      for (const SeenTitle* s = profiles.seen_begin(u); s != profiles.seen_end(u); ++s)
        if (policy == ExcludePolicy::Watched || s->completed) ex.titles.push_back(s->title);
    }
    ex.offsets.push_back(ex.titles.size());
  }
  return ex;
}

GatheredUsers gather_users(const float* vectors, size_t dim, const Exclusions& seen, const size_t* users, size_t n) {
  GatheredUsers g;
  g.vectors.resize(n * dim);
  g.exclusions.offsets.reserve(n + 1);
  for (size_t i = 0; i < n; ++i) {
    const size_t u = users[i];
    MARQUEE_CHECK_ARG(u < seen.users(), "user {} outside the {} users", u, seen.users());
    std::copy(vectors + u * dim, vectors + (u + 1) * dim, g.vectors.begin() + i * dim);
    g.exclusions.titles.insert(g.exclusions.titles.end(), seen.titles.begin() + seen.offsets[u],
                               seen.titles.begin() + seen.offsets[u + 1]);
    g.exclusions.offsets.push_back(g.exclusions.titles.size());
  }
  return g;
}

void TopKResult::resize(size_t users, size_t k_) {
  k = k_;
  titles.assign(users * k_, 0);
  scores.assign(users * k_, 0.0f);
  counts.assign(users, 0);
}

void Scorer::check_search_args(const UserBatchView& batch, size_t k) const {
  MARQUEE_CHECK_ARG(k >= 1 && k <= num_titles(), "K must be between 1 and the catalogue size ({}); got {}",
                    num_titles(), k);
  MARQUEE_CHECK_ARG(batch.dim == dim(), "user vectors have dimension {} but the title matrix has {}", batch.dim,
                    dim());
  MARQUEE_CHECK_ARG(batch.count == 0 || batch.vectors != nullptr, "user batch of {} users has no vectors",
                    batch.count);
  MARQUEE_CHECK_ARG(batch.exclusions == nullptr || batch.exclusions->users() == batch.count,
                    "exclusion lists cover {} users but the batch has {}",
                    batch.exclusions ? batch.exclusions->users() : 0, batch.count);
  if (batch.exclusions)
    for (uint32_t t : batch.exclusions->titles)
      MARQUEE_CHECK_ARG(t < num_titles(), "excluded title index {} is outside the catalogue ({} titles)", t,
                        num_titles());
}

}  // namespace marquee
