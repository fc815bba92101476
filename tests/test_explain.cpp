#include "engine/explain.h"
#include "engine/error.h"

#include <gtest/gtest.h>

using namespace marquee;

namespace {
TitleMatrix matrix() {
  Catalog c;
  for (const char* t : {"comedy", "dark", "paris"}) c.add_tag({t, "g"});
  for (const char* t : {"a", "b", "c", "d"}) c.add_title({t, "", 100, 0});
  c.add_assignment({0, 0, 1.0f});  // a: comedy
  c.add_assignment({1, 0, 1.0f});  // b: comedy + paris
  c.add_assignment({1, 2, 1.0f});
  c.add_assignment({2, 1, 1.0f});  // c: dark
  c.add_assignment({3, 2, 1.0f});  // d: paris
  return TitleMatrix::build(c);
}
}  // namespace

TEST(Explain, TagContributionsSumToTheScore) {
  const TitleMatrix m = matrix();
  const float user[3] = {0.6f, 0.0f, 0.8f};
  const Explanation ex = explain(m, user, nullptr, nullptr, 1);
  double dot = 0;
  for (int d = 0; d < 3; ++d) dot += user[d] * m.row(1)[d];
  EXPECT_NEAR(ex.score, dot, 1e-6);
  ASSERT_EQ(ex.tags.size(), 2u);
  double sum = 0;
  for (const auto& c : ex.tags) sum += c.contribution;
  EXPECT_NEAR(sum, ex.score, 1e-6);
  EXPECT_GE(ex.tags[0].contribution, ex.tags[1].contribution);
}

TEST(Explain, BecauseYouWatchedListsPositiveSimilarTitlesOnly) {
  const TitleMatrix m = matrix();
  const float user[3] = {0.6f, 0.0f, 0.8f};
  // Watched a (liked), c (liked but unrelated to b), d (abandoned: negative weight).
  const SeenTitle seen[3] = {{0, 0.8f, 1}, {2, 0.8f, 1}, {3, -0.4f, 0}};
  const Explanation ex = explain(m, user, seen, seen + 3, 1);
  ASSERT_EQ(ex.because.size(), 1u);
  EXPECT_EQ(ex.because[0].title, 0u);
  EXPECT_NEAR(ex.because[0].similarity, m.row(0)[0] * m.row(1)[0], 1e-6);
  EXPECT_FLOAT_EQ(ex.because[0].weight, 0.8f);
}

TEST(Explain, UnknownTitleIsAnArgumentError) {
  const TitleMatrix m = matrix();
  const float user[3] = {1, 0, 0};
  EXPECT_THROW(explain(m, user, nullptr, nullptr, 4), ArgumentError);
}
