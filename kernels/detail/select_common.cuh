// Ordering helpers shared by the selection kernels: score descending, then title ascending.
#pragma once

#include <cstdint>

namespace marquee::kernels::detail {

constexpr uint32_t kNoTitle = 0xffffffffu;

__device__ __forceinline__ bool better(float as, uint32_t at, float bs, uint32_t bt) {
  return as > bs || (as == bs && at < bt);
}

/// Only finite-or-+inf scores are candidates: -inf marks an excluded title, NaN never ranks.
__device__ __forceinline__ bool selectable(float s) { return s > -INFINITY; }

/// A 64-bit key whose unsigned order is the ranking order: high word = the score's bits mapped to
/// an order-preserving unsigned integer (-0 folded into +0, so that they tie as floats do), low
/// word = ~title, so that a lower title ranks higher. Distinct per title, hence no ties at all.
__device__ __forceinline__ uint64_t rank_key(float s, uint32_t title) {
  uint32_t u = __float_as_uint(s + 0.0f);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (uint64_t(u) << 32) | uint64_t(~title);
}

__device__ __forceinline__ float key_score(uint64_t key) {
  uint32_t u = uint32_t(key >> 32);
  u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
  return __uint_as_float(u);
}

__device__ __forceinline__ uint32_t key_title(uint64_t key) { return ~uint32_t(key); }

}  // namespace marquee::kernels::detail
