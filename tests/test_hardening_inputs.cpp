// Issue #15, the input side: inputs that used to corrupt a run silently (exit 0) or end it with the
// wrong exit code and no file named. Each test fails on the code before the fix (see the issue's
// items 6, 7, 9-12) and pins the behaviour docs/formats.md, docs/cli.md and docs/operations.md give.
#include "engine/error.h"
#include "engine/profiles.h"
#include "host/io/atomic_file.h"
#include "host/io/catalog_io.h"
#include "host/io/daypart_file.h"
#include "host/io/events_io.h"
#include "host/io/npy.h"
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"
#include "host/io/segments_io.h"
#include "host/io/timestamp.h"
#include "host/jobs/workspace.h"
#include "test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::test;
namespace fs = std::filesystem;

namespace {

const std::string kHeader = "ts,user_id,title_id,event,position_s,seek_to_s\n";

// Three users who each complete a title in January 2026, in the small catalogue.
std::string good_events() {
  return kHeader +
         "2026-01-05T20:00:00Z,u1,a,play,0,\n"
         "2026-01-05T21:00:00Z,u1,a,complete,3600,\n"
         "2026-01-06T20:00:00Z,u2,b,play,0,\n"
         "2026-01-06T20:50:00Z,u2,b,complete,3000,\n"
         "2026-01-07T20:00:00Z,u3,c,play,0,\n"
         "2026-01-07T20:30:00Z,u3,c,complete,1800,\n";
}

std::vector<std::string> reject_rows(const std::string& path) {
  auto rows = lines(read_text(path));
  if (!rows.empty()) rows.erase(rows.begin());  // header
  return rows;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A process id that certainly belongs to no running process: a child that has been reaped.
pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

}  // namespace

// ---- 6: timestamps far in the future or the past ------------------------------------------------

TEST(HardeningTime, AnEventFromTheFutureIsRejectedInsteadOfDecayingEveryoneElse) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events() + "2199-01-01T00:00:00Z,u4,d,play,0,\n");  // line 8
  const std::string base = "score --model tags --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                           " -k 2 --half-life-days 30 --out ";
  auto r = run_marquee(base + dir / "recs.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Before: the 2199 event became "now", 173 years of decay left u1..u3 without usable signal.
  EXPECT_TRUE(contains(r.out, "events.csv:8: rejected: timestamp in the future '2199-01-01T00:00:00Z'")) << r.out;
  const auto rejects = reject_rows(dir / "recs.csv.rejects.csv");
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_TRUE(contains(rejects[0], ",8,timestamp in the future '2199-01-01T00:00:00Z': later than")) << rejects[0];
  EXPECT_EQ(lines(read_text(dir / "recs.csv")).size(), 1u + 3 * 2) << read_text(dir / "recs.csv.unscored.csv");

  r = run_marquee(base + dir / "strict.csv --strict");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "events.csv:8: timestamp in the future")) << r.out;
}

TEST(HardeningTime, AsOfSetsTheReferenceTimeAndBadValuesAreUsageErrors) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events());
  // Events of 5-7 January: with --as-of the 7th at midnight, the 7th's evening is within the day's
  // tolerance...
  auto r = run_marquee("profile --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                       " --as-of 2026-01-07T00:00:00Z --out " + dir / "p.bin");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(reject_rows(dir / "p.bin.rejects.csv").size(), 0u);
  // ... with the 6th at midnight, the 7th's two events are in the future.
  r = run_marquee("profile --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                  " --as-of 1767657600 --out " + dir / "p2.bin");  // 2026-01-06T00:00:00Z
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto rejects = reject_rows(dir / "p2.bin.rejects.csv");
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_TRUE(contains(rejects[0], ",6,timestamp in the future '2026-01-07T20:00:00Z': later than "
                                   "2026-01-07T00:00:00Z (--as-of 2026-01-06T00:00:00Z plus 24 h)"))
      << rejects[0];
  for (const char* bad : {"yesterday", "2026-13-01T00:00:00Z", "nan"}) {
    r = run_marquee("profile --catalog " + dir / "cat" + " --events " + dir / "events.csv" + " --as-of " + bad +
                    " --out " + dir / "p3.bin");
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out;
    EXPECT_TRUE(contains(r.out, "--as-of")) << r.out;
  }
}

TEST(HardeningTime, ImplausiblyOldTimestampsAreRejected) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events() + "0,u4,d,play,0,\n1999-12-31T23:59:59Z,u4,d,stop,10,\n");
  RejectLog rejects(dir / "rejects.csv", false);
  Workspace ws = open_catalog(dir / "cat", rejects);
  const LoadedEvents ev = load_events(dir / "events.csv", ws.catalog, rejects);
  rejects.finish();
  EXPECT_EQ(ev.events.size(), 6u);
  const auto rows = reject_rows(dir / "rejects.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[0], ",8,timestamp too old '0': before 2000-01-01T00:00:00Z")) << rows[0];
  EXPECT_TRUE(contains(rows[1], ",9,timestamp too old '1999-12-31T23:59:59Z'")) << rows[1];
  EXPECT_EQ(rejects.by_reason().at("timestamp too old"), 2u);
}

TEST(HardeningTime, TheWindowFollowsTheReferenceTime) {
  const EventTimeWindow w = event_time_window(1767225600);
  EXPECT_EQ(w.latest, 1767225600 + 86400);
  EXPECT_EQ(w.earliest, 946684800);
  const EventTimeWindow now = event_time_window(0);
  EXPECT_NEAR(double(now.reference), double(std::time(nullptr)), 5.0);
  EXPECT_FALSE(now.from_as_of);
}

// ---- 7: an output path that is an input ----------------------------------------------------------

class HardeningPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    write_small_catalog(dir_ / "cat");
    write_text(dir_ / "events.csv", good_events());
    const auto r = run_marquee("profile --catalog " + dir_ / "cat" + " --events " + dir_ / "events.csv" + " --out " +
                               dir_ / "p.bin");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  // Runs `args`, expects exit 2 with `message`, and that the inputs are untouched.
  void expect_refused(const std::string& args, const std::string& message) {
    const std::string events = read_text(dir_ / "events.csv"), profiles = read_text(dir_ / "p.bin"),
                      titles = read_text(dir_ / "cat/titles.csv");
    const auto r = run_marquee(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, message)) << args << "\n" << r.out;
    EXPECT_EQ(read_text(dir_ / "events.csv"), events) << args;
    EXPECT_EQ(read_text(dir_ / "p.bin"), profiles) << args;
    EXPECT_EQ(read_text(dir_ / "cat/titles.csv"), titles) << args;
  }
  std::string cat() const { return " --catalog " + dir_ / "cat"; }
  TempDir dir_;
};

TEST_F(HardeningPaths, ScoreOutEqualToProfilesIsRefused) {
  expect_refused("score --model tags" + cat() + " --profiles " + dir_ / "p.bin" + " -k 2 --out " + dir_ / "p.bin",
                 "--out " + dir_ / "p.bin" + " is the input --profiles");
  // The same file by another name: ./, .., a symbolic link, a hard link.
  expect_refused("score --model tags" + cat() + " --profiles " + dir_ / "p.bin" + " -k 2 --out " + dir_ / "cat/../p.bin",
                 "is the input --profiles");
  fs::create_symlink(dir_ / "p.bin", dir_ / "link.bin");
  expect_refused("score --model tags" + cat() + " --profiles " + dir_ / "p.bin" + " -k 2 --out " + dir_ / "link.bin",
                 "is the input --profiles");
  fs::create_hard_link(dir_ / "p.bin", dir_ / "hard.bin");
  expect_refused("score --model tags" + cat() + " --profiles " + dir_ / "hard.bin" + " -k 2 --out " + dir_ / "p.bin",
                 "is the input --profiles");
}

TEST_F(HardeningPaths, ProfileOutEqualToEventsIsRefused) {
  expect_refused("profile" + cat() + " --events " + dir_ / "events.csv" + " --out " + dir_ / "events.csv",
                 "--out " + dir_ / "events.csv" + " is the input --events");
}

TEST_F(HardeningPaths, OutputsInsideTheCatalogueAreRefused) {
  expect_refused("score --model tags" + cat() + " --events " + dir_ / "events.csv" + " -k 2 --out " +
                     dir_ / "cat/titles.csv",
                 "--out " + dir_ / "cat/titles.csv" + " is inside the catalogue folder " + dir_ / "cat");
  expect_refused("score --model tags" + cat() + " --events " + dir_ / "events.csv" + " -k 2 --out " +
                     dir_ / "cat/recs.csv",
                 "is inside the catalogue folder");
  EXPECT_FALSE(fs::exists(dir_ / "cat/recs.csv"));
  EXPECT_FALSE(fs::exists(dir_ / "cat/recs.csv.rejects.csv"));
  expect_refused("similar" + cat() + " --title a --out " + dir_ / "cat/similar.csv", "is inside the catalogue folder");
  expect_refused("eval-recs" + cat() + " --events " + dir_ / "events.csv" + " --no-tune --out " + dir_ / "cat/e.json",
                 "is inside the catalogue folder");
}

TEST_F(HardeningPaths, EveryOutputFlagAndSideFileIsChecked) {
  // --rejects onto the events; score's default side files onto an input; two outputs onto one file.
  expect_refused("score --model tags" + cat() + " --events " + dir_ / "events.csv" + " -k 2 --out " +
                     dir_ / "r.csv --rejects " + dir_ / "events.csv",
                 "--rejects " + dir_ / "events.csv" + " is the input --events");
  write_text(dir_ / "r.csv.unscored.csv", "user_id,reason\n");
  expect_refused("score --model tags" + cat() + " --profiles " + dir_ / "r.csv.unscored.csv" + " -k 2 --out " +
                     dir_ / "r.csv",
                 "--out (its unscored file)");
  expect_refused("score --model tags" + cat() + " --events " + dir_ / "events.csv" + " -k 2 --out " + dir_ / "r.csv" +
                     " --rejects " + dir_ / "r.csv",
                 "are the same file");
  // train --out replaces a whole folder: one holding an input is refused.
  expect_refused("train" + cat() + " --events " + dir_ / "events.csv" + " --out " + dir_.path(),
                 "would replace a folder that holds the input");
  // segment writes <stem>.json beside --out: here the stem's .json is the profiles read.
  fs::copy_file(dir_ / "p.bin", dir_ / "seg.json");
  expect_refused("segment" + cat() + " --profiles " + dir_ / "seg.json" + " --k 2 --out " + dir_ / "seg.csv",
                 "--out (its .json file) " + dir_ / "seg.json" + " is the input --profiles");
}

// ---- 9: ids that are not UTF-8 -------------------------------------------------------------------

TEST(HardeningUtf8, InvalidUtf8IsFoundWhereverItIs) {
  EXPECT_EQ(invalid_utf8_at("plain ascii"), std::string_view::npos);
  EXPECT_EQ(invalid_utf8_at("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAC"), std::string_view::npos);  // é € 🎬
  EXPECT_EQ(invalid_utf8_at("ab\xFF"), 2u);
  EXPECT_EQ(invalid_utf8_at("\xC3"), 0u);                  // cut short
  EXPECT_EQ(invalid_utf8_at("x\xC0\xAF"), 1u);             // overlong '/'
  EXPECT_EQ(invalid_utf8_at("\xE0\x80\xAF"), 0u);          // overlong, 3 bytes
  EXPECT_EQ(invalid_utf8_at("\xED\xA0\x80"), 0u);          // a surrogate
  EXPECT_EQ(invalid_utf8_at("\xF4\x90\x80\x80"), 0u);      // above U+10FFFF
  EXPECT_EQ(invalid_utf8_at("\xE2\x82"), 0u);
}

TEST(HardeningUtf8, NonUtf8IdsAreRejectedAtReadTimeAndJsonOutputSurvives) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events() + "2026-01-07T20:00:00Z,u\xFF\xFE,d,play,0,\n");  // line 8
  const auto r = run_marquee("score --model tags --format jsonl --catalog " + dir / "cat" + " --events " +
                             dir / "events.csv" + " -k 2 --out " + dir / "recs.jsonl");
  // Before: exit 1 after the whole run, "[json.exception.type_error.316]" and no file:line.
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "events.csv:8: rejected: user_id is not valid UTF-8 (byte 0xff at offset 1)")) << r.out;
  EXPECT_EQ(reject_rows(dir / "recs.jsonl.rejects.csv").size(), 1u);
  EXPECT_EQ(lines(read_text(dir / "recs.jsonl")).size(), 3u * 2);
  EXPECT_FALSE(contains(r.out, "json.exception"));
}

TEST(HardeningUtf8, CatalogueNamesAndIdsAreCheckedToo) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "cat/titles.csv", "title_id,name,duration_s\na,Alpha,3600\nb,B\xE9ta,3000\nc,Gamma,1800\n"
                                     "d,Delta,5400\ne,Epsilon,2400\n");
  RejectLog rejects(dir / "rejects.csv", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  rejects.finish();
  EXPECT_EQ(c.num_titles(), 4u);
  const auto rows = reject_rows(dir / "rejects.csv");
  ASSERT_EQ(rows.size(), 3u);  // b's row, and b's two rows in title_tags (now an unknown title)
  EXPECT_TRUE(contains(rows[0], "titles.csv,3,name is not valid UTF-8 (byte 0xe9 at offset 1)")) << rows[0];
}

// ---- 10: counts bounded by what they count -------------------------------------------------------

TEST(HardeningSegments, AStraySegmentNumberIsRefusedNotAllocated) {
  TempDir dir;
  std::string rows = "user_id,segment\n";
  for (int u = 0; u < 12; ++u) rows += "u" + std::to_string(u) + "," + std::to_string(u % 3) + "\n";
  write_text(dir / "ok.csv", rows);
  EXPECT_EQ(SegmentsReader(dir / "ok.csv").segments(), 3u);
  write_text(dir / "stray.csv", rows + "uZ,1048575\n");  // line 14
  try {
    SegmentsReader reader(dir / "stray.csv");
    FAIL() << "accepted " << reader.segments() << " segments";  // before: 1048576, 3.9 GB in `project`
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "stray.csv:14: segment 1048575 of user 'uZ' is out of range: the file assigns "
                                   "13 users"))
        << e.what();
  }
  write_text(dir / "huge.csv", rows + "uY,2000000000\n");
  EXPECT_THROW(SegmentsReader(dir / "huge.csv"), InputError);
}

// ---- 11: unchecked numbers -----------------------------------------------------------------------

TEST(HardeningNumbers, NonFiniteAndOutOfRangeFlagsAreUsageErrors) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events());
  const std::string base = "score --catalog " + dir / "cat" + " --events " + dir / "events.csv" + " -k 2 --out " +
                           dir / "recs.csv ";
  // Before: 0 rows, "12 users scored", exit 0 (and --threads 100000 crashed in the OpenMP runtime).
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--model hybrid --hybrid-tags nan", "--hybrid-tags: must be a finite number; got nan"},
      {"--model hybrid --hybrid-tags inf", "--hybrid-tags: must be a finite number"},
      {"--model hybrid --hybrid-tags -1", "--hybrid-tags: must be between 0 and 1e+06; got -1"},
      {"--model hybrid --hybrid-popularity nan", "--hybrid-popularity: must be a finite number"},
      {"--model tags --half-life-days nan", "--half-life-days: must be a finite number"},
      {"--model tags --half-life-days inf", "--half-life-days: must be a finite number"},
      {"--model tags --half-life-days 1e9", "--half-life-days: must be between 0 and 36500"},
      {"--model tags --threads 100000", "--threads: Value 100000 not in range 0 to 1024"},
      {"--model tags --threads -1", "--threads"},
      {"--model behaviour --alpha nan", "--alpha: must be a finite number"},
      {"--model tags --max-reject-rate 1.5", "--max-reject-rate: must be between 0 and 1"},
  };
  for (const auto& [flags, message] : cases) {
    const auto r = run_marquee(base + flags);
    EXPECT_EQ(r.exit_code, 2) << flags << ": " << r.out;
    EXPECT_TRUE(contains(r.out, message)) << flags << ": " << r.out;
    EXPECT_FALSE(fs::exists(dir / "recs.csv")) << flags;
  }
  auto r = run_marquee(base + "--model tags --threads 2 --half-life-days 30");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run_marquee("train --catalog " + dir / "cat" + " --events " + dir / "events.csv" + " --out " + dir / "m" +
                  " --threads 5000");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST(HardeningNumbers, ADaypartWeightThatSwampsEveryScoreIsRefused) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  RejectLog rejects("", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  std::string hours = "[0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3,5,2,0,0]";
  auto model = [&](const std::string& weight) {
    return "{\"format\": \"marquee-daypart-1\", \"model\": \"tags\", \"als\": {\"factors\": 32, \"iterations\": 12, "
           "\"regularization\": 20, \"alpha\": 5}, \"hybrid\": {\"tags\": 1, \"popularity\": 10}, \"half_life_days\": 0, "
           "\"weight\": " + weight + ", \"prior_plays\": 20, \"plays\": {\"a\": " + hours + ", \"b\": " + hours + "}}";
  };
  write_text(dir / "ok.json", model("0.25"));
  EXPECT_NO_THROW(load_daypart_model(dir / "ok.json", c));
  write_text(dir / "big.json", model("1e308"));
  try {
    load_daypart_model(dir / "big.json", c);
    FAIL() << "a weight of 1e308 was accepted (every score becomes inf)";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), dir / "big.json" + ": weight 1e+308 is not a number in [0, 1e+06]")) << e.what();
  }
}

TEST(HardeningNumbers, ATagWeightTooSmallToStoreIsRejectedNotStoredAsZero) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "cat/title_tags.csv", "title_id,tag,weight\na,comedy,1\nb,drama,1e-50\nb,dark,0.8\nc,comedy,1e-6\n");
  RejectLog rejects(dir / "rejects.csv", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  rejects.finish();
  EXPECT_EQ(c.assignments().size(), 3u);
  const auto rows = reject_rows(dir / "rejects.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(contains(rows[0], ",3,weight too small '1e-50': below 1e-06")) << rows[0];
  RejectLog strict("", true);
  EXPECT_THROW(load_catalog(dir / "cat", strict), InputError);  // before: accepted and stored as 0 under --strict
}

// ---- 12: the smaller items ---------------------------------------------------------------------

TEST(HardeningEvents, AnExactDuplicateIsRejectedEvenWhenNotAdjacent) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", kHeader +
                                     "1767225600,u1,a,play,0,\n"      // 2
                                     "1767225600,u1,a,pause,0,\n"     // 3
                                     "1767225600,u1,a,play,0,\n"      // 4: the same play as line 2
                                     "1767225600,u1,a,pause,0,\n"     // 5: the same pause as line 3
                                     "1767225601,u1,a,play,0,\n"      // 6: another second, kept
                                     "1767229200,u1,a,complete,3600,\n");
  RejectLog rejects(dir / "rejects.csv", false);
  Workspace ws = open_catalog(dir / "cat", rejects);
  ProfileBuildStats stats;
  build_profiles_from_file(ws.catalog, ws.titles, dir / "events.csv", {}, rejects, nullptr, &stats);
  rejects.finish();
  EXPECT_EQ(stats.events_used, 4u);
  const auto rows = reject_rows(dir / "rejects.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(contains(rows[0], ",4,duplicate event (same as line 2)")) << rows[0];
  EXPECT_TRUE(contains(rows[1], ",5,duplicate event (same as line 3)")) << rows[1];
}

TEST(HardeningTimestamps, OffsetsAndCutShortTimesAreRejected) {
  Timestamp t;
  for (const char* bad :
       {"2026-01-01T10:00:00+99:99", "2026-01-01T10:00:00.5+99:99", "2026-01-01T10:00:00+05", "2026-01-01T10:00:00-0",
        "2026-01-01T10:00:00+14:01", "2026-01-01T10:00:00+05:60", "2026-01-08T00", "2026-01-08T00:00",
        "2026-01-08T00:00:0", "2026-01-01T10:00:00.", "2026-01-01T10:00:00.5junk", "2026-01-01T10:00:00 +01:00",
        "2026-01-01T+1:00:00", "inf", "nan", "1e300", "-0.5"})
    EXPECT_FALSE(parse_timestamp(bad, t)) << bad;
  ASSERT_TRUE(parse_timestamp("2026-01-01T10:00:00+14:00", t));
  EXPECT_EQ(t.local_hour, 10);
  ASSERT_TRUE(parse_timestamp("2026-01-01T10:00:00.123456789-12:00", t));
  EXPECT_EQ(t.epoch, 1767225600 + 22 * 3600);
  ASSERT_TRUE(parse_timestamp("2026-01-01 10:00:00.5Z", t));
  EXPECT_EQ(t.epoch, 1767225600 + 10 * 3600);
}

TEST(HardeningTimestamps, StrictFailsOnABadOffset) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events() + "2026-01-07T20:00:00+05,u4,d,play,0,\n");
  const auto r = run_marquee("profile --strict --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                             " --out " + dir / "p.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "events.csv:8: unparseable timestamp '2026-01-07T20:00:00+05'")) << r.out;
}

TEST(HardeningFiles, ADuplicatedHeaderColumnIsAnError) {
  TempDir dir;
  write_text(dir / "e.csv", "ts,user_id,title_id,event,position_s,user_id\n1767225600,u1,a,play,0,u2\n");
  try {
    RecordReader reader(dir / "e.csv", {"ts", "user_id", "title_id", "event", "position_s"});
    FAIL() << "a header with user_id twice was accepted (the last one silently won)";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "e.csv:1: column 'user_id' appears twice in the header (columns 2 and 6)"))
        << e.what();
  }
  // A repeated column that is not asked for is only ignored.
  write_text(dir / "f.csv", "tag,category,note,note\nx,genre,,\n");
  EXPECT_NO_THROW(RecordReader(dir / "f.csv", {"tag", "category"}));
}

TEST(HardeningFiles, ADirectoryInPlaceOfACatalogueFileIsNamed) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  fs::remove(dir / "cat/tags.csv");
  fs::create_directories(dir / "cat/tags.csv");
  const auto r = run_marquee("similar --catalog " + dir / "cat" + " --title a");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  // Before: "has no usable tags".
  EXPECT_TRUE(contains(r.out, "cannot read " + dir / "cat/tags.csv" + ": it is a directory, not a file")) << r.out;
}

TEST(HardeningFiles, ADaypartFileWithANumericFormatIsAnInputErrorNamingIt) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events());
  write_text(dir / "dp.json", "{\"format\": 1}");
  const auto r = run_marquee("score --model tags --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                             " -k 2 --out " + dir / "recs.csv --daypart " + dir / "dp.json --hour 20");
  EXPECT_EQ(r.exit_code, 3) << r.out;  // before: exit 1, "[json.exception.type_error.302]", no file named
  EXPECT_TRUE(contains(r.out, dir / "dp.json" + ": not a daypart model")) << r.out;
}

TEST(HardeningFiles, ANonFiniteVectorReachingKMeansIsAnInputError) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events());
  RejectLog rejects("", true);
  Workspace ws = open_catalog(dir / "cat", rejects);
  UserProfiles p = build_profiles_from_file(ws.catalog, ws.titles, dir / "events.csv", {}, rejects, nullptr, nullptr);
  p.vectors[1 * p.dim] = std::nanf("");  // u2
  write_profiles(dir / "p.bin", p, ws.catalog.num_titles(), ws.catalog.fingerprint());
  const auto r = run_marquee("segment --catalog " + dir / "cat" + " --profiles " + dir / "p.bin" + " --k 2 --backend cpu --out " +
                             dir / "seg.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;  // before: 2, a usage error, for a damaged file
  EXPECT_TRUE(contains(r.out, "user 'u2'") && contains(r.out, "non-finite")) << r.out;
}

// Part of item 8: a profiles file's values are checked as they are read.
TEST(HardeningFiles, DamagedProfilesFilesAreInputErrorsNamingTheUser) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events());
  RejectLog rejects("", true);
  Workspace ws = open_catalog(dir / "cat", rejects);
  const UserProfiles good =
      build_profiles_from_file(ws.catalog, ws.titles, dir / "events.csv", {}, rejects, nullptr, nullptr);
  const std::string score = "score --model tags --catalog " + dir / "cat" + " -k 2 --out " + dir / "recs.csv --profiles ";

  UserProfiles p = good;
  p.vectors[2 * p.dim + 1] = std::nanf("");  // u3: before, silently dropped (no rows, not in unscored.csv)
  write_profiles(dir / "nan.bin", p, ws.catalog.num_titles(), ws.catalog.fingerprint());
  auto r = run_marquee(score + dir / "nan.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "nan.bin: user 'u3' (row 2) has a non-finite vector value (nan in dimension 1)")) << r.out;

  p = good;
  p.vectors[0] = INFINITY;  // before: scores "inf"
  write_profiles(dir / "inf.bin", p, ws.catalog.num_titles(), ws.catalog.fingerprint());
  r = run_marquee(score + dir / "inf.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "user 'u1' (row 0) has a non-finite vector value")) << r.out;

  p = good;
  p.user_ids[1] = "u\xC0";
  write_profiles(dir / "utf.bin", p, ws.catalog.num_titles(), ws.catalog.fingerprint());
  r = run_marquee("score --model tags --format jsonl --catalog " + dir / "cat" + " -k 2 --out " + dir / "recs.jsonl --profiles " + dir / "utf.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;  // before: exit 1, "[json.exception.type_error.316]" after the whole run
  EXPECT_TRUE(contains(r.out, "utf.bin: user 1 has an id that is not valid UTF-8")) << r.out;

  // A corrupt id offset: the last user's end, so large that the ids section's offset plus it wraps
  // around to a small number. Before: "basic_string::_M_create", exit 1.
  write_profiles(dir / "ids.bin", good, ws.catalog.num_titles(), ws.catalog.fingerprint());
  {
    std::string bytes = read_text(dir / "ids.bin");
    const size_t n = good.size();
    const uint64_t off_ids = bytes.size() - (2 + 2 + 2);  // the ids are "u1" "u2" "u3", at the end
    const size_t id_offsets = off_ids - (n + 1) * 8;
    const uint64_t bad = uint64_t(0) - off_ids + 3;
    std::memcpy(&bytes[id_offsets + n * 8], &bad, 8);
    write_text(dir / "ids.bin", bytes);
  }
  // Refused when the file is opened, by the section's checksum (format version 2), before any
  // offset is used.
  r = run_marquee(score + dir / "ids.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "ids.bin: the id_offsets section fails its checksum")) << r.out;
  r = run_marquee("explain --catalog " + dir / "cat" + " --profiles " + dir / "ids.bin" + " --user u3 --title a");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "ids.bin: the id_offsets section fails its checksum")) << r.out;
}

// Item 8: every bit flip is refused when the file is opened (format version 2: a CRC-32 per section
// and one over the header). Before: 24 of 30 random flips went unnoticed and 9 changed
// recommendations. Seeded; 200 flips over the whole file, each in a fresh copy.
TEST(HardeningFiles, EveryBitFlipInAProfilesFileIsRefusedNamingTheSection) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events());
  RejectLog rejects("", true);
  Workspace ws = open_catalog(dir / "cat", rejects);
  const UserProfiles good =
      build_profiles_from_file(ws.catalog, ws.titles, dir / "events.csv", {}, rejects, nullptr, nullptr);
  write_profiles(dir / "good.bin", good, ws.catalog.num_titles(), ws.catalog.fingerprint());
  const std::string bytes = read_text(dir / "good.bin");
  EXPECT_NO_THROW(ProfileReader(dir / "good.bin"));
  std::mt19937_64 rng(8);
  std::map<std::string, size_t> refused_by;
  for (int i = 0; i < 200; ++i) {
    std::string bad = bytes;
    const size_t at = (i < 6 ? size_t(i) * 23 : rng() % bad.size());  // the header's fields too
    bad[at] = char(bad[at] ^ (1 << (rng() % 8)));
    write_text(dir / "bad.bin", bad);
    try {
      ProfileReader r(dir / "bad.bin");
      ADD_FAILURE() << "a flip at byte " << at << " of " << bad.size() << " was not noticed";
    } catch (const InputError& e) {
      const std::string what = e.what();
      const size_t s = what.find("the "), f = what.find(" fails its checksum");
      refused_by[s != std::string::npos && f != std::string::npos && s < f ? what.substr(s + 4, f - s - 4)
                                                                        : what.substr(0, 40)]++;
    }
  }
  // Every section was hit and named (the summaries are most of this small file's bytes).
  for (const char* section : {"header", "vectors section", "seen section", "summaries section", "ids section"})
    EXPECT_GT(refused_by[section], 0u) << section;

  // A version 1 file (no checksums) is refused with what to do.
  std::string v1 = bytes;
  const uint32_t one = 1;
  std::memcpy(&v1[8], &one, 4);
  write_text(dir / "v1.bin", v1);
  const auto r = run_marquee("score --model tags --catalog " + dir / "cat" + " -k 2 --out " + dir / "r.csv --profiles " +
                             dir / "v1.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_TRUE(contains(r.out, "has profiles format version 1; this build reads version 2: rebuild it with `marquee "
                              "profile`"))
      << r.out;
}

// Found by tests/fuzz/fuzz_npy: a shape whose element count overflows wrapped to a size that matched
// the data (none), so a 2^62-element array was "read" (std::length_error, exit 1) or a 2^64-element
// one accepted empty. Now an InputError naming the file; a well-formed array still reads.
TEST(HardeningFiles, NpyShapesPastTheFileSizeAreInputErrors) {
  auto npy = [](const std::string& shape, const std::string& data) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::string b = std::string("\x93NUMPY\x01\x00", 8);
    b += char(dict.size() & 0xff);
    b += char(dict.size() >> 8);
    return b + dict + data;
  };
  std::vector<size_t> shape;
  std::vector<float> values;
  for (const char* bad : {"2147483648, 2147483648", "65536, 65536, 65536, 65536", "100000000000000,"}) {
    try {
      parse_npy_float32(npy(bad, ""), "w.npy", shape, values);
      ADD_FAILURE() << "shape (" << bad << ") was accepted";
    } catch (const InputError& e) {
      EXPECT_TRUE(contains(e.what(), "w.npy: .npy shape")) << e.what();
    }
  }
  const float two[2] = {1.5f, -2.0f};
  parse_npy_float32(npy("1, 2", std::string(reinterpret_cast<const char*>(two), 8)), "ok.npy", shape, values);
  EXPECT_EQ(shape, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(values, (std::vector<float>{1.5f, -2.0f}));
  parse_npy_float32(npy("0, 3", ""), "empty.npy", shape, values);
  EXPECT_TRUE(values.empty());
  // A zero after large dimensions is still an empty array (a first version of the check refused it).
  parse_npy_float32(npy("5, 8, 0, 0, 0", ""), "empty5.npy", shape, values);
  EXPECT_EQ(shape, (std::vector<size_t>{5, 8, 0, 0, 0}));
  EXPECT_TRUE(values.empty());
  EXPECT_THROW(parse_npy_float32(npy("4611686018427, 4611686018427, 0", ""), "absurd.npy", shape, values), InputError);
}

TEST(HardeningFiles, StaleTemporaryFilesOfKilledRunsAreRemoved) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events());
  const pid_t dead = dead_pid();
  const std::string stale = dir / ("recs.csv.tmp." + std::to_string(dead));
  const std::string stale_rejects = dir / ("recs.csv.rejects.csv.tmp." + std::to_string(dead));
  const std::string live = dir / ("recs.csv.tmp." + std::to_string(getpid()));  // a running process: kept
  const std::string other = dir / ("other.csv.tmp." + std::to_string(dead));      // another output: kept
  const std::string odd = dir / "recs.csv.tmp.notapid";
  for (const auto& f : {stale, stale_rejects, live, other, odd}) write_text(f, "partial");
  fs::create_directories(dir / ("model.tmp." + std::to_string(dead)));  // a killed train's folder
  write_text(dir / ("model.tmp." + std::to_string(dead)) + "/manifest.json", "{}");

  const auto r = run_marquee("score --model tags --catalog " + dir / "cat" + " --events " + dir / "events.csv" +
                             " -k 2 --out " + dir / "recs.csv");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(stale)) << r.out;
  EXPECT_FALSE(fs::exists(stale_rejects));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_TRUE(fs::exists(odd));
  EXPECT_TRUE(contains(r.out, "left by a run (pid " + std::to_string(dead) + ") that no longer exists")) << r.out;

  EXPECT_EQ(remove_stale_temps(dir / "model"), 1u);
  EXPECT_FALSE(fs::exists(dir / ("model.tmp." + std::to_string(dead))));
}

TEST(HardeningRejectRate, AFileMostlyRejectedFailsTheRun) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  std::string events = good_events();
  for (int i = 0; i < 10; ++i) events += "2026-01-07T20:00:00Z,u9,nope" + std::to_string(i) + ",play,0,\n";
  write_text(dir / "events.csv", events);  // 16 rows, 10 rejected
  const std::string base = "score --model tags --catalog " + dir / "cat" + " --events " + dir / "events.csv" + " -k 2";
  auto r = run_marquee(base + " --out " + dir / "recs.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;  // before: exit 0
  EXPECT_TRUE(contains(r.out, "events.csv: 10 of 16 rows rejected (62.5 %), more than --max-reject-rate 0.5 allows "
                              "(10 unknown title_id)"))
      << r.out;
  EXPECT_FALSE(fs::exists(dir / "recs.csv"));
  EXPECT_EQ(reject_rows(dir / "recs.csv.rejects.csv").size(), 10u);  // kept for the operator

  r = run_marquee(base + " --out " + dir / "recs2.csv --max-reject-rate 0.7");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(lines(read_text(dir / "recs2.csv")).size(), 1u + 3 * 2);
  r = run_marquee(base + " --out " + dir / "recs3.csv --max-reject-rate 0.6");
  EXPECT_EQ(r.exit_code, 3) << r.out;
}

TEST(HardeningRejectRate, ZeroAllowsNoRejectAndTheLibraryDefaultIsNoLimit) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", good_events() + "garbage,u1,a,play,0,\n");
  RejectLog unlimited("", false);
  Workspace ws = open_catalog(dir / "cat", unlimited);
  EXPECT_NO_THROW(load_events(dir / "events.csv", ws.catalog, unlimited));
  RejectLog none("", false, 0.0);
  EXPECT_THROW(load_events(dir / "events.csv", ws.catalog, none), InputError);
  EXPECT_THROW(RejectLog("", false, 1.5), ArgumentError);
}
