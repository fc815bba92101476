// Directory outputs of `marquee score` (docs/scale.md): parts equal the single file, a run killed
// with SIGKILL at random points resumes to the same bytes, a changed part is redone, another run's
// finished output is refused. Runs the real binary on generated data.
#include "test_util.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <random>
#include <thread>

using namespace marquee::test;
namespace fs = std::filesystem;

namespace {

// Every file under `dir` (relative name -> bytes).
std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_text(e.path().string());
  return out;
}

std::vector<std::string> temp_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) out.push_back(e.path().string());
  return out;
}

// The parts' concatenation, the CSV header kept once (each part carries it).
std::string concatenate(const std::string& dir, const std::string& prefix, const std::string& ext, bool header) {
  std::string out;
  for (size_t p = 0;; ++p) {
    char name[64];
    std::snprintf(name, sizeof name, "%s%05zu.%s", prefix.c_str(), p, ext.c_str());
    const std::string path = dir + "/" + name;
    if (!fs::exists(path)) {
      if (prefix == "part-") return out;
      if (p > 10000) return out;
      continue;  // unscored files exist only for parts with unscored users
    }
    std::string text = read_text(path);
    if (header && !out.empty()) text = text.substr(text.find('\n') + 1);
    out += text;
  }
}

}  // namespace

class ScaleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // Big enough that a run takes a few hundred milliseconds (kill points land inside it).
    const auto g = run_marquee("gen --users 1500 --titles 600 --tags 80 --seed 11 --out " + dir() + "/data");
    ASSERT_EQ(g.exit_code, 0) << g.out;
    // Users without usable events, so that unscored files have rows: only a pause, then only a negative signal.
    std::string events = read_text(dir() + "/data/events.csv");
    const std::string title = split(lines(read_text(dir() + "/data/catalog/titles.csv"))[1], ',')[0];
    events += "2024-03-01T10:00:00Z,zz-nothing-1," + title + ",pause,0,\n";
    events += "2024-03-01T10:00:00Z,zz-nothing-2," + title + ",pause,0,\n";
    write_text(dir() + "/events.csv", events);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string dir() { return dir_->path(); }
  static std::string inputs() {
    return "--model tags --backend cpu --catalog " + dir() + "/data/catalog --events " + dir() + "/events.csv ";
  }
  static inline TempDir* dir_ = nullptr;
};

TEST_F(ScaleTest, PartsConcatenateToTheSingleFile) {
  TempDir t;
  for (const std::string ext : {"csv", "jsonl"}) {
    const auto one = run_marquee("score " + inputs() + "--top 6 --out " + t / ("recs." + ext));
    ASSERT_EQ(one.exit_code, 0) << one.out;
    const auto parts = run_marquee("score " + inputs() + "--top 6 --partitions 7 --format " + ext + " --out " +
                                   t / ("parts-" + ext) + "/");
    ASSERT_EQ(parts.exit_code, 0) << parts.out;
    const std::string d = t / ("parts-" + ext);
    EXPECT_TRUE(fs::exists(d + "/_SUCCESS"));
    EXPECT_TRUE(fs::exists(d + "/part-00006." + ext));
    EXPECT_FALSE(fs::exists(d + "/part-00007." + ext));
    EXPECT_EQ(concatenate(d, "part-", ext, ext == "csv"), read_text(t / ("recs." + ext)));
    EXPECT_EQ(concatenate(d, "_unscored-", "csv", true), read_text(t / ("recs." + ext + ".unscored.csv")));
    EXPECT_NE(read_text(t / ("recs." + ext + ".unscored.csv")).find("zz-nothing-2"), std::string::npos);
    // The manifest records every part: its rows, bytes and sha256 (checked against `sha256sum`).
    const std::string manifest = read_text(d + "/_manifest.json");
    const auto sum = run_command("sha256sum " + d + "/part-00003." + ext);
    EXPECT_NE(manifest.find("\"sha256\": \"" + sum.out.substr(0, 64) + "\""), std::string::npos) << manifest;
    EXPECT_NE(manifest.find("\"partitions\": 7"), std::string::npos);
    EXPECT_NE(manifest.find("\"k\": 6"), std::string::npos);
    EXPECT_TRUE(temp_files(d).empty());
  }
}

TEST_F(ScaleTest, PartitionsNeedADirectory) {
  TempDir t;
  const auto r = run_marquee("score " + inputs() + "--top 6 --partitions 3 --out " + t / "recs.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--partitions 3 needs a directory output"), std::string::npos) << r.out;
}

TEST_F(ScaleTest, KilledRunsResumeToTheSameBytes) {
  TempDir t;
  const std::string args = "score " + inputs() + "--top 8 --batch 64 --partitions 23 --out ";
  const auto t0 = std::chrono::steady_clock::now();
  const auto ref = run_marquee(args + t / "ref/");
  ASSERT_EQ(ref.exit_code, 0) << ref.out;
  const double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto expected = tree(t / "ref");

  std::mt19937 rng(1234);
  for (int trial = 0; trial < 5; ++trial) {
    const std::string out = t / ("run" + std::to_string(trial)) + "/";
    // One to three kills at random points, then a run left to finish.
    const int kills = 1 + int(rng() % 3);
    for (int k = 0; k < kills; ++k) {
      const int delay_ms = int(std::uniform_real_distribution<double>(0, run_ms)(rng));
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        const std::string cmd = "exec " + kBin + " --log-level warn " + args + out + " > /dev/null 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      kill(pid, SIGKILL);
      int status = 0;
      waitpid(pid, &status, 0);
      SCOPED_TRACE("trial " + std::to_string(trial) + " kill " + std::to_string(k) + " after " +
                   std::to_string(delay_ms) + " ms");
    }
    const auto resumed = run_marquee(args + out);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
    EXPECT_EQ(tree(out), expected) << "trial " << trial;
    EXPECT_TRUE(temp_files(out).empty()) << "trial " << trial << ": " << temp_files(out)[0];
  }
}

TEST_F(ScaleTest, AChangedOrLostPartIsRedone) {
  TempDir t;
  const std::string args = "score " + inputs() + "--top 5 --partitions 4 --out " + t / "out/";
  ASSERT_EQ(run_marquee(args).exit_code, 0);
  const auto expected = tree(t / "out");
  // Same size, one byte changed: only the sha256 can tell.
  std::string part = read_text(t / "out/part-00002.csv");
  part[part.size() / 2] = part[part.size() / 2] == '1' ? '2' : '1';
  write_text(t / "out/part-00002.csv", part);
  fs::remove(t / "out/part-00003.csv");
  const auto again = run_marquee(args);
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("part-00002.csv: its bytes no longer match the sha256"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("2 kept from an earlier run (verified), 2 written"), std::string::npos) << again.out;
  EXPECT_EQ(tree(t / "out"), expected);
  // Nothing changed: nothing is written again.
  const auto third = run_marquee(args);
  ASSERT_EQ(third.exit_code, 0) << third.out;
  EXPECT_NE(third.out.find("4 kept from an earlier run (verified), 0 written"), std::string::npos) << third.out;
}

TEST_F(ScaleTest, AnotherRunsFinishedOutputIsRefusedAnUnfinishedOneTakenOver) {
  TempDir t;
  ASSERT_EQ(run_marquee("score " + inputs() + "--top 5 --partitions 4 --out " + t / "out/").exit_code, 0);
  const auto before = tree(t / "out");
  const auto other = run_marquee("score " + inputs() + "--top 6 --partitions 3 --out " + t / "out/");
  EXPECT_EQ(other.exit_code, 2) << other.out;
  EXPECT_NE(other.out.find("holds the complete output of another run (differs in: k, partitions)"), std::string::npos)
      << other.out;
  EXPECT_EQ(tree(t / "out"), before);  // untouched

  // Without _SUCCESS the folder is an unfinished run: taken over, and it ends as a fresh run would.
  fs::remove(t / "out/_SUCCESS");
  ASSERT_EQ(run_marquee("score " + inputs() + "--top 6 --partitions 3 --out " + t / "out/").exit_code, 0);
  ASSERT_EQ(run_marquee("score " + inputs() + "--top 6 --partitions 3 --out " + t / "fresh/").exit_code, 0);
  EXPECT_EQ(tree(t / "out"), tree(t / "fresh"));
}

// --memory-budget: the events partitioned on disk, profiled per partition and merged back. A budget
// of 1M forces tens of partitions on this data; every byte must equal the in-memory build.
class BudgetTest : public ScaleTest {
 protected:
  static std::string events_with_duplicates() {
    // Exact duplicates of rows of several users (reported as rejects, in the in-memory build's order)
    // and a row that is rejected outright.
    const std::string path = dir() + "/events-dup.csv";
    if (!fs::exists(path)) {
      const auto rows = lines(read_text(dir() + "/events.csv"));
      std::string text = read_text(dir() + "/events.csv");
      for (size_t i = 1; i < rows.size(); i += 997) text += rows[i] + "\n";
      text += "2024-03-01T10:00:00Z,u-bad,no-such-title,play,0,\n";
      write_text(path, text);
    }
    return path;
  }
};

TEST_F(BudgetTest, ProfilesWithinABudgetAreTheSameBytes) {
  TempDir t;
  const std::string args = "profile --catalog " + dir() + "/data/catalog --events " + events_with_duplicates() +
                           " --half-life-days 30 --out ";
  const auto mem = run_marquee(args + t / "mem.bin");
  ASSERT_EQ(mem.exit_code, 0) << mem.out;
  const auto spill = run_marquee(args + t / "spill.bin --memory-budget 1M --spill-dir " + t.path());
  ASSERT_EQ(spill.exit_code, 0) << spill.out;
  EXPECT_NE(spill.out.find("partitioning the events on disk"), std::string::npos) << spill.out;
  EXPECT_NE(spill.out.find("partitions within a 1 MB budget"), std::string::npos) << spill.out;
  EXPECT_EQ(read_text(t / "spill.bin"), read_text(t / "mem.bin"));
  const std::string rejects = read_text(t / "mem.bin.rejects.csv");
  EXPECT_NE(rejects.find("duplicate event"), std::string::npos);
  EXPECT_EQ(read_text(t / "spill.bin.rejects.csv"), rejects);
  // Nothing left of the spill files.
  for (const auto& e : fs::directory_iterator(t.path()))
    EXPECT_EQ(e.path().filename().string().find("marquee-spill"), std::string::npos) << e.path();
}

TEST_F(BudgetTest, ScoresWithinABudgetAreTheSameBytes) {
  TempDir t;
  const std::string args = "score --model tags --backend cpu --catalog " + dir() + "/data/catalog --events " +
                           events_with_duplicates() + " --top 7 --out ";
  ASSERT_EQ(run_marquee(args + t / "mem.csv").exit_code, 0);
  const auto spill = run_marquee(args + t / "spill.csv --memory-budget 1M");
  ASSERT_EQ(spill.exit_code, 0) << spill.out;
  EXPECT_NE(spill.out.find("partitioning the events on disk"), std::string::npos) << spill.out;
  EXPECT_EQ(read_text(t / "spill.csv"), read_text(t / "mem.csv"));
  EXPECT_EQ(read_text(t / "spill.csv.unscored.csv"), read_text(t / "mem.csv.unscored.csv"));
  EXPECT_EQ(read_text(t / "spill.csv.rejects.csv"), read_text(t / "mem.csv.rejects.csv"));
  // And into a directory of parts.
  const auto parts = run_marquee(args + t / "parts/ --partitions 5 --memory-budget 1M");
  ASSERT_EQ(parts.exit_code, 0) << parts.out;
  EXPECT_EQ(concatenate(t / "parts", "part-", "csv", true), read_text(t / "mem.csv"));
  for (const auto& e : fs::recursive_directory_iterator(t.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST_F(BudgetTest, AModelFittedWithinABudgetIsFittedOnASample) {
  TempDir t;
  const std::string args = "score --model behaviour --backend cpu --catalog " + dir() + "/data/catalog --events " +
                           dir() + "/events.csv --top 7 --out ";
  // Within a budget that fits: the same bytes as without one.
  ASSERT_EQ(run_marquee(args + t / "mem.csv").exit_code, 0);
  const auto fits = run_marquee(args + t / "fits.csv --memory-budget 4G");
  ASSERT_EQ(fits.exit_code, 0) << fits.out;
  EXPECT_EQ(read_text(t / "fits.csv"), read_text(t / "mem.csv"));
  // Past it: profiles spilled, the model fitted on a sample of users, every user still scored.
  const auto r = run_marquee(args + t / "r.csv --memory-budget 1M");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("partitioning the events on disk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("score: --model behaviour fitted on a sample of"), std::string::npos) << r.out;
  EXPECT_EQ(lines(read_text(t / "r.csv")).size(), lines(read_text(t / "mem.csv")).size());
  EXPECT_EQ(read_text(t / "r.csv.unscored.csv"), read_text(t / "mem.csv.unscored.csv"));
  const auto bad = run_marquee("profile --catalog " + dir() + "/data/catalog --events " + dir() +
                               "/events.csv --out " + t / "p.bin --memory-budget 4X");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--memory-budget '4X': expected a size such as 4G"), std::string::npos) << bad.out;
}

// train, eval-recs and score's fits within --memory-budget (docs/scale.md): on data that fits, the
// same model and the same figures; past the budget, a sample of users by the spill files' hash.
namespace {

// The spill files' user hash (host/jobs/spilled_profiles.h), written out again as the reference: a
// user is in a sample of fraction f when hash < f * 2^64.
uint64_t reference_user_hash(const std::string& id) {
  uint64_t h = 1469598103934665603ull ^ 0x9E3779B97F4A7C15ull;
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 30, h *= 0xbf58476d1ce4e5b9ull, h ^= h >> 27, h *= 0x94d049bb133111ebull, h ^= h >> 31;
  return h;
}

// The events file with only the rows of users in the sample of `fraction` (header kept).
std::string only_sampled_users(const std::string& events, double fraction, const std::string& out, size_t* users) {
  const auto rows = lines(read_text(events));
  std::string text = rows[0] + "\n";
  std::set<std::string> kept;
  const uint64_t limit = uint64_t(fraction * 18446744073709551616.0);
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string user = split(rows[i], ',')[1];
    if (reference_user_hash(user) >= limit) continue;
    kept.insert(user);
    text += rows[i] + "\n";
  }
  write_text(out, text);
  if (users) *users = kept.size();
  return out;
}

// Every file of a model folder but the manifest (which records times and inputs).
std::map<std::string, std::string> model_arrays(const std::string& dir) {
  std::map<std::string, std::string> out = tree(dir);
  out.erase("manifest.json");
  return out;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

}  // namespace

TEST_F(BudgetTest, TrainWithinABudgetThatFitsWritesTheSameModel) {
  TempDir t;
  // ease: a search of a fixed number of trials (the time budget never ends it), so deterministic.
  const std::string args = "train --model ease --time-budget 100000 --catalog " + dir() + "/data/catalog --events " +
                           dir() + "/events.csv --out ";
  const auto mem = run_marquee(args + t / "mem");
  ASSERT_EQ(mem.exit_code, 0) << mem.out;
  const auto fits = run_marquee(args + t / "fits --memory-budget 4G");
  ASSERT_EQ(fits.exit_code, 0) << fits.out;
  EXPECT_EQ(fits.out.find("sample"), std::string::npos) << fits.out;
  EXPECT_EQ(model_arrays(t / "fits"), model_arrays(t / "mem"));
  EXPECT_FALSE(read_json(t / "fits/manifest.json")["training"].contains("sample"));
  EXPECT_EQ(read_json(t / "fits/manifest.json")["validation"]["chosen_metrics"],
            read_json(t / "mem/manifest.json")["validation"]["chosen_metrics"]);
}

TEST_F(BudgetTest, TrainOnASampleIsTrainOnThoseUsersRows) {
  // --sample-users 0.25: the users whose hash is below 2^62, read by the bounded reader; the model
  // must equal the in-memory train on a file holding only their rows.
  TempDir t;
  size_t users = 0;
  const std::string only = only_sampled_users(dir() + "/events.csv", 0.25, t / "only.csv", &users);
  ASSERT_GT(users, 200u);
  ASSERT_LT(users, 600u);
  const std::string args = "train --model ease --time-budget 100000 --catalog " + dir() + "/data/catalog --events ";
  const auto filtered = run_marquee(args + only + " --out " + t / "filtered");
  ASSERT_EQ(filtered.exit_code, 0) << filtered.out;
  const auto sampled = run_marquee(args + dir() + "/events.csv --sample-users 0.25 --out " + t / "sampled");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.out;
  EXPECT_NE(sampled.out.find("train: fitting on a sample of " + std::to_string(users) + " of ~"), std::string::npos)
      << sampled.out;
  EXPECT_EQ(model_arrays(t / "sampled"), model_arrays(t / "filtered"));
  const nlohmann::json s = read_json(t / "sampled/manifest.json")["training"]["sample"];
  EXPECT_EQ(s["sampled"], true);
  EXPECT_EQ(s["users"], users);
  EXPECT_NEAR(s["users_total"].get<double>(), 1502, 30);  // HyperLogLog's estimate
  EXPECT_EQ(s["users_total_estimated"], true);
  EXPECT_EQ(s["fraction"], 0.25);
  EXPECT_EQ(s["why"], "--sample-users");
}

TEST_F(BudgetTest, TrainOnASampleOfAProfilesFile) {
  // A profiles file is sampled while read batch by batch: the same model as the profiles of the
  // sampled users' rows alone (each user's profile and hashed split depend on that user only).
  TempDir t;
  size_t users = 0;
  const std::string only = only_sampled_users(dir() + "/events.csv", 0.5, t / "only.csv", &users);
  const std::string catalog = " --catalog " + dir() + "/data/catalog";
  ASSERT_EQ(run_marquee("profile" + catalog + " --events " + dir() + "/events.csv --out " + t / "all.bin").exit_code, 0);
  ASSERT_EQ(run_marquee("profile" + catalog + " --events " + only + " --out " + t / "only.bin").exit_code, 0);
  const std::string args = "train --model ease --time-budget 100000" + catalog + " --profiles ";
  const auto filtered = run_marquee(args + t / "only.bin --out " + t / "filtered");
  ASSERT_EQ(filtered.exit_code, 0) << filtered.out;
  const auto sampled = run_marquee(args + t / "all.bin --sample-users 0.5 --out " + t / "sampled");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.out;
  EXPECT_EQ(model_arrays(t / "sampled"), model_arrays(t / "filtered"));
  const nlohmann::json s = read_json(t / "sampled/manifest.json")["training"]["sample"];
  EXPECT_EQ(s["users"], users);
  EXPECT_EQ(s["users_total"], 1502);  // a profiles file knows its users
  EXPECT_EQ(s["fraction"], 0.5);
}

TEST_F(BudgetTest, TrainWithinATinyBudgetFitsOnASmallSample) {
  TempDir t;
  const auto r = run_marquee("train --time-budget 3 --catalog " + dir() + "/data/catalog --events " + dir() +
                             "/events.csv --memory-budget 1M --out " + t / "m");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("train: fitting on a sample of"), std::string::npos) << r.out;
  const nlohmann::json m = read_json(t / "m/manifest.json");
  const nlohmann::json s = m["training"]["sample"];
  ASSERT_TRUE(s.is_object()) << m.dump(2);
  EXPECT_EQ(s["sampled"], true);
  EXPECT_EQ(s["memory_budget"], 1 << 20);
  EXPECT_EQ(s["why"], "--memory-budget");
  // The budget is below the fixed costs: the sample is halved down to its floor (200 to 400 users).
  EXPECT_GE(s["users"].get<size_t>(), 200u);
  EXPECT_LT(s["users"].get<size_t>(), 400u);
  EXPECT_EQ(m["training"]["users"], s["users"]);
  // 1502 users in the file, counted without holding them (HyperLogLog: exact at this size).
  EXPECT_NEAR(s["users_total"].get<double>(), 1502, 30);
  EXPECT_LE(s["fraction"].get<double>(), 0.25);
  EXPECT_NE(r.out.find("below what"), std::string::npos) << r.out;
  // ease does not fit half of 1M: left out of an auto search (and said so), refused when asked for.
  EXPECT_NE(m["validation"]["skipped"]["ease"].get<std::string>().find("600 x 600 matrices need ~13 MB"),
            std::string::npos) << m["validation"].dump(2);
  const auto ease = run_marquee("train --model ease --catalog " + dir() + "/data/catalog --events " + dir() +
                                "/events.csv --memory-budget 1M --out " + t / "e");
  EXPECT_EQ(ease.exit_code, 2) << ease.out;
  EXPECT_NE(ease.out.find("--model ease needs 600 x 600 matrices"), std::string::npos) << ease.out;
}

TEST_F(BudgetTest, EvalRecsWithinABudget) {
  TempDir t;
  const std::string args = "eval-recs --time-budget 0 --catalog " + dir() + "/data/catalog --events ";
  const auto mem = run_marquee(args + dir() + "/events.csv --out " + t / "mem.json");
  ASSERT_EQ(mem.exit_code, 0) << mem.out;
  const auto fits = run_marquee(args + dir() + "/events.csv --memory-budget 4G --out " + t / "fits.json");
  ASSERT_EQ(fits.exit_code, 0) << fits.out;
  EXPECT_EQ(read_text(t / "fits.json"), read_text(t / "mem.json"));
  // A sample is the evaluation of those users' rows alone.
  size_t users = 0;
  const std::string only = only_sampled_users(dir() + "/events.csv", 0.5, t / "only.csv", &users);
  const auto filtered = run_marquee(args + only + " --out " + t / "filtered.json");
  ASSERT_EQ(filtered.exit_code, 0) << filtered.out;
  const auto sampled = run_marquee(args + dir() + "/events.csv --sample-users 0.5 --out " + t / "sampled.json");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.out;
  EXPECT_NE(sampled.out.find("SAMPLED: a sample of " + std::to_string(users) + " of ~"), std::string::npos)
      << sampled.out;
  nlohmann::json s = read_json(t / "sampled.json");
  EXPECT_EQ(s["sample"]["users"], users);
  EXPECT_EQ(s["sample"]["fraction"], 0.5);
  s.erase("sample");
  EXPECT_EQ(s, read_json(t / "filtered.json"));
  // A tiny budget: the smallest sample, the ease, co-watch and saved-EASE rows left out, all said in
  // the report.
  ASSERT_EQ(run_marquee("train --model ease --time-budget 100000 --catalog " + dir() + "/data/catalog --events " +
                        dir() + "/events.csv --out " + t / "ease").exit_code, 0);
  const auto tiny = run_marquee(args + dir() + "/events.csv --memory-budget 1M --model-dir " + t / "ease" + " --out " +
                                t / "tiny.json");
  ASSERT_EQ(tiny.exit_code, 0) << tiny.out;
  const nlohmann::json r = read_json(t / "tiny.json");
  EXPECT_EQ(r["sample"]["sampled"], true);
  EXPECT_EQ(r["sample"]["why"], "--memory-budget");
  EXPECT_LT(r["sample"]["users"].get<size_t>(), 400u);
  EXPECT_EQ(r["users"], r["sample"]["users"]);
  EXPECT_TRUE(r["skipped"].contains("ease")) << r.dump(2);
  EXPECT_TRUE(r["skipped"].contains("cowatch")) << r.dump(2);
  EXPECT_TRUE(r["skipped"].contains("model-dir")) << r.dump(2);
  for (const auto& m : r["models"]) EXPECT_EQ(m["model"].get<std::string>().find("ease"), std::string::npos);
}
