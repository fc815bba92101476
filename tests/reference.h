// Naive reference implementations, written independently of the engine's fast paths:
// O(users x titles x dim) scoring in double precision and a full sort.
#pragma once

#include "engine/scorer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace marquee::test {

struct RefHit {
  uint32_t title;
  double score;
};

/// All titles' scores for one user vector (dense title rows, double accumulation).
inline std::vector<double> naive_scores(const std::vector<float>& title_rows, size_t n_titles, size_t dim,
                                        const float* user) {
  std::vector<double> s(n_titles, 0.0);
  for (size_t t = 0; t < n_titles; ++t)
    for (size_t d = 0; d < dim; ++d) s[t] += double(user[d]) * title_rows[t * dim + d];
  return s;
}

/// Top-K by full sort: score descending, lower index first; `excluded` removed.
inline std::vector<RefHit> naive_topk(const std::vector<double>& scores, const std::vector<uint32_t>& excluded,
                                      size_t k) {
  std::vector<RefHit> all;
  for (uint32_t t = 0; t < scores.size(); ++t)
    if (std::find(excluded.begin(), excluded.end(), t) == excluded.end()) all.push_back({t, scores[t]});
  std::sort(all.begin(), all.end(), [](const RefHit& a, const RefHit& b) {
    return a.score > b.score || (a.score == b.score && a.title < b.title);
  });
  if (all.size() > k) all.resize(k);
  return all;
}

/// Same titles in the same order, except swaps between titles whose true scores are within `tol`
/// (float summation order differs from the double reference); scores within `tol`.
inline void expect_same_topk(const std::vector<RefHit>& ref, const std::vector<double>& all_scores,
                             const uint32_t* titles, const float* scores, size_t count, double tol,
                             const std::string& context) {
  ASSERT_EQ(count, ref.size()) << context;
  for (size_t r = 0; r < count; ++r) {
    EXPECT_NEAR(scores[r], ref[r].score, tol) << context << " rank " << r;
    if (titles[r] != ref[r].title) {
      EXPECT_NEAR(all_scores[titles[r]], ref[r].score, tol)
          << context << " rank " << r << ": got title " << titles[r] << ", expected " << ref[r].title;
    }
  }
}

/// A random catalogue: `n_titles` titles over `n_tags` tags, each title with 0..max_tags tags.
inline Catalog random_catalog(size_t n_titles, size_t n_tags, size_t max_tags, std::mt19937_64& rng) {
  Catalog c;
  for (size_t j = 0; j < n_tags; ++j) c.add_tag({"tag" + std::to_string(j), "genre"});
  for (size_t t = 0; t < n_titles; ++t) {
    c.add_title({"t" + std::to_string(t), "", 1000, 0});
    const size_t n = rng() % (max_tags + 1);
    for (size_t i = 0; i < n; ++i)
      c.add_assignment({uint32_t(t), uint32_t(rng() % n_tags), float(0.05 + 0.95 * double(rng() % 1000) / 1000.0)});
  }
  return c;
}

}  // namespace marquee::test
