#include "engine/topk.h"

#include <cmath>

namespace marquee {

void TopKSelector::push_row(uint32_t first_title, const float* scores, size_t n) {
  size_t i = 0;
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
  std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
  out.assign(heap_.begin(), heap_.end());
  heap_.clear();
}

}  // namespace marquee
