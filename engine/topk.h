// TopKSelector: keeps the K best (score, title) pairs of a stream, CPU reference for every backend.
// Order is total and deterministic: higher score first, and on equal scores the lower title index.
// NaN scores are never selected.
#pragma once

#include <algorithm>
#include <cstdint>
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

/// ranks_before as a function object: the standard algorithms inline it (a function pointer they
/// call through, and the heap's compares were 8 % of dense scoring's profile).
struct RanksBefore {
  bool operator()(const ScoredTitle& a, const ScoredTitle& b) const { return ranks_before(a, b); }
};

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
    heap_.clear();
    heap_.reserve(buffered_ ? 2 * k : k);
    has_bar_ = false;
  }
  void clear() {
    heap_.clear();
    has_bar_ = false;
  }
  size_t k() const { return k_; }
  /// Heap: the K-th best so far is known. Buffer: a threshold (the K-th best at the last
  /// compaction, a lower bound of the current one) is known.
  bool full() const { return buffered_ ? has_bar_ : heap_.size() == k_; }
  /// The worst kept entry (heap), or the threshold (buffer); only meaningful when full(). Anything
  /// that does not rank before it can be dropped by the caller.
  const ScoredTitle& worst() const { return buffered_ ? bar_ : heap_.front(); }

  /// Offers one candidate. The common case (not better than the worst kept) costs one compare.
  void push(uint32_t title, float score) {
    if (buffered_) {
      if (has_bar_ ? !ranks_before({title, score}, bar_) : score != score) return;  // also NaN
      heap_.push_back({title, score});
      if (heap_.size() == 2 * k_) compact();
      return;
    }
    if (heap_.size() < k_) {
      if (score != score) return;  // NaN
      heap_.push_back({title, score});
      std::push_heap(heap_.begin(), heap_.end(), RanksBefore{});
      return;
    }
    const ScoredTitle& w = heap_.front();
    if (score < w.score || (score == w.score && title > w.title) || !(score == score)) return;
    replace_worst({title, score});
  }

  /// Offers `n` consecutive titles first_title..first_title+n-1 with their scores; skips -inf
  /// (the marker for excluded titles).
  void push_row(uint32_t first_title, const float* scores, size_t n);

  /// Moves the kept entries into `out`, best first, and empties the selector.
  void take_sorted(std::vector<ScoredTitle>& out);

 private:
  /// Buffer: keeps the K best of the buffer; their worst becomes the threshold.
  void compact();
  /// Heap: puts `c` in the worst entry's place and sifts it down — one pass of log K steps where
  /// pop_heap + push_heap take two (the standard library has no replace-top).
  void replace_worst(ScoredTitle c) {
    const size_t n = heap_.size();
    size_t i = 0;
    for (;;) {
      const size_t l = 2 * i + 1;
      if (l >= n) break;
      const size_t worse = l + 1 < n && ranks_before(heap_[l], heap_[l + 1]) ? l + 1 : l;
      if (!ranks_before(c, heap_[worse])) break;
      heap_[i] = heap_[worse];
      i = worse;
    }
    heap_[i] = c;
  }

  TopKStrategy strategy_;
  size_t k_ = 1;
  bool buffered_ = false;
  std::vector<ScoredTitle> heap_;  // heap: max-heap under ranks_before, front() the worst kept; buffer: candidates
  ScoredTitle bar_;                // buffer: the threshold (valid when has_bar_)
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
