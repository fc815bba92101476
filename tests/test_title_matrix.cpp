#include "engine/error.h"
#include "engine/title_matrix.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace marquee;

namespace {
Catalog three_titles() {
  Catalog c;
  c.add_tag({"comedy", "genre"});
  c.add_tag({"dark", "mood"});
  c.add_tag({"paris", "setting"});
  c.add_title({"a", "A", 100, 0});
  c.add_title({"b", "B", 100, 0});
  c.add_title({"c", "C", 100, 0});
  c.add_assignment({0, 0, 1.0f});  // a: comedy 1, paris 0.5
  c.add_assignment({0, 2, 0.5f});
  c.add_assignment({1, 0, 0.4f});  // b: comedy 0.4
  return c;
}
}  // namespace

TEST(TitleMatrix, IdfWeightedAndNormalised) {
  const Catalog c = three_titles();
  const TitleMatrix m = TitleMatrix::build(c);
  ASSERT_EQ(m.num_titles(), 3u);
  ASSERT_EQ(m.dim(), 3u);
  const double idf_comedy = std::log(4.0 / 3.0) + 1, idf_dark = std::log(4.0 / 1.0) + 1, idf_paris = std::log(4.0 / 2.0) + 1;
  EXPECT_NEAR(m.idf()[0], idf_comedy, 1e-6);
  EXPECT_NEAR(m.idf()[1], idf_dark, 1e-6);
  EXPECT_NEAR(m.idf()[2], idf_paris, 1e-6);
  const double x = 1.0 * idf_comedy, z = 0.5 * idf_paris, n = std::sqrt(x * x + z * z);
  EXPECT_NEAR(m.row(0)[0], x / n, 1e-6);
  EXPECT_NEAR(m.row(0)[1], 0, 1e-9);
  EXPECT_NEAR(m.row(0)[2], z / n, 1e-6);
  EXPECT_NEAR(m.row(1)[0], 1.0, 1e-6);  // a single tag normalises to 1
  // CSR holds the same values.
  EXPECT_EQ(m.row_ptr(), (std::vector<uint64_t>{0, 2, 3, 3}));
  EXPECT_EQ(m.col_idx(), (std::vector<uint32_t>{0, 2, 0}));
  EXPECT_FLOAT_EQ(m.values()[1], m.row(0)[2]);
  EXPECT_NEAR(m.density(), 3.0 / 9.0, 1e-12);
}

TEST(TitleMatrix, UntaggedTitlesAreZeroAndReported) {
  const TitleMatrix m = TitleMatrix::build(three_titles());
  EXPECT_EQ(m.untagged_titles(), std::vector<uint32_t>{2});
  for (size_t j = 0; j < 3; ++j) EXPECT_EQ(m.row(2)[j], 0.0f);
}

TEST(TitleMatrix, CatalogueWithoutTagsIsAnError) {
  Catalog c;
  c.add_title({"a", "A", 100, 0});
  try {
    TitleMatrix::build(c);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no tags"), std::string::npos) << e.what();
  }
}

TEST(Catalog, DuplicatesAreRefusedAndFingerprintTracksIdsAndTags) {
  Catalog c = three_titles();
  EXPECT_FALSE(c.add_title({"a", "again", 5, 0}).has_value());
  EXPECT_FALSE(c.add_tag({"dark", "x"}).has_value());
  EXPECT_FALSE(c.add_assignment({0, 0, 0.3f}));
  const uint64_t f = c.fingerprint();
  EXPECT_EQ(f, three_titles().fingerprint());
  c.add_tag({"new", "mood"});
  EXPECT_NE(f, c.fingerprint());
}
