#include "engine/id_map.h"

#include "engine/catalog.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

using namespace marquee;

// Against std::unordered_map on ids built to collide in the parts a slot keeps: shared 16-byte
// prefixes, lengths around 16, ids that differ only in trailing zero bytes, the empty id.
TEST(IdMap, AgreesWithUnorderedMap) {
  const unsigned seed = 77;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  IdMap map;
  std::unordered_map<std::string, uint32_t> want;
  std::vector<std::string> order;
  auto random_id = [&] {
    switch (rng() % 5) {
      case 0: return std::string(rng() % 20, '\0');                              // "", "\0", "\0\0", ...
      case 1: return "0123456789abcdef" + std::to_string(rng() % 300);          // one prefix, longer
      case 2: return std::string("u") + std::to_string(rng() % 3000);
      case 3: return std::string(15 + rng() % 3, char('a' + rng() % 3));         // lengths 15..17
      default: {
        std::string s(rng() % 40, ' ');
        for (char& c : s) c = char(rng() % 4);
        return s;
      }
    }
  };
  for (int n = 0; n < 50000; ++n) {
    const std::string id = random_id();
    if (rng() % 3 == 0) {
      const auto it = want.find(id);
      const auto got = map.find(id);
      ASSERT_EQ(got.has_value(), it != want.end());
      if (got) {
        ASSERT_EQ(*got, it->second);
      }
      continue;
    }
    const auto [index, inserted] = map.insert(id);
    const auto [it, fresh] = want.try_emplace(id, uint32_t(order.size()));
    if (fresh) order.push_back(id);
    ASSERT_EQ(inserted, fresh);
    ASSERT_EQ(index, it->second);
  }
  EXPECT_EQ(map.ids(), order);
  EXPECT_GT(order.size(), 3000u);
  for (size_t i = 0; i < order.size(); ++i) ASSERT_EQ(map.find(order[i]), std::optional<uint32_t>(uint32_t(i)));
  EXPECT_EQ(map.find("absent"), std::nullopt);
  EXPECT_EQ(map.find(std::string(21, '\0')), std::nullopt);
}

TEST(IdMap, ClearReleaseAndReserve) {
  IdMap map;
  EXPECT_EQ(map.find("a"), std::nullopt);  // an empty map has no table yet
  map.reserve(1000);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(map.insert("id" + std::to_string(i)).first, uint32_t(i));
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.find("id5"), std::nullopt);
  EXPECT_EQ(map.insert("b"), std::make_pair(0u, true));
  EXPECT_EQ(map.insert("a"), std::make_pair(1u, true));
  EXPECT_EQ(map.insert("b"), std::make_pair(0u, false));
  EXPECT_EQ(map.release(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.find("b"), std::nullopt);
  EXPECT_EQ(map.insert("c"), std::make_pair(0u, true));
}

// The catalogue's table of (title, tag) assignments, the other flat table of catalogue loading:
// duplicates found among many, across its growth, against std::set.
TEST(CatalogAssignments, DuplicatesAreFoundAmongMany) {
  std::mt19937 rng(11);
  Catalog c;
  std::set<std::pair<uint32_t, uint32_t>> want;
  size_t added = 0;
  for (int n = 0; n < 200000; ++n) {
    const uint32_t title = rng() % 3000, tag = rng() % 100;
    const bool fresh = want.emplace(title, tag).second;
    ASSERT_EQ(c.add_assignment({title, tag, 0.5f}), fresh) << title << " " << tag;
    added += fresh;
  }
  EXPECT_EQ(c.assignments().size(), added);
  EXPECT_TRUE(c.add_assignment({0xFFFFFFFEu, 0xFFFFFFFEu, 1.0f}));  // the largest indices
  EXPECT_FALSE(c.add_assignment({0xFFFFFFFEu, 0xFFFFFFFEu, 1.0f}));
}
