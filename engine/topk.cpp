#include "engine/topk.h"

#include <cmath>

namespace marquee {

void TopKSelector::compact() {
  if (heap_.size() <= k_) return;
  std::nth_element(heap_.begin(), heap_.begin() + std::ptrdiff_t(k_ - 1), heap_.end(), ranks_before);
  heap_.resize(k_);
  bar_ = heap_[k_ - 1];  // after nth_element: every entry before it ranks before it
  has_bar_ = true;
}

void TopKSelector::push_row(uint32_t first_title, const float* scores, size_t n) {
  size_t i = 0;
  if (buffered_) {
    // One float compare rejects almost every candidate once a threshold exists; push() settles
    // exact ties by title index and compacts when the buffer is full.
    float threshold = has_bar_ ? bar_.score : -INFINITY;
    for (; i < n; ++i) {
      const float s = scores[i];
      if (s < threshold || s == -INFINITY) continue;
      push(first_title + uint32_t(i), s);
      if (has_bar_) threshold = bar_.score;
    }
    return;
  }
  // Fill phase: until K entries are kept every finite candidate goes in.
  for (; i < n && heap_.size() < k_; ++i)
    if (scores[i] != -INFINITY) push(first_title + uint32_t(i), scores[i]);
  if (i == n) return;
  // Scan phase: one compare against the worst kept score rejects almost every candidate; push()
  // settles exact ties by title index. Excluded titles (-inf) are always below the threshold.
  float threshold = heap_.front().score;
  for (; i < n; ++i) {
    const float s = scores[i];
    if (s < threshold) continue;
    push(first_title + uint32_t(i), s);
    threshold = heap_.front().score;
  }
}

void TopKSelector::take_sorted(std::vector<ScoredTitle>& out) {
  if (buffered_) {
    compact();
    std::sort(heap_.begin(), heap_.end(), ranks_before);
  } else {
    std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
  }
  out.assign(heap_.begin(), heap_.end());
  heap_.clear();
  has_bar_ = false;
}

}  // namespace marquee
