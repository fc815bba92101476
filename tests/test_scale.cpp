// Directory outputs of `marquee score` (docs/scale.md): parts equal the single file, a run killed
// with SIGKILL at random points resumes to the same bytes, a changed part is redone, another run's
// finished output is refused. Runs the real binary on generated data.
#include "test_util.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
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

TEST_F(BudgetTest, AModelFittedOnEveryProfileIsRefusedWithinABudget) {
  TempDir t;
  const auto r = run_marquee("score --model behaviour --catalog " + dir() + "/data/catalog --events " + dir() +
                             "/events.csv --top 7 --out " + t / "r.csv --memory-budget 1M");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("train the model once with `marquee train` and pass --model-dir"), std::string::npos) << r.out;
  const auto bad = run_marquee("profile --catalog " + dir() + "/data/catalog --events " + dir() +
                               "/events.csv --out " + t / "p.bin --memory-budget 4X");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--memory-budget '4X': expected a size such as 4G"), std::string::npos) << bad.out;
}
