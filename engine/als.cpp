#include "engine/als.h"

#include "engine/error.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

extern "C" void sposv_(const char* uplo, const int* n, const int* nrhs, float* a, const int* lda, float* b,
                       const int* ldb, int* info);

namespace marquee {
namespace {

using Csr = AlsCsr;

}  // namespace

AlsCsr build_als_csr(size_t rows, const std::vector<Interaction>& in, bool by_user, float alpha) {
  // Sum duplicate (user, title) weights first, in a deterministic order.
  std::vector<Interaction> sorted(in);
  std::sort(sorted.begin(), sorted.end(), [by_user](const Interaction& a, const Interaction& b) {
    const uint32_t ar = by_user ? a.user : a.title, br = by_user ? b.user : b.title;
    const uint32_t ac = by_user ? a.title : a.user, bc = by_user ? b.title : b.user;
    return ar != br ? ar < br : ac < bc;
  });
  Csr csr;
  csr.ptr.assign(rows + 1, 0);
  for (size_t i = 0; i < sorted.size();) {
    const Interaction& first = sorted[i];
    const uint32_t row = by_user ? first.user : first.title, col = by_user ? first.title : first.user;
    float w = 0;
    size_t j = i;
    for (; j < sorted.size() && (by_user ? sorted[j].user : sorted[j].title) == row &&
           (by_user ? sorted[j].title : sorted[j].user) == col;
         ++j)
      w += sorted[j].weight;
    w = std::clamp(w, -1.0f, 1.0f);
    if (w != 0.0f) {
      csr.col.push_back(col);
      csr.confidence.push_back(1.0f + alpha * std::fabs(w));
      csr.preference.push_back(w > 0 ? 1.0f : 0.0f);
      ++csr.ptr[row + 1];
    }
    i = j;
  }
  for (size_t r = 0; r < rows; ++r) csr.ptr[r + 1] += csr.ptr[r];
  return csr;
}

namespace {
void init_als_factors(std::vector<float>& f, size_t rows, size_t k, uint64_t seed) {
  f.resize(rows * k);
  for (size_t r = 0; r < rows; ++r) {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + r);
    for (size_t j = 0; j < k; ++j) f[r * k + j] = float((double(rng() >> 11) * 0x1.0p-53 - 0.5) * 0.02);
  }
}
}  // namespace

AlsModel start_als_model(size_t users, size_t titles, const AlsOptions& o, const AlsCsr& by_title) {
  AlsModel m;
  m.factors = o.factors;
  m.users = users;
  m.titles = titles;
  init_als_factors(m.user_factors, users, o.factors, o.seed);
  init_als_factors(m.title_factors, titles, o.factors, o.seed ^ 0x5bd1e995u);
  m.title_seen.assign(titles, 0);
  for (size_t t = 0; t < titles; ++t) m.title_seen[t] = by_title.ptr[t + 1] > by_title.ptr[t];
  return m;
}

void check_als_arguments(size_t users, size_t titles, const std::vector<Interaction>& interactions,
                         const AlsOptions& o) {
  MARQUEE_CHECK_ARG(o.factors >= 1 && o.factors <= 1024, "factors must be between 1 and 1024; got {}", o.factors);
  MARQUEE_CHECK_ARG(o.iterations >= 1, "iterations must be at least 1; got {}", o.iterations);
  MARQUEE_CHECK_ARG(o.regularization > 0, "regularization must be > 0; got {}", o.regularization);
  MARQUEE_CHECK_ARG(o.alpha >= 0, "alpha must be >= 0; got {}", o.alpha);
  for (const auto& i : interactions)
    MARQUEE_CHECK_ARG(i.user < users && i.title < titles, "interaction ({}, {}) outside {} users x {} titles", i.user,
                      i.title, users, titles);
}

namespace {

// Solves every row of X against the fixed Y (see als.h).
void solve_side(const Csr& csr, const std::vector<float>& y, size_t k, float lambda, int threads, std::vector<float>& x) {
  const size_t rows = csr.ptr.size() - 1;
  const size_t y_rows = y.size() / k;
  std::vector<float> yty(k * k, 0.0f);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(k), int(k), int(y_rows), 1.0f, y.data(), int(k), y.data(),
              int(k), 0.0f, yty.data(), int(k));
  int failures = 0;
#pragma omp parallel num_threads(threads) reduction(+ : failures)
  {
    std::vector<float> a(k * k), b(k);
#pragma omp for schedule(dynamic, 64)
    for (size_t r = 0; r < rows; ++r) {
      float* xr = x.data() + r * k;
      if (csr.ptr[r] == csr.ptr[r + 1]) {  // no interactions: nothing to learn from
        std::fill(xr, xr + k, 0.0f);
        continue;
      }
      std::copy(yty.begin(), yty.end(), a.begin());
      for (size_t d = 0; d < k; ++d) a[d * k + d] += lambda;
      std::fill(b.begin(), b.end(), 0.0f);
      for (uint64_t p = csr.ptr[r]; p < csr.ptr[r + 1]; ++p) {
        const float* yt = y.data() + size_t(csr.col[p]) * k;
        const float c = csr.confidence[p];
        for (size_t i = 0; i < k; ++i) {
          const float s = (c - 1.0f) * yt[i];
          for (size_t j = 0; j < k; ++j) a[i * k + j] += s * yt[j];
          b[i] += c * csr.preference[p] * yt[i];
        }
      }
      const int n = int(k), one = 1;
      int info = 0;
      sposv_("U", &n, &one, a.data(), &n, b.data(), &n, &info);  // symmetric: row/column major alike
      if (info != 0) {
        ++failures;
        std::fill(xr, xr + k, 0.0f);
      } else {
        std::copy(b.begin(), b.end(), xr);
      }
    }
  }
  MARQUEE_ASSERT(failures == 0);  // lambda > 0 keeps every system positive definite
}

}  // namespace

AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions,
                   const AlsOptions& o, const std::function<void(size_t)>& progress) {
  check_als_arguments(users, titles, interactions, o);
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  const Csr by_user = build_als_csr(users, interactions, true, o.alpha);
  const Csr by_title = build_als_csr(titles, interactions, false, o.alpha);

  AlsModel m = start_als_model(users, titles, o, by_title);
  for (size_t it = 0; it < o.iterations; ++it) {
    solve_side(by_user, m.title_factors, o.factors, o.regularization, threads, m.user_factors);
    solve_side(by_title, m.user_factors, o.factors, o.regularization, threads, m.title_factors);
    if (progress) progress(it + 1);
  }
  return m;
}

}  // namespace marquee
