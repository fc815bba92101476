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
}  // namespace

TEST(TopKSelector, TiesGoToTheLowerTitleIndexInAnyPushOrder) {
  for (int order = 0; order < 2; ++order) {
    TopKSelector s(3);
    std::vector<uint32_t> titles{5, 1, 9, 3, 7};
    if (order) std::reverse(titles.begin(), titles.end());
    for (uint32_t t : titles) s.push(t, 0.5f);
    EXPECT_EQ(ids(take(s)), (std::vector<uint32_t>{1, 3, 5})) << "order " << order;
  }
}

TEST(TopKSelector, KLargerThanInputReturnsEverythingSorted) {
  TopKSelector s(10);
  const float scores[4] = {0.1f, 0.9f, -0.3f, 0.9f};
  s.push_row(0, scores, 4);
  const auto out = take(s);
  EXPECT_EQ(ids(out), (std::vector<uint32_t>{1, 3, 0, 2}));
  EXPECT_FLOAT_EQ(out[3].score, -0.3f);
}

TEST(TopKSelector, KEqualsOne) {
  TopKSelector s(1);
  const float scores[5] = {0.2f, 0.7f, 0.7f, 0.1f, 0.69f};
  s.push_row(10, scores, 5);
  const auto out = take(s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].title, 11u);
}

TEST(TopKSelector, ExcludedAndNaNAreNeverSelected) {
  TopKSelector s(4);
  const float scores[5] = {-INFINITY, NAN, 0.5f, -INFINITY, NAN};
  s.push_row(0, scores, 5);
  EXPECT_EQ(ids(take(s)), (std::vector<uint32_t>{2}));
  TopKSelector all(2);
  const float excluded[3] = {-INFINITY, -INFINITY, -INFINITY};
  all.push_row(0, excluded, 3);
  EXPECT_TRUE(take(all).empty());
}

TEST(TopKSelector, MatchesAFullSortOnRandomRowsWithManyTies) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 50; ++trial) {
    const size_t n = 1 + rng() % 300, k = 1 + rng() % (n + 5);
    std::vector<float> scores(n);
    for (auto& x : scores) x = float(int(rng() % 7)) / 7.0f;  // few distinct values: many ties
    std::vector<ScoredTitle> ref;
    for (size_t i = 0; i < n; ++i) ref.push_back({uint32_t(i), scores[i]});
    std::sort(ref.begin(), ref.end(), ranks_before);
    ref.resize(std::min(k, n));
    TopKSelector s(k);
    // Two row chunks, as the scorers feed tiles.
    const size_t half = n / 2;
    s.push_row(0, scores.data(), half);
    s.push_row(uint32_t(half), scores.data() + half, n - half);
    EXPECT_EQ(ids(take(s)), ids(ref)) << "trial " << trial << " n=" << n << " k=" << k;
  }
}
