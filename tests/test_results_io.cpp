// The results writer against the formatting it replaced (fmt per row, ids quoted per row): the same
// bytes, CSV and JSON Lines, for ids that need quoting and for every kind of score.
#include "host/io/results_io.h"

#include "host/io/rejects.h"
#include "test_util.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace marquee;
using marquee::test::read_text;
using marquee::test::TempDir;

namespace {
std::string fast(float score) {
  fmt::memory_buffer buf;
  append_score(buf, score);
  return std::string(buf.data(), buf.size());
}

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
}  // namespace

TEST(AppendScore, WritesWhatFmtWrites) {
  const float inf = std::numeric_limits<float>::infinity();
  for (const float f : {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 1e-9f, -1e-9f, 4.9999e-7f, 5e-7f, -5e-7f, 0.0078125f, 0.0234375f,
                        -0.0390625f, 999999.9f, 1e12f, -3e15f, 1e20f, 3.4e38f, inf, -inf,
                        std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min(),
                        std::numeric_limits<float>::min()})
    EXPECT_EQ(fast(f), fmt::format("{:.6f}", f)) << f;
  // Half-way cases of six decimals: score * 10^6 ends in .5 exactly for odd multiples of 2^-7
  // (j * 2^-7 * 10^6 = j * 15625 / 2); these, up to 8192 and negated.
  for (int64_t j = 1; j < (1 << 20); j += 2)
    for (const float f : {float(std::ldexp(double(j), -7)), -float(std::ldexp(double(j), -7))})
      ASSERT_EQ(fast(f), fmt::format("{:.6f}", f)) << j;
  // Bit patterns spread over every finite float, and dense around the scores' usual range.
  const unsigned seed = 6;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 600000; ++i) {
    const float f = i % 2 ? from_bits(uint32_t(rng())) : float(std::ldexp(double(rng() % (1u << 24)), -int(rng() % 40)) * (rng() % 2 ? 1 : -1));
    ASSERT_EQ(fast(f), fmt::format("{:.6f}", f)) << std::hexfloat << f;
  }
}

// The writer's rows against the format strings it used before, with ids that CSV must quote and
// JSON must escape, ranks past 9, and a user with fewer results than k.
TEST(ResultsWriter, SameBytesAsPerRowFormatting) {
  TempDir dir;
  Catalog c;
  const std::vector<std::string> ids = {"t1", "t,2", "t\"3\"", "t\xc3\xa9", "t\n5", "t 6", "", "t7"};
  for (const auto& id : ids) c.add_title(Title{id, "", 600, 2000});
  std::vector<std::string> users = {"u1", "u,2", "u\"3", "\xc3\xa9"};
  TopKResult r;
  const size_t k = 12;
  r.resize(users.size(), k);
  std::mt19937 rng(3);
  for (size_t u = 0; u < users.size(); ++u) {
    r.counts[u] = u == 2 ? 5 : k;
    for (size_t i = 0; i < k; ++i) {
      r.titles[u * k + i] = uint32_t(rng() % ids.size());
      r.scores[u * k + i] = float(int(rng() % 2000000) - 1000000) / 777777.0f;
    }
  }
  std::string want_csv = "user_id,rank,title_id,score\n", want_jsonl;
  for (size_t u = 0; u < users.size(); ++u)
    for (size_t i = 0; i < r.counts[u]; ++i) {
      const std::string& title = c.title(r.titles[u * k + i]).id;
      const float score = r.scores[u * k + i];
      want_csv += fmt::format("{},{},{},{:.6f}\n", csv_field(users[u]), i + 1, csv_field(title), score);
      want_jsonl += fmt::format("{{\"user_id\":{},\"rank\":{},\"title_id\":{},\"score\":{:.6f}}}\n",
                                nlohmann::json(users[u]).dump(), i + 1, nlohmann::json(title).dump(), score);
    }
  for (const char* name : {"r.csv", "r.jsonl"}) {
    ResultsWriter w(dir / name, parse_result_format("auto", name));
    w.write(users, r, c);  // twice: the second batch reuses the quoted ids
    w.write(users, r, c);
    w.commit();
    EXPECT_EQ(w.rows(), 2 * (3 * k + 5));
  }
  EXPECT_EQ(read_text(dir / "r.csv"), want_csv + want_csv.substr(want_csv.find('\n') + 1));
  EXPECT_EQ(read_text(dir / "r.jsonl"), want_jsonl + want_jsonl);
}
