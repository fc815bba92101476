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

class TopKSelector {
 public:
  explicit TopKSelector(size_t k = 1) : k_(k) { heap_.reserve(k); }

  void reset(size_t k) {
    k_ = k;
    heap_.clear();
    heap_.reserve(k);
  }
  void clear() { heap_.clear(); }
  size_t k() const { return k_; }
  size_t size() const { return heap_.size(); }
  bool full() const { return heap_.size() == k_; }
  /// The worst kept entry (only meaningful when full()).
  const ScoredTitle& worst() const { return heap_.front(); }

  /// Offers one candidate. The common case (not better than the worst kept) costs one compare.
  void push(uint32_t title, float score) {
    if (heap_.size() < k_) {
      if (score != score) return;  // NaN
      heap_.push_back({title, score});
      std::push_heap(heap_.begin(), heap_.end(), ranks_before);
      return;
    }
    const ScoredTitle& w = heap_.front();
    if (score < w.score || (score == w.score && title > w.title) || !(score == score)) return;
    std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
    heap_.back() = {title, score};
    std::push_heap(heap_.begin(), heap_.end(), ranks_before);
  }

  /// Offers `n` consecutive titles first_title..first_title+n-1 with their scores; skips -inf
  /// (the marker for excluded titles).
  void push_row(uint32_t first_title, const float* scores, size_t n);

  /// Moves the kept entries into `out`, best first, and empties the selector.
  void take_sorted(std::vector<ScoredTitle>& out);

 private:
  size_t k_;
  std::vector<ScoredTitle> heap_;  // max-heap under ranks_before: front() is the worst kept
};

}  // namespace marquee
