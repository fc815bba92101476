// Personalised artwork, the rule (docs/artwork.md): the variant choice against a naive
// double-precision reference written here from the documented rule, the fallback and tie-break, the
// artwork.csv loader's rejects and --strict, and (label gpu, skipped without a device) the CUDA chooser
// against the CPU one. `score`/`explain --artwork` and the server: test_artwork_integration.cpp.
#include "engine/artwork.h"
#include "engine/error.h"
#include "gpu_test_util.h"
#include "host/backend/resolver.h"
#include "host/cuda/entry_points.h"
#include "host/io/artwork_io.h"
#include "host/io/catalog_io.h"
#include "host/io/results_io.h"
#include "reference.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::test;

namespace {

struct VariantRow {
  uint32_t title;
  std::string id;
  uint32_t tag;
  float weight;
};

// Random variants: each title gets 0..max_variants variants (title % 5 == 0: none), each with
// 1..4 tags; the rows of a title's variants are interleaved, as a file may list them.
std::vector<VariantRow> random_variants(const Catalog& c, size_t max_variants, std::mt19937_64& rng) {
  std::vector<VariantRow> rows;
  for (uint32_t t = 0; t < c.num_titles(); ++t) {
    if (t % 5 == 0) continue;
    const size_t n = 1 + rng() % max_variants;
    std::vector<VariantRow> title_rows;
    for (size_t v = 0; v < n; ++v) {
      const size_t tags = 1 + rng() % 4;
      std::vector<uint32_t> used;
      for (size_t i = 0; i < tags; ++i) {
        const uint32_t tag = uint32_t(rng() % c.num_tags());
        if (std::find(used.begin(), used.end(), tag) != used.end()) continue;
        used.push_back(tag);
        title_rows.push_back({t, "v" + std::to_string(v), tag, float(0.05 + 0.95 * double(rng() % 1000) / 1000.0)});
      }
    }
    // Keep every variant's first row in variant order (that order is the tie-break), shuffle the rest.
    std::stable_sort(title_rows.begin(), title_rows.end(), [](const VariantRow& a, const VariantRow& b) {
      return a.id.size() != b.id.size() ? a.id.size() < b.id.size() : a.id < b.id;
    });
    std::vector<VariantRow> firsts, rest;
    for (size_t i = 0; i < title_rows.size(); ++i)
      (i == 0 || title_rows[i].id != title_rows[i - 1].id ? firsts : rest).push_back(title_rows[i]);
    std::shuffle(rest.begin(), rest.end(), rng);
    rows.insert(rows.end(), firsts.begin(), firsts.end());
    rows.insert(rows.end(), rest.begin(), rest.end());
  }
  return rows;
}

Artwork build_artwork(const Catalog& c, const TitleMatrix& titles, const std::vector<VariantRow>& rows) {
  ArtworkBuilder b(c.num_titles(), c.num_tags());
  for (const auto& r : rows) EXPECT_TRUE(b.add(r.title, r.id, r.tag, r.weight));
  return b.build(titles);
}

// The naive reference: variant vectors from the documented formula in double precision (idf =
// ln((1 + N) / (1 + df)) + 1 over the catalogue's title_tags; weight x idf; L2-normalised), every
// variant scored, the largest kept, ties to the first listed. Returns (artwork id or "", scores).
struct RefChoice {
  std::string id;
  std::map<std::string, double> scores;
};

RefChoice naive_choice(const Catalog& c, const std::vector<VariantRow>& rows, uint32_t title, const float* user) {
  std::vector<double> df(c.num_tags(), 0);
  for (const auto& a : c.assignments()) df[a.tag] += 1;
  const double n = double(c.num_titles());
  std::vector<std::string> order;
  std::map<std::string, std::map<uint32_t, double>> vec;
  for (const auto& r : rows) {
    if (r.title != title) continue;
    if (!vec.count(r.id)) order.push_back(r.id);
    vec[r.id][r.tag] = r.weight * (std::log((1 + n) / (1 + df[r.tag])) + 1);
  }
  RefChoice ref;
  double best = 0;
  for (const auto& id : order) {
    double norm = 0, s = 0;
    for (const auto& [tag, x] : vec[id]) norm += x * x;
    for (const auto& [tag, x] : vec[id]) s += double(user[tag]) * x / std::sqrt(norm);
    ref.scores[id] = s;
    if (ref.id.empty() || s > best) ref.id = id, best = s;
  }
  return ref;
}

std::vector<float> random_users(size_t users, size_t dim, std::mt19937_64& rng) {
  std::normal_distribution<float> gauss;
  std::vector<float> v(users * dim);
  for (auto& x : v) x = gauss(rng);
  for (size_t u = 0; u < users; ++u) {
    if (u % 9 == 4)
      std::fill(v.begin() + u * dim, v.begin() + (u + 1) * dim, 0.0f);  // no signal
    else
      l2_normalise(v.data() + u * dim, dim);
  }
  return v;
}

// A top-K result whose titles are drawn at random (the chooser does not care how they were ranked).
TopKResult random_result(size_t users, size_t n_titles, size_t k, std::mt19937_64& rng) {
  TopKResult r;
  r.resize(users, k);
  for (size_t u = 0; u < users; ++u) {
    r.counts[u] = uint32_t(u % 13 == 7 ? 0 : k - (u % 3 == 1 ? 1 : 0));
    for (size_t i = 0; i < r.counts[u]; ++i) r.titles[u * k + i] = uint32_t(rng() % n_titles);
  }
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The rule

TEST(Artwork, ChoiceMatchesANaiveReferenceOnRandomData) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const Catalog c = random_catalog(150, 37, 8, rng);
  const TitleMatrix titles = TitleMatrix::build(c);
  const auto rows = random_variants(c, 6, rng);
  const Artwork art = build_artwork(c, titles, rows);
  const size_t users = 70, k = 9;
  const auto uv = random_users(users, c.num_tags(), rng);
  const TopKResult result = random_result(users, c.num_titles(), k, rng);

  std::vector<uint32_t> chosen;
  make_cpu_artwork_chooser(art, 2)->choose(UserBatchView{users, c.num_tags(), uv.data(), nullptr}, result, chosen);
  ASSERT_EQ(chosen.size(), users * k);
  size_t compared = 0, with_variants = 0;
  for (size_t u = 0; u < users; ++u) {
    for (size_t r = 0; r < k; ++r) {
      const uint32_t got = chosen[u * k + r];
      if (r >= result.counts[u]) {
        EXPECT_EQ(got, kNoArtwork) << "slots past the user's results stay empty";
        continue;
      }
      const uint32_t t = result.titles[u * k + r];
      const RefChoice ref = naive_choice(c, rows, t, uv.data() + u * c.num_tags());
      EXPECT_EQ(got, choose_artwork(art, uv.data() + u * c.num_tags(), t).variant);
      if (ref.id.empty()) {
        EXPECT_EQ(got, kNoArtwork) << "title " << t << " has no variants";
        continue;
      }
      ASSERT_NE(got, kNoArtwork) << "title " << t;
      EXPECT_EQ(art.title_of(got), t);
      ++with_variants;
      const std::string& id = art.artwork_id(got);
      // The same variant, or one whose exact score ties the reference's best within float rounding.
      if (id != ref.id) {
        EXPECT_NEAR(ref.scores.at(id), ref.scores.at(ref.id), 1e-6) << "user " << u << " title " << t;
      }
      EXPECT_NEAR(artwork_variant_score(art, uv.data() + u * c.num_tags(), got), ref.scores.at(id), 1e-5);
      ++compared;
    }
  }
  EXPECT_GT(compared, 300u);
  EXPECT_GT(with_variants, 300u);
}

TEST(Artwork, TheCpuChooserEqualsTheRuleWithManyVariantsAndExactTies) {
  // Titles with up to 20 variants (more than a vector's 8 lanes), some of them exact copies of an
  // earlier one (ties the copy must lose), and users one-hot on a tag (many exact ties at 0).
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const Catalog c = random_catalog(120, 29, 9, rng);
  const TitleMatrix titles = TitleMatrix::build(c);
  auto rows = random_variants(c, 20, rng);
  std::vector<VariantRow> copies;
  for (const auto& r : rows)
    if (r.title % 3 == 1) copies.push_back({r.title, "copy_of_" + r.id, r.tag, r.weight});
  rows.insert(rows.end(), copies.begin(), copies.end());
  const Artwork art = build_artwork(c, titles, rows);
  const size_t users = 90, k = 13;
  auto uv = random_users(users, c.num_tags(), rng);
  for (size_t u = 0; u < users; u += 5) {
    std::fill(uv.begin() + u * c.num_tags(), uv.begin() + (u + 1) * c.num_tags(), 0.0f);
    uv[u * c.num_tags() + rng() % c.num_tags()] = 1.0f;
  }
  const TopKResult result = random_result(users, c.num_titles(), k, rng);
  for (int threads : {1, 2}) {
    std::vector<uint32_t> chosen;
    make_cpu_artwork_chooser(art, threads)
        ->choose(UserBatchView{users, c.num_tags(), uv.data(), nullptr}, result, chosen);
    for (size_t u = 0; u < users; ++u)
      for (size_t r = 0; r < result.counts[u]; ++r) {
        const uint32_t got = chosen[u * k + r];
        ASSERT_EQ(got, choose_artwork(art, uv.data() + u * c.num_tags(), result.titles[u * k + r]).variant)
            << "user " << u << " rank " << r;
        if (got != kNoArtwork) {
          EXPECT_EQ(art.artwork_id(got).rfind("copy_of_", 0), std::string::npos) << "a copy won a tie";
        }
      }
  }
}

TEST(Artwork, AVariantTaggedLikeItsTitleHasTheTitlesVector) {
  std::mt19937_64 rng(3);
  const Catalog c = random_catalog(40, 20, 6, rng);
  const TitleMatrix titles = TitleMatrix::build(c);
  ArtworkBuilder b(c.num_titles(), c.num_tags());
  for (const auto& a : c.assignments()) b.add(a.title, "same", a.tag, a.weight);
  const Artwork art = b.build(titles);
  for (uint32_t t = 0; t < c.num_titles(); ++t) {
    const uint32_t v0 = art.title_ptr()[t], v1 = art.title_ptr()[t + 1];
    ASSERT_EQ(v1 - v0, titles.row_ptr()[t + 1] == titles.row_ptr()[t] ? 0u : 1u) << t;
    if (v0 == v1) continue;
    ASSERT_EQ(art.row_ptr()[v0 + 1] - art.row_ptr()[v0], titles.row_ptr()[t + 1] - titles.row_ptr()[t]);
    for (uint64_t i = 0; i < art.row_ptr()[v0 + 1] - art.row_ptr()[v0]; ++i) {
      EXPECT_EQ(art.col_idx()[art.row_ptr()[v0] + i], titles.col_idx()[titles.row_ptr()[t] + i]);
      EXPECT_EQ(art.values()[art.row_ptr()[v0] + i], titles.values()[titles.row_ptr()[t] + i]) << "bit-for-bit";
    }
  }
}

TEST(Artwork, ATitleWithoutVariantsFallsBackToItsDefaultArtwork) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  RejectLog rejects("", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  const TitleMatrix titles = TitleMatrix::build(c);
  ArtworkBuilder b(c.num_titles(), c.num_tags());
  b.add(*c.find_title("a"), "a-dark", *c.find_tag("dark"), 1.0f);
  const Artwork art = b.build(titles);
  std::vector<float> user(c.num_tags(), 0.5f);
  EXPECT_EQ(choose_artwork(art, user.data(), *c.find_title("b")).variant, kNoArtwork);
  EXPECT_EQ(art.artwork_id(choose_artwork(art, user.data(), *c.find_title("a")).variant), "a-dark");
  EXPECT_EQ(explain_artwork(art, user.data(), *c.find_title("b")).chosen, kNoArtwork);

  // The results file: an empty artwork_id in CSV, null in JSON Lines.
  TopKResult r;
  r.resize(1, 2);
  r.counts[0] = 2;
  r.titles = {*c.find_title("a"), *c.find_title("b")};
  r.scores = {0.5f, 0.25f};
  std::vector<uint32_t> chosen;
  make_cpu_artwork_chooser(art)->choose(UserBatchView{1, c.num_tags(), user.data(), nullptr}, r, chosen);
  for (const char* name : {"r.csv", "r.jsonl"}) {
    ResultsWriter w(dir / name, parse_result_format("auto", name), &art);
    w.write({"u1"}, r, c, &chosen);
    w.commit();
  }
  EXPECT_EQ(read_text(dir / "r.csv"),
            "user_id,rank,title_id,score,artwork_id\nu1,1,a,0.500000,a-dark\nu1,2,b,0.250000,\n");
  EXPECT_EQ(read_text(dir / "r.jsonl"),
            "{\"user_id\":\"u1\",\"rank\":1,\"title_id\":\"a\",\"score\":0.500000,\"artwork_id\":\"a-dark\"}\n"
            "{\"user_id\":\"u1\",\"rank\":2,\"title_id\":\"b\",\"score\":0.250000,\"artwork_id\":null}\n");
}

TEST(Artwork, TiesBreakToTheVariantListedFirst) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  RejectLog rejects("", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  const TitleMatrix titles = TitleMatrix::build(c);
  // c has three variants: "late" and "early" are tagged the same (an exact tie), "other" differs.
  // "late" is listed first, although its id sorts after; rows are interleaved.
  write_text(dir / "artwork.csv",
             "title_id,artwork_id,tag,weight\n"
             "c,late,comedy,0.9\nc,other,paris,1\nc,early,comedy,0.9\nc,late,dark,0.3\nc,early,dark,0.3\n");
  const Artwork art = load_artwork(dir / "artwork.csv", c, titles, rejects);
  ASSERT_EQ(rejects.count(), 0u);
  const uint32_t t = *c.find_title("c");
  std::vector<float> user(c.num_tags(), 0.0f);
  user[*c.find_tag("comedy")] = 0.8f;
  user[*c.find_tag("dark")] = 0.6f;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(art.artwork_id(choose_artwork(art, user.data(), t).variant), "late");
  const ArtworkExplanation ex = explain_artwork(art, user.data(), t);
  EXPECT_TRUE(ex.tie_break);
  EXPECT_EQ(ex.margin, 0.0f);
  ASSERT_EQ(ex.candidates.size(), 3u);
  EXPECT_EQ(art.artwork_id(ex.candidates[0].variant), "late");
  EXPECT_EQ(art.artwork_id(ex.candidates[1].variant), "other");
  // A user without usable signal scores every variant 0: the first listed.
  std::vector<float> zero(c.num_tags(), 0.0f);
  EXPECT_EQ(art.artwork_id(choose_artwork(art, zero.data(), t).variant), "late");
  // A user who likes Paris gets "other".
  user.assign(c.num_tags(), 0.0f);
  user[*c.find_tag("paris")] = 1.0f;
  EXPECT_EQ(art.artwork_id(choose_artwork(art, user.data(), t).variant), "other");
}

// ---------------------------------------------------------------------------------------------
// artwork.csv: bad rows

TEST(ArtworkFile, BadRowsAreRejectedWithFileAndLineAndStrictFails) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  RejectLog quiet("", false);
  const Catalog c = load_catalog(dir / "cat", quiet);
  const TitleMatrix titles = TitleMatrix::build(c);
  write_text(dir / "artwork.csv",
             "title_id,artwork_id,tag,weight\n"
             "a,a1,comedy,1\n"       // 2 ok
             "zz,z1,comedy,1\n"      // 3 unknown title
             "a,a2,nosuchtag,0.5\n"  // 4 unknown tag
             "a,a2,dark,1.5\n"       // 5 weight out of range
             "a,a2,dark,abc\n"       // 6 weight not a number
             "a,a1,comedy,0.5\n"     // 7 duplicate (variant, tag)
             "b,,drama,1\n"          // 8 empty artwork_id
             "b,\"b1,x\",drama,1\n"  // 9 ok (quoted id)
             "b,b2,drama\n");        // 10 wrong field count
  {
    RejectLog rejects(dir / "rejects.csv", false);
    const Artwork art = load_artwork(dir / "artwork.csv", c, titles, rejects);
    rejects.finish();
    EXPECT_EQ(rejects.count(), 7u) << rejects.summary();
    EXPECT_EQ(art.num_variants(), 2u);
    EXPECT_EQ(art.titles_with_variants(), 2u);
    const std::string text = read_text(dir / "rejects.csv");
    const auto ls = lines(text);
    ASSERT_EQ(ls.size(), 8u) << text;
    EXPECT_EQ(ls[0], "file,line,reason,row");
    EXPECT_NE(ls[1].find("artwork.csv,3,unknown title_id 'zz',"), std::string::npos) << ls[1];
    EXPECT_NE(ls[2].find(",4,unknown tag 'nosuchtag' (not in tags),"), std::string::npos) << ls[2];
    EXPECT_NE(ls[3].find(",5,\"weight must be in (0, 1]; got '1.5'\","), std::string::npos) << ls[3];
    EXPECT_NE(ls[4].find(",6,\"weight must be in (0, 1]; got 'abc'\","), std::string::npos) << ls[4];
    EXPECT_NE(ls[5].find(",7,duplicate tag 'comedy' for artwork 'a1' of title 'a',"), std::string::npos) << ls[5];
    EXPECT_NE(ls[6].find(",8,"), std::string::npos) << ls[6];
    EXPECT_NE(ls[7].find(",10,"), std::string::npos) << ls[7];
    EXPECT_EQ(art.artwork_id(art.title_ptr()[*c.find_title("b")]), "b1,x");
  }
  RejectLog strict("", true);
  try {
    load_artwork(dir / "artwork.csv", c, titles, strict);
    FAIL() << "--strict must stop at the first bad row";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("artwork.csv:3: unknown title_id 'zz' (--strict"), std::string::npos)
        << e.what();
  }
  // A missing column is a whole-file error.
  write_text(dir / "nocol.csv", "title_id,artwork_id,weight\na,a1,1\n");
  RejectLog r2("", false);
  EXPECT_THROW(load_artwork(dir / "nocol.csv", c, titles, r2), InputError);
}

// ---------------------------------------------------------------------------------------------
// The GPU twin (label gpu)

TEST(ArtworkGpu, DeviceChoiceEqualsTheCpuChoice) {
  SKIP_WITHOUT_DEVICE();
  if (!cuda::artwork_available()) GTEST_SKIP() << "this build has no GPU artwork chooser";
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (const size_t max_variants : {1, 5, 17}) {
    const Catalog c = random_catalog(300 + rng() % 200, 33 + rng() % 70, 12, rng);
    const TitleMatrix titles = TitleMatrix::build(c);
    const auto rows = random_variants(c, max_variants, rng);
    const Artwork art = build_artwork(c, titles, rows);
    for (const size_t k : {1, 7, 64}) {
      const size_t users = 1 + rng() % 500;
      auto uv = random_users(users, c.num_tags(), rng);
      // A few exact ties: user vectors that are one-hot on a tag.
      for (size_t u = 0; u < users; u += 17) {
        std::fill(uv.begin() + u * c.num_tags(), uv.begin() + (u + 1) * c.num_tags(), 0.0f);
        uv[u * c.num_tags() + rng() % c.num_tags()] = 1.0f;
      }
      const TopKResult result = random_result(users, c.num_titles(), k, rng);
      const UserBatchView view{users, c.num_tags(), uv.data(), nullptr};
      std::vector<uint32_t> cpu, gpu;
      make_cpu_artwork_chooser(art)->choose(view, result, cpu);
      auto chooser = cuda::make_artwork_chooser(art, 0);
      EXPECT_NE(chooser->describe().find("cuda"), std::string::npos);
      chooser->choose(view, result, gpu);
      ASSERT_EQ(gpu, cpu) << "variants up to " << max_variants << ", k " << k << ", users " << users;
    }
  }
  // Through the backend choice: a CUDA scorer gets the CUDA chooser.
  std::mt19937_64 rng2(1);
  const Catalog c = random_catalog(100, 20, 5, rng2);
  const TitleMatrix titles = TitleMatrix::build(c);
  const Artwork art = build_artwork(c, titles, random_variants(c, 3, rng2));
  const ScorerChoice choice = choose_scorer(Backend::Cuda, titles);
  EXPECT_TRUE(choice.on_gpu);
  EXPECT_EQ(choose_artwork_chooser(choice, art)->describe().rfind("cuda", 0), 0u);
}

TEST(ArtworkBackend, WithoutADeviceTheCudaChooserIsAClearError) {
  if (test::have_cuda_device()) GTEST_SKIP() << "a device is present";
  std::mt19937_64 rng(2);
  const Catalog c = random_catalog(10, 5, 3, rng);
  const TitleMatrix titles = TitleMatrix::build(c);
  const Artwork art = build_artwork(c, titles, random_variants(c, 2, rng));
  EXPECT_THROW(cuda::make_artwork_chooser(art, 0), BackendError);
}
