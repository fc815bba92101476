#include "engine/topk.h"

#include <immintrin.h>

#include <cfloat>
#include <cmath>

namespace marquee {
namespace {

// The scan's inner loop: the first i in [from, n) with scores[i] >= threshold (never NaN), or n.
// Almost every score is below the K-th best, so this runs 8 or 16 compares per instruction and
// returns only for the rare candidate. Chosen once at run time: AVX-512 where the CPU has it, AVX2
// (the build's baseline) elsewhere.
using ScanFn = size_t (*)(const float* scores, size_t from, size_t n, float threshold);

}  // namespace

namespace detail {

size_t scan_avx2(const float* scores, size_t i, size_t n, float threshold) {
  const __m256 t = _mm256_set1_ps(threshold);
  for (; i + 8 <= n; i += 8) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(scores + i), t, _CMP_GE_OQ));
    if (mask) return i + size_t(__builtin_ctz(unsigned(mask)));
  }
  for (; i < n; ++i)
    if (scores[i] >= threshold) return i;
  return n;
}

__attribute__((target("avx512f"))) size_t scan_avx512(const float* scores, size_t i, size_t n, float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  for (; i + 16 <= n; i += 16) {
    const __mmask16 mask = _mm512_cmp_ps_mask(_mm512_loadu_ps(scores + i), t, _CMP_GE_OQ);
    if (mask) return i + size_t(__builtin_ctz(unsigned(mask)));
  }
  if (i < n) {  // the tail, masked
    const __mmask16 live = __mmask16((1u << (n - i)) - 1);
    const __mmask16 mask = _mm512_mask_cmp_ps_mask(live, _mm512_maskz_loadu_ps(live, scores + i), t, _CMP_GE_OQ);
    return mask ? i + size_t(__builtin_ctz(unsigned(mask))) : n;
  }
  return n;
}

bool scan_avx512_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

}  // namespace detail

namespace {

ScanFn choose_scan() { return detail::scan_avx512_supported() ? detail::scan_avx512 : detail::scan_avx2; }

const ScanFn scan_at_least = choose_scan();

}  // namespace

void TopKSelector::compact() {
  if (keys_.size() <= k_) return;
  std::nth_element(keys_.begin(), keys_.begin() + std::ptrdiff_t(k_ - 1), keys_.end(), std::greater<uint64_t>());
  keys_.resize(k_);
  bar_ = keys_[k_ - 1];  // after nth_element: every entry before it ranks before it
  has_bar_ = true;
}

void TopKSelector::push_row(uint32_t first_title, const float* scores, size_t n) {
  size_t i = 0;
  if (buffered_) {
    // Only candidates that reach the threshold (-inf excluded: the lowest finite float before there
    // is one) leave the vector scan; push() settles exact ties by title index and compacts when the
    // buffer is full.
    for (;;) {
      i = scan_at_least(scores, i, n, has_bar_ ? decode(bar_).score : -FLT_MAX);
      if (i >= n) return;
      push(first_title + uint32_t(i), scores[i]);
      ++i;
    }
  }
  // Fill phase: until K entries are kept every finite candidate goes in.
  for (; i < n && keys_.size() < k_; ++i)
    if (scores[i] != -INFINITY) push(first_title + uint32_t(i), scores[i]);
  if (i == n) return;
  // Scan phase: a vector compare against the worst kept score rejects almost every candidate;
  // push() settles exact ties by title index. Excluded titles (-inf) are always below the threshold.
  for (;;) {
    i = scan_at_least(scores, i, n, decode(keys_.front()).score);
    if (i >= n) return;
    push(first_title + uint32_t(i), scores[i]);
    ++i;
  }
}

void TopKSelector::take_sorted(std::vector<ScoredTitle>& out) {
  if (buffered_) {
    compact();
    std::sort(keys_.begin(), keys_.end(), std::greater<uint64_t>());
  } else {
    std::sort_heap(keys_.begin(), keys_.end(), std::greater<uint64_t>());  // ascending under greater: best first
  }
  out.resize(keys_.size());
  for (size_t r = 0; r < keys_.size(); ++r) out[r] = decode(keys_[r]);
  keys_.clear();
  has_bar_ = false;
}

}  // namespace marquee
