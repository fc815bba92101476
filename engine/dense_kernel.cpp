#include "engine/dense_kernel.h"

#include <immintrin.h>

#include <cstring>


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

// The end of both AVX-512 kernels: each user's 32 scores against its threshold, the pass bits, and
// the scores stored only for a user with a candidate. Inlined, so the accumulators never leave
// their registers.
__attribute__((target("avx512f"), always_inline)) inline void compare_and_store_avx512(
    const __m512* c0, const __m512* c1, const float* threshold, float* scores, uint32_t* pass) {
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
  compare_and_store_avx512(c0, c1, threshold, scores, pass);
}

// AVX-512 BF16: the same 12 x 32 block; each step takes two dimensions (a float slot of two bf16)
// with one dot-product instruction per accumulator.
__attribute__((target("avx512f,avx512bf16"))) void block_avx512_bf16(const float* users, const float* panel,
                                                                     size_t slots, const float* threshold,
                                                                     float* scores, uint32_t* pass) {
  __m512 c0[kMr5], c1[kMr5];
#pragma GCC unroll 12
  for (size_t i = 0; i < kMr5; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
  for (size_t q = 0; q < slots; ++q) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_ps(panel + q * kNr5);
    const __m512bh b1 = (__m512bh)_mm512_loadu_ps(panel + q * kNr5 + 16);
    const float* a = users + q * kMr5;
#pragma GCC unroll 12
    for (size_t i = 0; i < kMr5; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_ps(a[i]);
      c0[i] = _mm512_dpbf16_ps(c0[i], ai, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], ai, b1);
    }
  }
  compare_and_store_avx512(c0, c1, threshold, scores, pass);
}

}  // namespace

DenseKernel dense_kernel_avx2() { return {"avx2", kMr2, kNr2, false, block_avx2}; }
DenseKernel dense_kernel_avx512() { return {"avx512", kMr5, kNr5, false, block_avx512}; }
DenseKernel dense_kernel_avx512_bf16() { return {"avx512-bf16", kMr5, kNr5, true, block_avx512_bf16}; }

bool dense_kernel_avx512_bf16_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}

bool dense_kernel_avx512_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

DenseKernel choose_dense_kernel() {
  return dense_kernel_avx512_supported() ? dense_kernel_avx512() : dense_kernel_avx2();
}

uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);  // NaN: keep it quiet NaN
  return uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float from_bf16(uint16_t b) {
  const uint32_t bits = uint32_t(b) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

void pack_panels(const float* rows, size_t n, size_t dim, size_t width, bool bf16, float* out) {
  const size_t panels = (n + width - 1) / width;
  const size_t slots = bf16 ? (dim + 1) / 2 : dim;
  for (size_t p = 0; p < panels; ++p) {
    float* panel = out + p * width * slots;
    for (size_t j = 0; j < width; ++j) {
      const size_t r = p * width + j;
      const float* row = r < n ? rows + r * dim : nullptr;  // past n: the zero padding
      for (size_t q = 0; q < slots; ++q) {
        if (!bf16) {
          panel[q * width + j] = row ? row[q] : 0.0f;
          continue;
        }
        // Dimension 2q in the low half, 2q+1 in the high half: the dot-product instruction's pairs.
        const uint16_t lo = row ? to_bf16(row[2 * q]) : 0;
        const uint16_t hi = row && 2 * q + 1 < dim ? to_bf16(row[2 * q + 1]) : 0;
        const uint32_t pair = uint32_t(lo) | uint32_t(hi) << 16;
        std::memcpy(&panel[q * width + j], &pair, 4);
      }
    }
  }
}

}  // namespace marquee::detail
