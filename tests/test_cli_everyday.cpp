// The everyday CLI of issue #19 around the jobs: progress lines (on a terminal or with --progress,
// never in a log file otherwise), --log-format json, and shell completion generated from the CLI
// definition (checked by bash itself: syntax, and the words it offers).
#include "host/io/log_format.h"
#include "host/io/progress.h"
#include "test_util.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::test;

namespace {

// `marquee ARGS` with stderr alone (stdout dropped).
std::string marquee_stderr(const std::string& args, int* exit_code = nullptr) {
  const auto r = run_command("(" + kBin + " " + args + " 2>&1 1>/dev/null)");
  if (exit_code) *exit_code = r.exit_code;
  return r.out;
}

bool has_line_starting(const std::string& text, const std::string& needle) {
  for (const auto& l : lines(text))
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(Progress, FormatsDurationsAsPeopleReadThem) {
  EXPECT_EQ(format_duration(0.2), "1 s");
  EXPECT_EQ(format_duration(59), "59 s");
  EXPECT_EQ(format_duration(200), "3 min 20 s");
  EXPECT_EQ(format_duration(3900), "1 h 05 min");
}

TEST(LogFormat, FileAndLineOfAMessageBecomeFieldsBesideTheCallersOwn) {
  const nlohmann::json f = log_fields_of("data/events.csv:12: unknown title_id 'x'", nullptr);
  EXPECT_EQ(f, (nlohmann::json{{"file", "data/events.csv"}, {"line", 12}}));
  const nlohmann::json own{{"step", "score"}, {"done", 3}};
  EXPECT_EQ(log_fields_of("score: 3/9 users", &own), own);
  EXPECT_EQ(log_fields_of("no location here: 12 users", nullptr), nlohmann::json::object());
  EXPECT_THROW(parse_log_format("yaml"), std::exception);
}

class EverydayCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto g = run_marquee("gen --users 200 --titles 60 --tags 30 --seed 3 --out " + dir() + "/data");
    ASSERT_EQ(g.exit_code, 0) << g.out;
    std::string events = read_text(dir() + "/data/events.csv");
    events += "2024-01-01T10:00:00Z,u_bad,no_such_title,play,0,\n";
    write_text(dir() + "/events.csv", events);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string dir() { return dir_->path(); }
  static std::string inputs() { return " --catalog " + dir() + "/data/catalog --events " + dir() + "/events.csv"; }
  static inline TempDir* dir_ = nullptr;
};

TEST_F(EverydayCli, ProgressLinesAppearWithProgressAndNotInALogFileWithoutIt) {
  struct Job {
    std::string args, line;  // the command, and the start of its last progress line
  };
  const std::vector<Job> jobs{
      {"score --model tags --top 3" + inputs() + " --out " + dir() + "/r.csv", "score: 200 users in "},
      {"eval-recs --time-budget 0" + inputs(), " steps in "},
      {"daypart" + inputs() + " --out " + dir() + "/d.json", "daypart: ranking held-out users: "},
      {"segment -k 3" + inputs() + " --out " + dir() + "/s.csv", "segment: assigning: 200 users in "},
      {"project --title t000001 --as-new --space tags" + inputs() + " --out " + dir() + "/p.json", "project: 200 users in "},
      {"profile" + inputs() + " --out " + dir() + "/p.bin", "reading " + dir() + "/events.csv: "},
  };
  for (const auto& job : jobs) {
    int code = -1;
    const std::string with = marquee_stderr("--progress " + job.args, &code);
    EXPECT_EQ(code, 0) << job.args << "\n" << with;
    EXPECT_TRUE(has_line_starting(with, job.line)) << job.args << "\n" << with;
    // Its last line: the total, the time and the rate.
    EXPECT_NE(with.find("/s"), std::string::npos) << with;
    const std::string without = marquee_stderr(job.args, &code);
    EXPECT_EQ(code, 0) << job.args << "\n" << without;
    EXPECT_FALSE(has_line_starting(without, job.line)) << job.args << "\n" << without;
    EXPECT_FALSE(has_line_starting(without, "reading ")) << without;
    // --quiet hides them even under --progress.
    EXPECT_FALSE(has_line_starting(marquee_stderr("--progress --quiet " + job.args), job.line)) << job.args;
  }
  // The reading line gives MB and rows.
  const std::string read = marquee_stderr("profile --progress" + inputs() + " --out " + dir() + "/p2.bin");
  EXPECT_NE(read.find(" MB in "), std::string::npos) << read;
  EXPECT_NE(read.find(" rows)"), std::string::npos) << read;
}

TEST_F(EverydayCli, LogFormatJsonWritesOneObjectPerLineWithFields) {
  int code = -1;
  const std::string err =
      marquee_stderr("profile" + inputs() + " --out " + dir() + "/j.bin --progress --log-format json", &code);
  ASSERT_EQ(code, 0) << err;
  bool saw_reject = false, saw_progress = false;
  for (const auto& l : lines(err)) {
    const auto j = nlohmann::json::parse(l, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << l;
    ASSERT_TRUE(j.is_object()) << l;
    EXPECT_TRUE(j["time"].is_string() && j["time"].get<std::string>().size() == 24) << l;  // 2026-01-01T00:00:00.000Z
    EXPECT_EQ(l.rfind("{\"time\":", 0), 0u) << l;  // time first, for people who read the file too
    EXPECT_TRUE(j["level"].is_string()) << l;
    EXPECT_TRUE(j["message"].is_string()) << l;
    ASSERT_TRUE(j["fields"].is_object()) << l;
    if (j["message"].get<std::string>().find("unknown title_id 'no_such_title'") != std::string::npos) {
      saw_reject = true;
      EXPECT_EQ(j["level"], "warning") << l;
      EXPECT_EQ(j["fields"]["file"], dir() + "/events.csv") << l;
      EXPECT_GT(j["fields"]["line"].get<int>(), 1) << l;
    }
    if (j["fields"].contains("step")) {
      saw_progress = true;
      EXPECT_EQ(j["fields"]["unit"], "MB") << l;
      EXPECT_TRUE(j["fields"]["rate_per_s"].is_number()) << l;
    }
  }
  EXPECT_TRUE(saw_reject) << err;
  EXPECT_TRUE(saw_progress) << err;

  // A usage error, before any subcommand ran, is a JSON line too.
  const std::string usage = marquee_stderr("--log-format json scor", &code);
  EXPECT_EQ(code, 2);
  const auto j = nlohmann::json::parse(lines(usage).at(0), nullptr, false);
  ASSERT_TRUE(j.is_object()) << usage;
  EXPECT_EQ(j["level"], "error");
  EXPECT_NE(j["message"].get<std::string>().find("did you mean 'score'"), std::string::npos) << usage;
  // And one CLI11 reports (a missing required flag).
  const std::string missing = marquee_stderr("--log-format json profile --out x.bin", &code);
  EXPECT_EQ(code, 2);
  EXPECT_TRUE(nlohmann::json::parse(lines(missing).at(0), nullptr, false).is_object()) << missing;
}

TEST_F(EverydayCli, AGlobalFlagBeforeTheSubcommandDoesNotTakeItAsItsValue) {
  // Before: `marquee --quiet gen ...` took `gen` for --quiet's value and refused --users.
  const auto r = run_marquee("--quiet gen --users 5 --titles 5 --tags 3 --out " + dir() + "/tiny");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "");  // --quiet: no info lines
  const auto p = run_marquee("--progress --log-level warn profile" + inputs() + " --out " + dir() + "/q.bin");
  EXPECT_EQ(p.exit_code, 0) << p.out;
}

TEST(Completion, BashScriptHasEverySubcommandAndFlagAndBashAcceptsIt) {
  TempDir dir;
  const auto r = run_command(kBin + " completion bash > " + dir / "marquee.bash");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string script = read_text(dir / "marquee.bash");
  for (const char* sub : {"gen", "profile", "train", "score", "daypart", "eval-recs", "similar", "explain", "devices",
                          "project", "segment", "eval-projection", "serve", "completion"})
    EXPECT_NE(script.find(std::string(" ") + sub + ")"), std::string::npos) << sub;
  for (const char* flag : {"--model-dir", "--columns", "--delimiter", "--log-format", "--progress", "--top"})
    EXPECT_NE(script.find(flag), std::string::npos) << flag;
  const auto syntax = run_command("bash -n " + dir / "marquee.bash");
  EXPECT_EQ(syntax.exit_code, 0) << syntax.out;

  // What bash offers: COMP_WORDS as bash would set them, then the function's answer.
  auto complete = [&](const std::string& words, int cword) {
    const std::string probe = "source " + dir / "marquee.bash" + "; COMP_WORDS=(" + words + "); COMP_CWORD=" +
                              std::to_string(cword) + "; _marquee; echo \"${COMPREPLY[*]}\"";
    write_text(dir / "probe.sh", probe);
    return run_command("bash " + dir / "probe.sh").out;
  };
  EXPECT_EQ(complete("marquee sco", 1), "score\n");
  EXPECT_EQ(complete("marquee score --model-d", 2), "--model-dir\n");
  EXPECT_EQ(complete("marquee score --backend ''", 3), "auto cpu cuda\n");
  EXPECT_EQ(complete("marquee --log-level w", 2), "warn\n");
  EXPECT_EQ(complete("marquee similar --log-f", 2), "--log-format\n");  // global flags after the subcommand
  EXPECT_EQ(complete("marquee completion ''", 2).find("bash zsh"), 0u);
  EXPECT_EQ(complete("marquee profile --delimiter t", 3), "tab\n");
}

TEST(Completion, ZshScriptHasEverySubcommandAndFlag) {
  const auto r = run_marquee("completion zsh");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("#compdef marquee\n", 0), 0u);
  for (const char* sub : {"'gen:", "'score:", "'eval-recs:", "'serve:", "'completion:"})
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
  EXPECT_NE(r.out.find("'--model-dir["), std::string::npos);
  EXPECT_NE(r.out.find("'--backend[auto|cpu|cuda]:value:(auto cpu cuda)'"), std::string::npos) << r.out;
  if (run_command("command -v zsh").exit_code == 0) {  // zsh's own syntax check where zsh is installed
    TempDir dir;
    write_text(dir / "_marquee", r.out);
    const auto syntax = run_command("zsh -n " + dir / "_marquee");
    EXPECT_EQ(syntax.exit_code, 0) << syntax.out;
  }
  const auto bad = run_marquee("completion fish");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}
