// What the machine can do, measured in the same run as the figures it scales: the FMA peak (a
// register-only loop of independent FMAs on every thread, AVX-512 where supported, else AVX2) and
// OpenBLAS SGEMM's rate on a square product (what a tuned GEMM reaches here). A scorer's GFLOP/s
// are reported as fractions of both (issue #16).
#pragma once

#include "engine/clock.h"

#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <vector>

namespace marquee::bench {

namespace detail {

constexpr int kChains = 12;  // independent accumulators: more than FMA latency x FMA ports

inline double fma_loop_avx2(long iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(float(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long n = 0; n < iters; ++n)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float sink = 0;
  for (int i = 0; i < kChains; ++i) sink += _mm256_cvtss_f32(acc[i]);
  return double(sink);
}

__attribute__((target("avx512f"))) inline double fma_loop_avx512(long iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long n = 0; n < iters; ++n)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  alignas(64) float lanes[16];
  float sink = 0;
  for (int i = 0; i < kChains; ++i) {
    _mm512_store_ps(lanes, acc[i]);
    sink += lanes[0] + lanes[15];
  }
  return double(sink);
}

}  // namespace detail

/// FMA peak in GFLOP/s on `threads` threads (best of the AVX2 and, where present, AVX-512 loops).
inline double measure_fma_peak_gflops(int threads) {
  const long iters = 20'000'000;
  auto run = [&](bool wide) {
    volatile double sink = 0;
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += wide ? detail::fma_loop_avx512(iters) : detail::fma_loop_avx2(iters);
    const double s = seconds_since(t0);
    return double(threads) * double(iters) * detail::kChains * (wide ? 16 : 8) * 2 / s / 1e9;
  };
  __builtin_cpu_init();
  double best = run(false);
  if (__builtin_cpu_supports("avx512f")) best = std::max(best, run(true));
  return best;
}

/// OpenBLAS SGEMM on an n x n x n product with its own threads, GFLOP/s (best of 3).
inline double measure_sgemm_gflops(int threads, int n = 2048) {
  std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
  openblas_set_num_threads(threads);
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    best = std::max(best, 2.0 * n * n * double(n) / seconds_since(t0) / 1e9);
  }
  return best;
}

}  // namespace marquee::bench
