#include "engine/dense_kernel.h"

#include <immintrin.h>


namespace marquee::detail {
namespace {

// AVX2 + FMA (the build's baseline): 6 users x 16 titles = 12 ymm accumulators, 2 title loads and
// 6 broadcasts per step of the dimension, 3 of the 16 registers left for them.
constexpr size_t kMr2 = 6, kNr2 = 16;

void block_avx2(const float* users, const float* panel, size_t dim, const float* threshold, float* scores,
                uint32_t* pass) {
  __m256 c0[kMr2], c1[kMr2];
#pragma GCC unroll 6
  for (size_t i = 0; i < kMr2; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  for (size_t d = 0; d < dim; ++d) {
    const __m256 b0 = _mm256_loadu_ps(panel + d * kNr2);
    const __m256 b1 = _mm256_loadu_ps(panel + d * kNr2 + 8);
    const float* a = users + d * kMr2;
#pragma GCC unroll 6
    for (size_t i = 0; i < kMr2; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
  }
#pragma GCC unroll 6
  for (size_t i = 0; i < kMr2; ++i) {
    const __m256 t = _mm256_broadcast_ss(threshold + i);
    const uint32_t m0 = uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(c0[i], t, _CMP_GE_OQ)));
    const uint32_t m1 = uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(c1[i], t, _CMP_GE_OQ)));
    pass[i] = m0 | (m1 << 8);
    if (pass[i]) {  // rare once the selection is warm: most blocks store nothing
      _mm256_storeu_ps(scores + i * kNr2, c0[i]);
      _mm256_storeu_ps(scores + i * kNr2 + 8, c1[i]);
    }
  }
}

// AVX-512: 12 users x 32 titles = 24 zmm accumulators, 2 title loads and 12 broadcasts (folded
// into the FMAs) per step, of the 32 registers.
constexpr size_t kMr5 = 12, kNr5 = 32;

__attribute__((target("avx512f"))) void block_avx512(const float* users, const float* panel, size_t dim,
                                                     const float* threshold, float* scores, uint32_t* pass) {
  __m512 c0[kMr5], c1[kMr5];
#pragma GCC unroll 12
  for (size_t i = 0; i < kMr5; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (size_t d = 0; d < dim; ++d) {
    const __m512 b0 = _mm512_loadu_ps(panel + d * kNr5);
    const __m512 b1 = _mm512_loadu_ps(panel + d * kNr5 + 16);
    const float* a = users + d * kMr5;
#pragma GCC unroll 12
    for (size_t i = 0; i < kMr5; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
#pragma GCC unroll 12
  for (size_t i = 0; i < kMr5; ++i) {
    const __m512 t = _mm512_set1_ps(threshold[i]);
    const uint32_t m0 = _mm512_cmp_ps_mask(c0[i], t, _CMP_GE_OQ);
    const uint32_t m1 = _mm512_cmp_ps_mask(c1[i], t, _CMP_GE_OQ);
    pass[i] = m0 | (m1 << 16);
    if (pass[i]) {
      _mm512_storeu_ps(scores + i * kNr5, c0[i]);
      _mm512_storeu_ps(scores + i * kNr5 + 16, c1[i]);
    }
  }
}

}  // namespace

DenseKernel dense_kernel_avx2() { return {"avx2", kMr2, kNr2, block_avx2}; }
DenseKernel dense_kernel_avx512() { return {"avx512", kMr5, kNr5, block_avx512}; }

bool dense_kernel_avx512_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

DenseKernel choose_dense_kernel() {
  return dense_kernel_avx512_supported() ? dense_kernel_avx512() : dense_kernel_avx2();
}

void pack_panels(const float* rows, size_t n, size_t dim, size_t width, float* out) {
  const size_t panels = (n + width - 1) / width;
  for (size_t p = 0; p < panels; ++p) {
    float* panel = out + p * width * dim;
    for (size_t j = 0; j < width; ++j) {
      const size_t r = p * width + j;
      if (r < n) {
        const float* row = rows + r * dim;
        for (size_t d = 0; d < dim; ++d) panel[d * width + j] = row[d];
      } else {
        for (size_t d = 0; d < dim; ++d) panel[d * width + j] = 0.0f;
      }
    }
  }
}

}  // namespace marquee::detail
