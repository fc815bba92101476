#include "engine/als.h"

#include "engine/blas_threads.h"
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
  MARQUEE_CHECK_ARG(o.alpha >= 0 && std::isfinite(o.alpha), "alpha must be a finite number >= 0; got {}", o.alpha);
  MARQUEE_CHECK_ARG(o.unobserved_weight > 0 && std::isfinite(o.unobserved_weight),
                    "the unobserved weight must be a finite number > 0; got {}", o.unobserved_weight);
  MARQUEE_CHECK_ARG(o.reg_exponent >= 0 && o.reg_exponent <= 2, "the regularization exponent must be in [0, 2]; got {}",
                    o.reg_exponent);
  for (const auto& i : interactions)
    MARQUEE_CHECK_ARG(i.user < users && i.title < titles, "interaction ({}, {}) outside {} users x {} titles", i.user,
                      i.title, users, titles);
}

namespace {

// Solves every row of X against the fixed Y (see als.h).
void solve_side(const Csr& csr, const std::vector<float>& y, size_t k, const AlsOptions& o, int threads,
                std::vector<float>& x) {
  const AlsHalfStep step(y.data(), y.size() / k, k, o);
  MARQUEE_ASSERT(als_solve_rows(step, csr, x.data(), threads) == 0);  // lambda > 0 keeps every system positive definite
}

}  // namespace

AlsHalfStep::AlsHalfStep(const float* y_, size_t y_rows_, size_t factors_, const AlsOptions& o, const float* gram_rows)
    : y(y_), y_rows(y_rows_), factors(factors_), gram(factors_ * factors_, 0.0f), lambda(o.regularization),
      unobserved_weight(o.unobserved_weight), reg_exponent(o.reg_exponent) {
  const int k = int(factors);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, k, int(y_rows), unobserved_weight, gram_rows ? gram_rows : y, k,
              gram_rows ? gram_rows : y, k, 0.0f,
              gram.data(), k);
}

bool AlsHalfStep::solve_row(const uint32_t* cols, const float* confidence, const float* preference, size_t count,
                            float* x, float* a, float* b) const {
  const size_t k = factors;
  if (count == 0) {  // no interactions: nothing to learn from
    std::fill(x, x + k, 0.0f);
    return true;
  }
  const float reg = reg_exponent == 0.0f
                        ? lambda
                        : lambda * std::pow(float(count) + unobserved_weight * float(y_rows), reg_exponent);
  std::copy(gram.begin(), gram.end(), a);
  for (size_t d = 0; d < k; ++d) a[d * k + d] += reg;
  std::fill(b, b + k, 0.0f);
  // sum_t (c - w0) y_t y_t^T as one rank-n update (SSYRK) of the rows scaled by sqrt(|c - w0|):
  // BLAS speed instead of a k^2 loop per interaction (33x at 128 factors). Rows with c < w0 (only
  // when w0 > 1) subtract. Row-major lower = the column-major upper triangle sposv_("U") reads.
  thread_local std::vector<float> pos, neg;
  pos.clear();
  neg.clear();
  for (size_t p = 0; p < count; ++p) {
    const float* yt = y + size_t(cols[p]) * k;
    const float c = confidence[p], d = c - unobserved_weight;
    std::vector<float>& dst = d >= 0 ? pos : neg;
    const float s = std::sqrt(std::fabs(d));
    for (size_t i = 0; i < k; ++i) dst.push_back(s * yt[i]);
    const float cp = c * preference[p];
    if (cp != 0.0f)
      for (size_t i = 0; i < k; ++i) b[i] += cp * yt[i];
  }
  const int n = int(k);
  if (!pos.empty())
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, n, int(pos.size() / k), 1.0f, pos.data(), n, 1.0f, a, n);
  if (!neg.empty())
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, n, int(neg.size() / k), -1.0f, neg.data(), n, 1.0f, a, n);
  const int one = 1;
  int info = 0;
  sposv_("U", &n, &one, a, &n, b, &n, &info);
  if (info != 0) {
    std::fill(x, x + k, 0.0f);
    return false;
  }
  std::copy(b, b + k, x);
  return true;
}

size_t als_solve_rows(const AlsHalfStep& step, const AlsCsr& csr, float* x, int threads) {
  const size_t rows = csr.ptr.size() - 1, k = step.factors;
  if (threads <= 0) threads = omp_get_max_threads();
  const SingleThreadedBlas one_blas_thread;  // the rows are the parallelism
  size_t failures = 0;
#pragma omp parallel num_threads(threads) reduction(+ : failures) if (rows > 1)
  {
    std::vector<float> a(k * k), b(k);
#pragma omp for schedule(dynamic, 64)
    for (size_t r = 0; r < rows; ++r) {
      const uint64_t p = csr.ptr[r], n = csr.ptr[r + 1] - p;
      if (!step.solve_row(csr.col.data() + p, csr.confidence.data() + p, csr.preference.data() + p, n, x + r * k,
                          a.data(), b.data()))
        ++failures;
    }
  }
  return failures;
}

std::vector<float> als_fold_in(const AlsHalfStep& step, const std::vector<std::pair<uint32_t, float>>& seen,
                               float alpha) {
  std::vector<Interaction> in;
  in.reserve(seen.size());
  for (const auto& [title, weight] : seen) {
    MARQUEE_CHECK_ARG(title < step.y_rows, "title index {} outside the model's {} titles", title, step.y_rows);
    in.push_back({0, title, weight});
  }
  const AlsCsr row = build_als_csr(1, in, true, alpha);
  const size_t k = step.factors;
  std::vector<float> x(k), a(k * k), b(k);
  step.solve_row(row.col.data(), row.confidence.data(), row.preference.data(), row.col.size(), x.data(), a.data(),
                 b.data());
  return x;
}

AlsModel train_als(size_t users, size_t titles, const std::vector<Interaction>& interactions,
                   const AlsOptions& o, const std::function<void(size_t)>& progress) {
  check_als_arguments(users, titles, interactions, o);
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  const Csr by_user = build_als_csr(users, interactions, true, o.alpha);
  const Csr by_title = build_als_csr(titles, interactions, false, o.alpha);

  AlsModel m = start_als_model(users, titles, o, by_title);
  for (size_t it = 0; it < o.iterations; ++it) {
    solve_side(by_user, m.title_factors, o.factors, o, threads, m.user_factors);
    solve_side(by_title, m.user_factors, o.factors, o, threads, m.title_factors);
    if (progress) progress(it + 1);
  }
  return m;
}

}  // namespace marquee
