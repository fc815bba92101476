// Personalised artwork end to end (docs/artwork.md): `gen --artwork-variants`, `score --artwork`
// (the artwork_id column is the rule applied to each user's profile vector), artwork.csv rejects and
// --strict through the CLI, `explain --artwork`, and the server's artwork_id (null for a title without
// variants, reloaded with the snapshot). The rule itself: test_artwork_rule.cpp.
#include "engine/artwork.h"
#include "generated_data.h"
#include "host/io/artwork_io.h"
#include "host/io/catalog_io.h"
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"
#include "host/server/http_server.h"
#include "host/server/serving_engine.h"
#include "test_util.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>

using namespace marquee;
using namespace marquee::test;
using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// The CLI: gen, score, explain

class ArtworkCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto g =
        run_marquee("gen --users 250 --titles 160 --tags 60 --seed 11 --artwork-variants 5 --out " + dir() + "/data");
    ASSERT_EQ(g.exit_code, 0) << g.out;
    const auto p =
        run_marquee("profile --catalog " + catalog() + " --events " + dir() + "/data/events.csv --out " + profiles());
    ASSERT_EQ(p.exit_code, 0) << p.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string dir() { return dir_->path(); }
  static std::string catalog() { return dir() + "/data/catalog"; }
  static std::string artwork() { return dir() + "/data/artwork.csv"; }
  static std::string profiles() { return dir() + "/profiles.bin"; }
  static inline TempDir* dir_ = nullptr;
};

TEST_F(ArtworkCli, GenWritesFiveVariantsPerTitleAndTheSameOtherFiles) {
  RecordReader reader(artwork(), {"title_id", "artwork_id", "tag", "weight"});
  std::map<std::string, std::set<std::string>> variants;
  Record r;
  while (reader.next(r)) {
    ASSERT_EQ(r.error, "");
    variants[r.fields[0]].insert(r.fields[1]);
  }
  EXPECT_EQ(variants.size(), 160u);
  for (const auto& [t, v] : variants) EXPECT_EQ(v.size(), 5u) << t;
  TempDir other;
  ASSERT_EQ(run_marquee("gen --users 250 --titles 160 --tags 60 --seed 11 --out " + other.path()).exit_code, 0);
  EXPECT_EQ(read_text(other / "events.csv"), read_text(dir() + "/data/events.csv"));
  EXPECT_EQ(read_text(other / "catalog/title_tags.csv"), read_text(catalog() + "/title_tags.csv"));
  EXPECT_FALSE(std::filesystem::exists(other / "artwork.csv"));
}

TEST_F(ArtworkCli, ScoreWritesTheChosenArtworkColumn) {
  const auto base = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + profiles() +
                                " -k 6 --backend cpu --out " + dir() + "/plain.csv");
  ASSERT_EQ(base.exit_code, 0) << base.out;
  const auto s = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + profiles() +
                             " -k 6 --backend cpu --artwork " + artwork() + " --out " + dir() + "/art.csv");
  ASSERT_EQ(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("choosing artwork with cpu"), std::string::npos) << s.out;

  // Same rows as without --artwork, plus the fifth column.
  const auto plain = lines(read_text(dir() + "/plain.csv"));
  const auto with = lines(read_text(dir() + "/art.csv"));
  ASSERT_EQ(plain.size(), with.size());
  ASSERT_GT(plain.size(), 1000u);
  EXPECT_EQ(with[0], "user_id,rank,title_id,score,artwork_id");
  for (size_t i = 1; i < plain.size(); ++i) ASSERT_EQ(with[i].rfind(plain[i] + ",", 0), 0u) << with[i];

  // Each row's artwork is the rule applied to the user's tag-space profile vector.
  RejectLog rejects("", false);
  const Catalog c = load_catalog(catalog(), rejects);
  const TitleMatrix titles = TitleMatrix::build(c);
  const Artwork art = load_artwork(artwork(), c, titles, rejects);
  ProfileReader reader(profiles());
  const UserProfiles p = reader.read(0, reader.users());
  std::map<std::string, size_t> user_ix;
  for (size_t u = 0; u < p.size(); ++u) user_ix[p.user_ids[u]] = u;
  RecordReader rows(dir() + "/art.csv", {"user_id", "title_id", "artwork_id"});
  Record r;
  size_t checked = 0;
  while (rows.next(r)) {
    const uint32_t t = *c.find_title(r.fields[1]);
    const ArtworkPick pick = choose_artwork(art, p.vector(user_ix.at(r.fields[0])), t);
    ASSERT_NE(pick.variant, kNoArtwork);
    EXPECT_EQ(r.fields[2], art.artwork_id(pick.variant)) << r.raw;
    EXPECT_EQ(r.fields[2].rfind(r.fields[1] + "-a", 0), 0u) << r.raw;
    ++checked;
  }
  EXPECT_EQ(checked, plain.size() - 1);

  // JSON Lines and the hybrid model: the choice still uses the tag-space profile vector.
  const auto j =
      run_marquee("score --catalog " + catalog() + " --profiles " + profiles() +
                  " -k 3 --backend cpu --model hybrid --artwork " + artwork() + " --out " + dir() + "/art.jsonl");
  ASSERT_EQ(j.exit_code, 0) << j.out;
  for (const auto& line : lines(read_text(dir() + "/art.jsonl"))) {
    const json row = json::parse(line);
    const uint32_t t = *c.find_title(row["title_id"].get<std::string>());
    const ArtworkPick pick = choose_artwork(art, p.vector(user_ix.at(row["user_id"].get<std::string>())), t);
    ASSERT_EQ(row["artwork_id"], art.artwork_id(pick.variant)) << line;
  }
}

TEST_F(ArtworkCli, UnknownTitlesAreRejectedWithFileAndLineAndStrictFails) {
  std::string text = read_text(artwork());
  text += "t999999,ghost-a1,genre:drama,1\n";
  const size_t bad_line = lines(text).size();
  write_text(dir() + "/bad_artwork.csv", text);
  const auto s = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + profiles() +
                             " -k 2 --backend cpu --artwork " + dir() + "/bad_artwork.csv --out " + dir() + "/bad.csv");
  ASSERT_EQ(s.exit_code, 0) << s.out;
  const std::string where = "bad_artwork.csv:" + std::to_string(bad_line) + ": rejected: unknown title_id 't999999'";
  EXPECT_NE(s.out.find(where), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("1 row rejected (1 unknown title_id)"), std::string::npos) << s.out;
  const auto rejects = lines(read_text(dir() + "/bad.csv.rejects.csv"));
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_NE(rejects[1].find("bad_artwork.csv," + std::to_string(bad_line) + ",unknown title_id 't999999',"),
            std::string::npos)
      << rejects[1];

  const auto strict =
      run_marquee("score --model tags --strict --catalog " + catalog() + " --profiles " + profiles() +
                  " -k 2 --backend cpu --artwork " + dir() + "/bad_artwork.csv --out " + dir() + "/strict.csv");
  EXPECT_EQ(strict.exit_code, 3) << strict.out;
  EXPECT_NE(strict.out.find("bad_artwork.csv:" + std::to_string(bad_line) + ": unknown title_id 't999999' (--strict"),
            std::string::npos)
      << strict.out;
  EXPECT_FALSE(std::filesystem::exists(dir() + "/strict.csv"));
}

TEST_F(ArtworkCli, ExplainSaysWhichVariantAndWhy) {
  ProfileReader reader(profiles());
  const UserProfiles p = reader.read(0, reader.users());
  size_t u = 0;
  while (!p.summaries[u].usable) ++u;
  const auto r = run_marquee("explain --catalog " + catalog() + " --profiles " + profiles() + " --user " +
                             p.user_ids[u] + " --title t000003 --artwork " + artwork());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("artwork: variant t000003-a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("margin"), std::string::npos) << r.out;
  const auto j = run_marquee("explain --catalog " + catalog() + " --profiles " + profiles() + " --user " +
                             p.user_ids[u] + " --title t000003 --json --artwork " + artwork());
  ASSERT_EQ(j.exit_code, 0) << j.out;
  const json body = json::parse(j.out.substr(j.out.find('{')));
  ASSERT_TRUE(body.contains("artwork")) << j.out;
  EXPECT_EQ(body["artwork"]["variants"].size(), 5u);
  RejectLog rejects("", false);
  const Catalog c = load_catalog(catalog(), rejects);
  const Artwork art = load_artwork(artwork(), c, TitleMatrix::build(c), rejects);
  EXPECT_EQ(body["artwork"]["artwork_id"],
            art.artwork_id(choose_artwork(art, p.vector(u), *c.find_title("t000003")).variant));
  double chosen_score = -1;
  for (const auto& v : body["artwork"]["variants"])
    if (v["chosen"].get<bool>()) chosen_score = v["score"].get<double>();
  for (const auto& v : body["artwork"]["variants"]) EXPECT_LE(v["score"].get<double>(), chosen_score);
}

// ---------------------------------------------------------------------------------------------
// The server

TEST(ArtworkServer, RecommendedItemsCarryTheChosenArtwork) {
  TempDir dir;
  GenOptions g = gen_options(120, 90, 50, 4);
  g.artwork_variants = 3;
  const GeneratedSet data = make_generated(dir, g);
  // Titles t000001..t000009 lose their variants: they must come back with a null artwork_id.
  std::string kept;
  for (const auto& line : lines(read_text(data.artwork())))
    if (line.rfind("t00000", 0) != 0) kept += line + "\n";
  write_text(dir / "artwork.csv", kept);

  server::EngineOptions eo;
  eo.input.catalog_dir = data.catalog();
  eo.input.events_path = data.events();
  eo.backend = Backend::Cpu;
  eo.artwork_path = dir / "artwork.csv";
  server::ServingEngine engine(eo);
  server::HttpOptions ho;
  ho.bind = "127.0.0.1";
  ho.port = 0;
  ho.threads = 4;
  server::HttpServer http(engine, ho);
  const int port = http.bind();
  std::thread serving([&] { http.serve(); });
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(30, 0);

  const auto snap = engine.snapshot();
  ASSERT_TRUE(snap->artwork);
  size_t items = 0, defaults = 0;
  for (const auto& user : snap->users.sample(40)) {
    if (!user->summary.usable) continue;
    auto r = cli.Get(("/v1/users/" + user->id + "/recommendations?k=30").c_str());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json b = json::parse(r->body);
    for (const auto& it : b["items"]) {
      ASSERT_TRUE(it.contains("artwork_id")) << it.dump();
      const uint32_t t = *snap->catalog.find_title(it["title_id"].get<std::string>());
      const ArtworkPick pick = choose_artwork(*snap->artwork, user->vector.data(), t);
      if (pick.variant == kNoArtwork) {
        EXPECT_TRUE(it["artwork_id"].is_null()) << it.dump();
        ++defaults;
      } else {
        EXPECT_EQ(it["artwork_id"], snap->artwork->artwork_id(pick.variant)) << it.dump();
      }
      ++items;
    }
  }
  EXPECT_GT(items, 300u);
  EXPECT_GT(defaults, 0u);
  // explain=true adds why.
  std::shared_ptr<const server::UserState> user;
  for (const auto& x : snap->users.sample(40))
    if (!user && x->summary.usable) user = x;
  ASSERT_TRUE(user);
  auto r = cli.Get(("/v1/users/" + user->id + "/recommendations?k=3&explain=true").c_str());
  ASSERT_TRUE(r);
  const json b = json::parse(r->body);
  ASSERT_FALSE(b["items"].empty()) << r->body;
  EXPECT_TRUE(b["items"][0]["explanation"].contains("artwork")) << r->body;
  // The artwork is reloaded with the snapshot.
  write_text(dir / "artwork.csv", "title_id,artwork_id,tag,weight\n");
  engine.reload();
  EXPECT_EQ(engine.snapshot()->artwork->num_variants(), 0u);
  http.stop();
  serving.join();
  engine.stop();
}
