// End-to-end: the `marquee` binary on small generated data, checked against a naive
// O(users x titles x tags) reference written here from the documented formulas (docs/formats.md,
// docs/engagement.md), independent of the engine's scoring code.
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"
#include "reference.h"
#include "test_util.h"

#include <cmath>
#include <filesystem>
#include <map>

using namespace marquee;
using namespace marquee::test;

namespace {

// Reads a CSV with the engine's reader (itself unit-tested) into rows of the asked columns.
std::vector<std::vector<std::string>> read_csv(const std::string& path, std::vector<std::string> columns) {
  RecordReader reader(path, std::move(columns));
  std::vector<std::vector<std::string>> rows;
  Record r;
  while (reader.next(r)) {
    EXPECT_EQ(r.error, "") << path << ":" << r.line;
    rows.push_back(r.fields);
  }
  return rows;
}

}  // namespace

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto g = run_marquee("gen --users 300 --titles 180 --tags 70 --seed 5 --out " + dir() + "/data");
    ASSERT_EQ(g.exit_code, 0) << g.out;
    const auto p = run_marquee("profile --catalog " + dir() + "/data/catalog --events " + dir() +
                           "/data/events.csv --out " + dir() + "/profiles.bin");
    ASSERT_EQ(p.exit_code, 0) << p.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string dir() { return dir_->path(); }
  static std::string catalog() { return dir() + "/data/catalog"; }
  static inline TempDir* dir_ = nullptr;
};

TEST_F(CliTest, ScoreMatchesTheNaiveReference) {
  const size_t k = 7;
  const auto s = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --top 7 --out " +
                         dir() + "/recs.csv --backend cpu");
  ASSERT_EQ(s.exit_code, 0) << s.out;

  // Title vectors from the catalogue files: weight x idf, idf = ln((1+N)/(1+df)) + 1, L2-normalised.
  const auto tags = read_csv(catalog() + "/tags.csv", {"tag"});
  const auto titles = read_csv(catalog() + "/titles.csv", {"title_id"});
  const auto tt = read_csv(catalog() + "/title_tags.csv", {"title_id", "tag", "weight"});
  std::map<std::string, size_t> tag_ix, title_ix;
  for (const auto& r : tags) tag_ix.emplace(r[0], tag_ix.size());
  for (const auto& r : titles) title_ix.emplace(r[0], title_ix.size());
  const size_t T = titles.size(), D = tags.size();
  std::vector<double> df(D, 0), tv(T * D, 0.0);
  for (const auto& r : tt) df[tag_ix.at(r[1])] += 1;
  for (const auto& r : tt) {
    const size_t j = tag_ix.at(r[1]);
    tv[title_ix.at(r[0]) * D + j] = std::stod(r[2]) * (std::log((1.0 + T) / (1.0 + df[j])) + 1.0);
  }
  for (size_t t = 0; t < T; ++t) {
    double n = 0;
    for (size_t j = 0; j < D; ++j) n += tv[t * D + j] * tv[t * D + j];
    for (size_t j = 0; j < D && n > 0; ++j) tv[t * D + j] /= std::sqrt(n);
  }
  std::vector<float> tvf(tv.begin(), tv.end());

  // User vectors: engagement-weighted sums of the watched titles' vectors, normalised.
  ProfileReader reader(dir() + "/profiles.bin");
  const UserProfiles p = reader.read(0, reader.users());
  ASSERT_EQ(p.size(), 300u);
  std::map<std::string, std::vector<std::string>> got;  // user -> "title:score" rows in rank order
  for (const auto& r : read_csv(dir() + "/recs.csv", {"user_id", "rank", "title_id", "score"})) {
    ASSERT_EQ(std::stoul(r[1]), got[r[0]].size() + 1) << "ranks are 1..K in order";
    got[r[0]].push_back(r[2] + ":" + r[3]);
  }
  size_t checked = 0;
  for (size_t u = 0; u < p.size(); ++u) {
    std::vector<double> v(D, 0.0);
    std::vector<uint32_t> watched;
    for (const SeenTitle* s = p.seen_begin(u); s != p.seen_end(u); ++s) {
      watched.push_back(s->title);
      for (size_t j = 0; j < D; ++j) v[j] += s->weight * tv[s->title * D + j];
    }
    double n = 0;
    for (double x : v) n += x * x;
    if (n <= 1e-24) {
      EXPECT_EQ(got.count(p.user_ids[u]), 0u) << "unusable user " << p.user_ids[u] << " must not be scored";
      continue;
    }
    std::vector<float> vf(D);
    for (size_t j = 0; j < D; ++j) {
      vf[j] = float(v[j] / std::sqrt(n));
      EXPECT_NEAR(vf[j], p.vector(u)[j], 1e-5) << "profile vector of " << p.user_ids[u];
    }
    const auto all = naive_scores(tvf, T, D, vf.data());
    const auto ref = naive_topk(all, watched, k);
    const auto& rows = got[p.user_ids[u]];
    std::vector<uint32_t> ids;
    std::vector<float> scores;
    for (const auto& row : rows) {
      const auto colon = row.find(':');
      ids.push_back(uint32_t(title_ix.at(row.substr(0, colon))));
      scores.push_back(std::stof(row.substr(colon + 1)));
    }
    expect_same_topk(ref, all, ids.data(), scores.data(), ids.size(), 2e-6 + 5e-7 /* 6-decimal output */,
                     "user " + p.user_ids[u]);
    ++checked;
    if (HasFailure()) return;
  }
  EXPECT_GT(checked, 250u);
}

TEST_F(CliTest, EventsAndProfilesGiveTheSameOutputAndNoTempFilesRemain) {
  ASSERT_EQ(run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 5 --out " + dir() +
                    "/a.csv --batch 17")
                .exit_code,
            0);
  const auto r = run_marquee("score --model tags --catalog " + catalog() + " --events " + dir() + "/data/events.csv -k 5 --out " +
                         dir() + "/b.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_text(dir() + "/a.csv"), read_text(dir() + "/b.csv"));
  EXPECT_NE(r.out.find("300 users scored"), std::string::npos) << r.out;
  for (const auto& e : std::filesystem::directory_iterator(dir()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

TEST_F(CliTest, ExclusionPolicies) {
  for (const char* policy : {"none", "completed", "watched"}) {
    const auto r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 20 --exclude " +
                           policy + " --out " + dir() + "/x_" + policy + ".csv");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  ProfileReader reader(dir() + "/profiles.bin");
  const UserProfiles p = reader.read(0, reader.users());
  std::map<std::string, std::map<std::string, int>> seen;  // user -> title -> completed
  for (size_t u = 0; u < p.size(); ++u)
    for (const SeenTitle* s = p.seen_begin(u); s != p.seen_end(u); ++s) seen[p.user_ids[u]]["t" + std::to_string(s->title)] = s->completed;
  auto count = [&](const std::string& policy, bool want_completed) {
    size_t n = 0;
    const auto titles = read_csv(catalog() + "/titles.csv", {"title_id"});
    for (const auto& r : read_csv(dir() + "/x_" + policy + ".csv", {"user_id", "title_id"})) {
      size_t ix = 0;
      while (titles[ix][0] != r[1]) ++ix;
      auto it = seen[r[0]].find("t" + std::to_string(ix));
      if (it != seen[r[0]].end() && bool(it->second) == want_completed) ++n;
    }
    return n;
  };
  EXPECT_GT(count("none", true), 0u);            // without exclusion, watched titles come back
  EXPECT_EQ(count("completed", true), 0u);       // completed ones never do under "completed"
  EXPECT_EQ(count("watched", true) + count("watched", false), 0u);
}

TEST_F(CliTest, JsonLinesOutput) {
  const auto r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 3 --out " +
                         dir() + "/recs.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto ls = lines(read_text(dir() + "/recs.jsonl"));
  ASSERT_FALSE(ls.empty());
  EXPECT_EQ(ls[0].rfind("{\"user_id\":\"u", 0), 0u) << ls[0];
  EXPECT_NE(ls[0].find("\"rank\":1,\"title_id\":\"t"), std::string::npos) << ls[0];
}

TEST_F(CliTest, LimitsAreCheckedWithClearErrors) {
  auto r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --top 0 --out " + dir() + "/e.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--top must be at least 1; got 0"), std::string::npos) << r.out;
  r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --top 181 --out " + dir() + "/e.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--top 181 is larger than the catalogue (180 titles)"), std::string::npos) << r.out;
  r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --top 180 --batch 0 --out " + dir() + "/e.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--batch must be between 1 and 1000000; got 0"), std::string::npos) << r.out;
  r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 3 --exclude seen --out " + dir() + "/e.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown exclusion policy 'seen'"), std::string::npos) << r.out;
  r = run_marquee("score --model tags --catalog " + catalog() + " -k 3 --out " + dir() + "/e.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("give --events FILE or --profiles FILE"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir() + "/e.csv"));
}

TEST_F(CliTest, KEqualToTheCatalogueReturnsEveryUnwatchedTitle) {
  const auto r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 180 --out " +
                         dir() + "/all.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ProfileReader reader(dir() + "/profiles.bin");
  const UserProfiles p = reader.read(0, 1);
  size_t rows = 0;
  for (const auto& row : read_csv(dir() + "/all.csv", {"user_id"})) rows += row[0] == p.user_ids[0];
  EXPECT_EQ(rows, 180 - p.seen.size());
}

TEST_F(CliTest, BackendCudaWithoutAUsableDeviceIsAClearError) {
  const auto r = run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 3 --backend cuda --out " + dir() + "/c.csv");
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_NE(r.out.find("--backend cuda:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("use --backend cpu or auto"), std::string::npos) << r.out;
  const auto p = run_marquee("profile --catalog " + catalog() + " --events " + dir() + "/data/events.csv --backend cuda --out " +
                             dir() + "/gpu_profiles.bin");
  EXPECT_EQ(p.exit_code, 4) << p.out;
  EXPECT_FALSE(std::filesystem::exists(dir() + "/gpu_profiles.bin"));
  const auto d = run_marquee("devices");
  EXPECT_EQ(d.exit_code, 0) << d.out;
  EXPECT_NE(d.out.find("CUDA backend compiled in:"), std::string::npos) << d.out;
}

TEST_F(CliTest, SimilarAndExplain) {
  auto r = run_marquee("similar --catalog " + catalog() + " --title t000001 -k 4 --out " + dir() + "/sim.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto rows = read_csv(dir() + "/sim.csv", {"title_id", "rank", "similar_title_id", "score"});
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) EXPECT_NE(row[2], "t000001");
  EXPECT_GE(std::stod(rows[0][3]), std::stod(rows[3][3]));
  r = run_marquee("similar --catalog " + catalog() + " --title nope");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown title_id 'nope'"), std::string::npos) << r.out;

  r = run_marquee("explain --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --user u0000001 --title " +
              rows[0][2] + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"score\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"tags\""), std::string::npos) << r.out;
  r = run_marquee("explain --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --user ghost --title t000001");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown user_id 'ghost'"), std::string::npos) << r.out;
}

TEST_F(CliTest, BehaviourAndHybridModelsScoreEveryUserAndEvalRecsWritesItsReport) {
  for (const char* model : {"behaviour", "hybrid"}) {
    const auto r = run_marquee("score --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 5 --model " +
                               model + " --out " + dir() + "/m_" + model + ".csv");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(lines(read_text(dir() + "/m_" + model + ".csv")).size(), 1u + 300 * 5) << model;
  }
  ASSERT_EQ(run_marquee("score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 5 --out " + dir() +
                        "/m_tags.csv")
                .exit_code,
            0);
  EXPECT_NE(read_text(dir() + "/m_hybrid.csv"), read_text(dir() + "/m_tags.csv"));
  auto r = run_marquee("score --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 5 --model magic --out " +
                       dir() + "/m.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown model 'magic'"), std::string::npos) << r.out;

  r = run_marquee("eval-recs --catalog " + catalog() + " --events " + dir() + "/data/events.csv --out " + dir() +
                  "/eval.json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("hybrid"), std::string::npos) << r.out;
  const std::string report = read_text(dir() + "/eval.json");
  for (const char* m : {"popularity", "tags", "cowatch", "behaviour", "hybrid", "ndcg10", "weights"})
    EXPECT_NE(report.find(m), std::string::npos) << m;
}

TEST_F(CliTest, EverySubcommandHasHelp) {
  for (const char* sub : {"gen", "profile", "score", "similar", "explain", "devices", "eval-recs"}) {
    const auto r = run_marquee(std::string(sub) + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << ": " << r.out;
  }
}

// Issue #19, items 1-4: a mistyped subcommand or flag is named with a suggestion (before: "A
// subcommand is required", "--title is required"); global flags work after the subcommand; --quiet;
// error messages carry no source path unless --log-level debug.
TEST_F(CliTest, MistakesAreNamedWithSuggestionsAndMessagesHaveNoSourcePaths) {
  auto r = run_marquee("scor --catalog " + catalog());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown subcommand 'scor': did you mean 'score'?"), std::string::npos) << r.out;
  r = run_marquee("frobnicate");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown subcommand 'frobnicate' (`marquee --help` lists them)"), std::string::npos) << r.out;
  r = run_marquee("similar --catalog " + catalog() + " --titel t000001");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown flag '--titel' for `marquee similar`: did you mean '--title'?"), std::string::npos)
      << r.out;
  r = run_marquee("score --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --k 20 --out " + dir() +
                  "/k.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown flag '--k' for `marquee score`: did you mean '-k'?"), std::string::npos) << r.out;
  r = run_marquee("similar --catalog " + catalog() + " --title t000001 -k3");  // a short flag with its value attached
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run_marquee("--verbose similar");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown option '--verbose'"), std::string::npos) << r.out;
  // Values that look like negative numbers are values, not flags.
  r = run_marquee("score --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin --model hybrid " +
                  "--hybrid-tags -1 -k 2 --out " + dir() + "/neg.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.out.find("unknown flag"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hybrid-tags"), std::string::npos) << r.out;

  // Global flags after the subcommand, and --quiet.
  const std::string similar = "similar --catalog " + catalog() + " --title t000001 -k 3";
  r = run_marquee(similar + " --log-level warn");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("[info]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(" info]"), std::string::npos) << r.out;
  r = run_marquee(similar);
  EXPECT_NE(r.out.find(" info]"), std::string::npos) << r.out;  // the catalogue line, at info
  r = run_marquee(similar + " -q");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find(" info]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("t000001"), std::string::npos) << r.out;  // the answer itself

  // No "[.../similar.cpp:30]" in what a person reads; --log-level debug shows where.
  r = run_marquee("similar --catalog " + catalog() + " --title nope");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown title_id 'nope'"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(".cpp:"), std::string::npos) << r.out;
  r = run_marquee("similar --catalog " + catalog() + " --title nope --log-level debug");
  EXPECT_NE(r.out.find(".cpp:"), std::string::npos) << r.out;
}

// Issue #19, item 7: side files only when they have rows. A clean run leaves no empty
// <out>.rejects.csv or <out>.unscored.csv, and removes an earlier run's (they would be taken for this
// run's); a rejects file the user named with --rejects is always written.
TEST_F(CliTest, SideFilesAppearOnlyWhenTheyHaveRows) {
  const std::string out = dir() + "/clean.csv";
  write_text(out + ".rejects.csv", "file,line,reason,row\nold.csv,1,stale,x\n");
  write_text(out + ".unscored.csv", "user_id,reason\nu-old,no usable events\n");
  auto r = run_marquee("score --model tags --catalog " + catalog() + " --events " + dir() + "/data/events.csv -k 3 --out " +
                       out);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".rejects.csv")) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out + ".unscored.csv")) << r.out;
  EXPECT_NE(r.out.find("0 rows rejected"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("rejects.csv"), std::string::npos) << r.out;  // no path to a file that is not there
  r = run_marquee("score --model tags --catalog " + catalog() + " --events " + dir() + "/data/events.csv -k 3 --out " +
                  out + " --rejects " + dir() + "/named_rejects.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_text(dir() + "/named_rejects.csv"), "file,line,reason,row\n");
}

// Issue #19, item 6: before, `--out r.parquet` wrote CSV under that name.
TEST_F(CliTest, OutputNamesMustMatchTheFormatWritten) {
  const std::string base = "score --model tags --catalog " + catalog() + " --profiles " + dir() + "/profiles.bin -k 2 --out ";
  auto r = run_marquee(base + dir() + "/r.parquet");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("'.parquet' is not a format marquee writes"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir() + "/r.parquet"));
  r = run_marquee(base + dir() + "/r.csv.bz2");  // .gz and .zst are written compressed; bzip2 is not
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("'.bz2' is not a format marquee writes"), std::string::npos) << r.out;
  r = run_marquee(base + dir() + "/r.jsonl.gz --format csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = run_marquee(base + dir() + "/r.jsonl --format csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--format csv contradicts --out"), std::string::npos) << r.out;
  // Explicit formats under other names, and names without an extension, are the user's choice.
  EXPECT_EQ(run_marquee(base + dir() + "/r.txt --format jsonl").exit_code, 0);
  EXPECT_EQ(read_text(dir() + "/r.txt").front(), '{');
  EXPECT_EQ(run_marquee(base + dir() + "/recs_noext").exit_code, 0);
  EXPECT_EQ(read_text(dir() + "/recs_noext").rfind("user_id,rank,title_id,score", 0), 0u);
  EXPECT_EQ(run_marquee(base + dir() + "/R.JSONL").exit_code, 0);
  EXPECT_EQ(read_text(dir() + "/R.JSONL").front(), '{');
  // A missing folder is named for the output typed, not for a side file's temporary name.
  r = run_marquee(base + dir() + "/nodir/r.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--out " + dir() + "/nodir/r.csv: the folder " + dir() + "/nodir does not exist"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find(".tmp."), std::string::npos) << r.out;
}

// Issue #19, item 10: explain's columns stay aligned when a tag name is longer than 24 characters.
TEST(CliReadable, ExplainAlignsLongTagNames) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  // "paris" becomes a 41-character name.
  const std::string long_tag = "setting:paris_and_the_surrounding_region";
  for (const char* f : {"/tags.csv", "/title_tags.csv"}) {
    std::string text = read_text(dir / "cat" + f);
    for (size_t at = 0; (at = text.find("paris", at)) != std::string::npos;) {
      text.replace(at, 5, long_tag);
      at += long_tag.size();  // past the new name, which contains "paris" itself
    }
    write_text(dir / "cat" + f, text);
  }
  write_text(dir / "events.csv",
             "ts,user_id,title_id,event,position_s,seek_to_s\n"
             "2026-01-01T20:00:00Z,u1,a,play,0,\n2026-01-01T21:00:00Z,u1,a,complete,3600,\n"
             "2026-01-02T20:00:00Z,u1,c,play,0,\n2026-01-02T20:30:00Z,u1,c,complete,1800,\n");
  const auto r = run_command(kBin + " explain --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                             " --user u1 --title a --as-of 2026-01-03T00:00:00Z");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<size_t> plus_at;
  for (const auto& line : lines(r.out))
    if (line.rfind("  tag ", 0) == 0) plus_at.push_back(line.find(" +"));
  ASSERT_GE(plus_at.size(), 2u) << r.out;
  for (size_t col : plus_at) EXPECT_EQ(col, plus_at[0]) << r.out;
  EXPECT_NE(r.out.find(long_tag + " "), std::string::npos) << r.out;
}

TEST(CliBadInput, RejectsAreCountedWrittenAndStrictFails) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv",
             "ts,user_id,title_id,event,position_s,seek_to_s\n"
             "2026-01-01T20:00:00Z,u1,a,play,0,\n"
             "2026-01-01T21:00:00Z,u1,a,complete,3600,\n"
             "garbage,u1,b,play,0,\n"
             "2026-01-01T20:00:00Z,u2,zz,play,0,\n"
             "2026-01-01T20:00:00Z,u2,c,play,0,\n"
             "2026-01-01T20:30:00Z,u2,c,complete,1800,\n");
  auto r = run_command(kBin + " score --model tags --catalog " + dir / "cat" + " --events " + dir / "events.csv" + " -k 2 --out " +
                       dir / "recs.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("events.csv:4: rejected: unparseable timestamp 'garbage'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 rows rejected (1 unknown title_id, 1 unparseable timestamp)"), std::string::npos) << r.out;
  const auto rejects = lines(read_text(dir / "recs.csv.rejects.csv"));
  ASSERT_EQ(rejects.size(), 3u);
  EXPECT_NE(rejects[2].find(",5,unknown title_id 'zz',"), std::string::npos) << rejects[2];
  EXPECT_EQ(lines(read_text(dir / "recs.csv")).size(), 1u + 2 * 2);  // both users kept their good rows

  r = run_command(kBin + " score --model tags --strict --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                  " -k 2 --out " + dir / "strict.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("events.csv:4: unparseable timestamp 'garbage' (--strict"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "strict.csv"));

  write_text(dir / "empty.csv", "");
  r = run_command(kBin + " score --model tags --catalog " + dir / "cat" + " --events " + dir / "empty.csv" + " -k 2 --out " +
                  dir / "none.csv");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_text(dir / "none.csv"), "user_id,rank,title_id,score\n");
}
