// TopKSelector: keeps the K best (score, title) pairs of a stream, CPU reference for every backend.
// Order is total and deterministic: higher score first, and on equal scores the lower title index.
// NaN scores are never selected.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

namespace marquee {

struct ScoredTitle {
  uint32_t title = 0;
  float score = 0;
};

/// True when `a` ranks before `b`.
inline bool ranks_before(const ScoredTitle& a, const ScoredTitle& b) {
  return a.score > b.score || (a.score == b.score && a.title < b.title);
}

/// How a TopKSelector keeps its candidates. Both give identical results.
///   Heap:   a K-entry max-heap of the worst kept; one compare rejects most candidates, each accepted
///           one costs O(log K). Best for small K.
///   Buffer: candidates that beat a threshold go into a 2K buffer; when it fills, nth_element keeps
///           the K best and their worst becomes the threshold (amortised O(1) per accepted
///           candidate). Best for K in the hundreds and thousands, where a heap's log K and its
///           cache misses dominate (the rule in kBufferFromK; docs/benchmarks.md).
enum class TopKStrategy { Auto, Heap, Buffer };

class TopKSelector {
 public:
  /// Auto takes the buffer from this K on (measured: bench_scoring BM_TopKPushRow).
  static constexpr size_t kBufferFromK = 100;

  explicit TopKSelector(size_t k = 1, TopKStrategy strategy = TopKStrategy::Auto) : strategy_(strategy) { reset(k); }

  void reset(size_t k) {
    k_ = k;
    buffered_ = strategy_ == TopKStrategy::Buffer || (strategy_ == TopKStrategy::Auto && k >= kBufferFromK);
    keys_.clear();
    keys_.reserve(buffered_ ? 2 * k : k);
    has_bar_ = false;
  }
  void clear() {
    keys_.clear();
    has_bar_ = false;
  }
  size_t k() const { return k_; }
  /// Heap: the K-th best so far is known. Buffer: a threshold (the K-th best at the last
  /// compaction, a lower bound of the current one) is known.
  bool full() const { return buffered_ ? has_bar_ : keys_.size() == k_; }
  /// The worst kept entry (heap), or the threshold (buffer); only meaningful when full(). Anything
  /// that does not rank before it can be dropped by the caller.
  ScoredTitle worst() const { return decode(buffered_ ? bar_ : keys_.front()); }

  /// Offers one candidate. The common case (not better than the worst kept) costs one compare.
  void push(uint32_t title, float score) {
    if (score != score) return;  // NaN is never selected
    const uint64_t key = encode(title, score);
    if (buffered_) {
      if (has_bar_ && key <= bar_) return;
      keys_.push_back(key);
      if (keys_.size() == 2 * k_) compact();
      return;
    }
    if (keys_.size() < k_) {
      keys_.push_back(key);
      std::push_heap(keys_.begin(), keys_.end(), std::greater<uint64_t>());
      return;
    }
    if (key <= keys_.front()) return;
    replace_worst(key);
  }

  /// Offers `n` consecutive titles first_title..first_title+n-1 with their scores; skips -inf
  /// (the marker for excluded titles).
  void push_row(uint32_t first_title, const float* scores, size_t n);

  /// Moves the kept entries into `out`, best first, and empties the selector.
  void take_sorted(std::vector<ScoredTitle>& out);

  /// (score, title) as one integer that orders like ranks_before: a higher key ranks before. The
  /// score's bits, made monotonic (sign flipped for positives, all bits for negatives), above the
  /// complemented title. Compares become one integer compare, and the heap's sift picks a child
  /// without a branch — the float compare-and-tie-break was most of the selection's profile.
  /// -0.0 is stored as +0.0 (ranks_before holds them equal; no backend sums to -0.0).
  static uint64_t encode(uint32_t title, float score) {
    score += 0.0f;  // -0.0 -> +0.0
    uint32_t bits;
    std::memcpy(&bits, &score, 4);
    bits = bits & 0x80000000u ? ~bits : bits | 0x80000000u;
    return uint64_t(bits) << 32 | uint64_t(~title);
  }
  static ScoredTitle decode(uint64_t key) {
    uint32_t bits = uint32_t(key >> 32);
    bits = bits & 0x80000000u ? bits & 0x7fffffffu : ~bits;
    float score;
    std::memcpy(&score, &bits, 4);
    return {~uint32_t(key), score};
  }

 private:
  /// Buffer: keeps the K best of the buffer; their worst becomes the threshold.
  void compact();
  /// Heap (a min-heap of keys: front() the worst kept): puts `key` in the worst entry's place and
  /// sifts it down — one pass where pop_heap + push_heap take two (the standard library has no
  /// replace-top).
  void replace_worst(uint64_t key) {
    const size_t n = keys_.size();
    uint64_t* h = keys_.data();
    size_t i = 0;
    for (size_t l = 1; l < n; l = 2 * i + 1) {
      const size_t worse = l + size_t(l + 1 < n && h[l + 1] < h[l]);
      if (key <= h[worse]) break;
      h[i] = h[worse];
      i = worse;
    }
    h[i] = key;
  }

  TopKStrategy strategy_;
  size_t k_ = 1;
  bool buffered_ = false;
  std::vector<uint64_t> keys_;  // heap: min-heap of keys, front() the worst kept; buffer: candidates
  uint64_t bar_ = 0;            // buffer: the threshold's key (valid when has_bar_)
  bool has_bar_ = false;
};

namespace detail {
/// The selection's vector scan (engine/topk.cpp), exposed for tests: the first i in [from, n) with
/// scores[i] >= threshold (NaN never), or n. The AVX-512 one runs only where supported.
size_t scan_avx2(const float* scores, size_t from, size_t n, float threshold);
size_t scan_avx512(const float* scores, size_t from, size_t n, float threshold);
bool scan_avx512_supported();
}  // namespace detail

}  // namespace marquee
