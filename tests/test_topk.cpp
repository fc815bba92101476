#include "engine/topk.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace marquee;

namespace {
std::vector<ScoredTitle> take(TopKSelector& s) {
  std::vector<ScoredTitle> out;
  s.take_sorted(out);
  return out;
}
std::vector<uint32_t> ids(const std::vector<ScoredTitle>& v) {
  std::vector<uint32_t> out;
  for (const auto& x : v) out.push_back(x.title);
  return out;
}
// Every test runs with both strategies (and Auto): they must give identical results.
class TopKStrategies : public ::testing::TestWithParam<TopKStrategy> {};
}  // namespace

TEST_P(TopKStrategies, TiesGoToTheLowerTitleIndexInAnyPushOrder) {
  for (int order = 0; order < 2; ++order) {
    TopKSelector s(3, GetParam());
    std::vector<uint32_t> titles{5, 1, 9, 3, 7};
    if (order) std::reverse(titles.begin(), titles.end());
    for (uint32_t t : titles) s.push(t, 0.5f);
    EXPECT_EQ(ids(take(s)), (std::vector<uint32_t>{1, 3, 5})) << "order " << order;
  }
}

TEST_P(TopKStrategies, KLargerThanInputReturnsEverythingSorted) {
  TopKSelector s(10, GetParam());
  const float scores[4] = {0.1f, 0.9f, -0.3f, 0.9f};
  s.push_row(0, scores, 4);
  const auto out = take(s);
  EXPECT_EQ(ids(out), (std::vector<uint32_t>{1, 3, 0, 2}));
  EXPECT_FLOAT_EQ(out[3].score, -0.3f);
}

TEST_P(TopKStrategies, KEqualsOne) {
  TopKSelector s(1, GetParam());
  const float scores[5] = {0.2f, 0.7f, 0.7f, 0.1f, 0.69f};
  s.push_row(10, scores, 5);
  const auto out = take(s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].title, 11u);
}

TEST_P(TopKStrategies, ExcludedAndNaNAreNeverSelected) {
  TopKSelector s(4, GetParam());
  const float scores[5] = {-INFINITY, NAN, 0.5f, -INFINITY, NAN};
  s.push_row(0, scores, 5);
  EXPECT_EQ(ids(take(s)), (std::vector<uint32_t>{2}));
  TopKSelector all(2, GetParam());
  const float excluded[3] = {-INFINITY, -INFINITY, -INFINITY};
  all.push_row(0, excluded, 3);
  EXPECT_TRUE(take(all).empty());
}

TEST_P(TopKStrategies, MatchesAFullSortOnRandomRowsWithManyTies) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 50; ++trial) {
    const size_t n = 1 + rng() % 300, k = 1 + rng() % (n + 5);
    std::vector<float> scores(n);
    for (auto& x : scores) x = float(int(rng() % 7)) / 7.0f;  // few distinct values: many ties
    std::vector<ScoredTitle> ref;
    for (size_t i = 0; i < n; ++i) ref.push_back({uint32_t(i), scores[i]});
    std::sort(ref.begin(), ref.end(), ranks_before);
    ref.resize(std::min(k, n));
    TopKSelector s(k, GetParam());
    // Two row chunks, as the scorers feed tiles.
    const size_t half = n / 2;
    s.push_row(0, scores.data(), half);
    s.push_row(uint32_t(half), scores.data() + half, n - half);
    EXPECT_EQ(ids(take(s)), ids(ref)) << "trial " << trial << " n=" << n << " k=" << k;
  }
}

// Large K with many compactions: candidates arrive in every order (rising, falling, random with
// heavy ties, NaN and -inf mixed in), in chunks as the scorers feed tiles, and through push() too.
TEST_P(TopKStrategies, LargeKMatchesAFullSortThroughManyCompactions) {
  std::mt19937 rng(77);
  for (int trial = 0; trial < 40; ++trial) {
    const size_t n = 200 + rng() % 5000, k = 1 + rng() % 1500;
    std::vector<float> scores(n);
    const int shape = trial % 4;
    for (size_t i = 0; i < n; ++i) {
      scores[i] = shape == 0 ? float(i) : shape == 1 ? -float(i) : float(int(rng() % 13)) / 13.0f;
      if (shape == 3 && rng() % 17 == 0) scores[i] = rng() % 2 ? NAN : -INFINITY;
    }
    std::vector<ScoredTitle> ref;
    for (size_t i = 0; i < n; ++i)
      if (scores[i] == scores[i] && scores[i] != -INFINITY) ref.push_back({uint32_t(i), scores[i]});
    std::sort(ref.begin(), ref.end(), ranks_before);
    if (ref.size() > k) ref.resize(k);
    TopKSelector s(k, GetParam());
    size_t at = 0;
    while (at < n) {
      const size_t len = std::min<size_t>(n - at, 1 + rng() % 700);
      if (rng() % 3 == 0) {
        for (size_t i = at; i < at + len; ++i)
          if (scores[i] != -INFINITY) s.push(uint32_t(i), scores[i]);
      } else {
        s.push_row(uint32_t(at), scores.data() + at, len);
      }
      if (s.full()) {
        // The threshold callers filter with never drops a title of the true top K.
        for (const ScoredTitle& r : ref) {
          if (r.title < at + len) {
            ASSERT_FALSE(ranks_before(s.worst(), r)) << "trial " << trial << " title " << r.title;
          }
        }
      }
      at += len;
    }
    const auto got = take(s);
    ASSERT_EQ(got.size(), ref.size()) << "trial " << trial << " n=" << n << " k=" << k;
    for (size_t r = 0; r < ref.size(); ++r) {
      ASSERT_EQ(got[r].title, ref[r].title) << "trial " << trial << " rank " << r;
      ASSERT_EQ(got[r].score, ref[r].score) << "trial " << trial << " rank " << r;
    }
    // Reusable after take_sorted / reset.
    s.reset(k);
    EXPECT_FALSE(s.full());
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, TopKStrategies,
                         ::testing::Values(TopKStrategy::Heap, TopKStrategy::Buffer, TopKStrategy::Auto),
                         [](const ::testing::TestParamInfo<TopKStrategy>& i) {
                           return i.param == TopKStrategy::Heap ? "heap" : i.param == TopKStrategy::Buffer ? "buffer" : "auto";
                         });

// The selection's vector scan, both instruction sets, against the obvious loop: every length (the
// masked and scalar tails), thresholds equal to a score, NaN and -inf (never returned).
TEST(TopKScan, BothInstructionSetsFindTheFirstScoreAtLeastTheThreshold) {
  std::mt19937_64 rng(20261202);
  for (size_t n = 0; n < 70; ++n) {
    std::vector<float> s(n);
    for (float& x : s) {
      const int r = int(rng() % 20);
      x = r == 0 ? NAN : r == 1 ? -INFINITY : float(int(rng() % 9) - 4);
    }
    for (const float threshold : {-INFINITY, -4.0f, 0.0f, 3.0f, 5.0f})
      for (size_t from = 0; from <= n; from += 3) {
        size_t expected = from;
        while (expected < n && !(s[expected] >= threshold)) ++expected;
        EXPECT_EQ(detail::scan_avx2(s.data(), from, n, threshold), expected) << "n " << n << " from " << from;
        if (detail::scan_avx512_supported()) {
          EXPECT_EQ(detail::scan_avx512(s.data(), from, n, threshold), expected) << "n " << n << " from " << from;
        }
      }
  }
}
