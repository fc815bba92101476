// Catalogue and event loading: every bad row rejected with file:line and reason, nothing valid
// lost, --strict failing; the profiles file round trip and its corruption checks.
#include "engine/error.h"
#include "host/io/catalog_io.h"
#include "host/io/events_io.h"
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"
#include "host/jobs/workspace.h"
#include "test_util.h"

#include <map>

using namespace marquee;
using namespace marquee::test;

TEST(CatalogLoader, LoadsAValidCatalogue) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  RejectLog rejects("", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  EXPECT_EQ(rejects.count(), 0u);
  EXPECT_EQ(c.num_titles(), 5u);
  EXPECT_EQ(c.num_tags(), 4u);
  EXPECT_EQ(c.assignments().size(), 11u);
  EXPECT_EQ(c.title(0).name, "Alpha, the movie");
  EXPECT_EQ(c.title(1).release_year, 0);
  EXPECT_EQ(c.title(2).release_year, 1999);
}

TEST(CatalogLoader, BadRowsAreRejectedWithFileLineAndReason) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "cat/titles.csv",
             "title_id,name,duration_s,release_year\na,A,3600,2001\na,Again,100,\nb,B,-5,\nc,C,abc,\nd,D,100,19x\ne,E,60,\n");
  write_text(dir / "cat/title_tags.csv",
             "title_id,tag,weight\na,comedy,1\nzz,comedy,1\na,nosuch,1\ne,drama,0\ne,drama,1.5\ne,dark,0.5\ne,dark,0.4\n");
  RejectLog rejects(dir / "rejects.csv", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  rejects.finish();
  EXPECT_EQ(c.num_titles(), 2u);  // a and e survive
  EXPECT_EQ(c.assignments().size(), 2u);
  EXPECT_EQ(rejects.count(), 9u);
  const auto rows = lines(read_text(dir / "rejects.csv"));
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows[0], "file,line,reason,row");
  const std::string titles = dir / "cat/titles.csv", tt = dir / "cat/title_tags.csv";
  EXPECT_EQ(rows[1], titles + ",3,duplicate title_id 'a',\"a,Again,100,\"");
  EXPECT_EQ(rows[2], titles + ",4,duration_s must be a number > 0; got '-5',\"b,B,-5,\"");
  EXPECT_NE(rows[4].find(",6,release_year must be a year"), std::string::npos);
  EXPECT_EQ(rows[5], tt + ",3,unknown title_id 'zz',\"zz,comedy,1\"");
  EXPECT_NE(rows[6].find(",4,unknown tag 'nosuch' (not in tags)"), std::string::npos);
  EXPECT_NE(rows[7].find(",5,\"weight must be in (0, 1]; got '0'\""), std::string::npos);
  EXPECT_NE(rows[8].find(",6,\"weight must be in (0, 1]; got '1.5'\""), std::string::npos);
  EXPECT_NE(rows[9].find(",8,duplicate tag 'dark' for title 'e'"), std::string::npos);
  EXPECT_NE(rejects.summary().find("9 rows rejected"), std::string::npos);
}

TEST(CatalogLoader, StrictFailsOnTheFirstBadRow) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "cat/tags.csv", "tag,category\ncomedy,genre\ncomedy,mood\n");
  RejectLog rejects("", true);
  try {
    load_catalog(dir / "cat", rejects);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tags.csv:3: duplicate tag 'comedy'"), std::string::npos) << e.what();
  }
}

TEST(CatalogLoader, EmptyOrMissingTablesAreClearErrors) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "cat/tags.csv", "");
  RejectLog rejects("", false);
  try {
    load_catalog(dir / "cat", rejects);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has no usable tags"), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir / "cat/titles.csv");
  EXPECT_THROW(load_catalog(dir / "cat", rejects), InputError);
  EXPECT_THROW(load_catalog(dir / "nope", rejects), InputError);
}

TEST(CatalogLoader, AcceptsJsonLines) {
  TempDir dir;
  write_text(dir / "cat/tags.jsonl", "{\"tag\":\"comedy\",\"category\":\"genre\"}\n");
  write_text(dir / "cat/titles.jsonl", "{\"title_id\":\"a\",\"name\":\"A\",\"duration_s\":3600}\n");
  write_text(dir / "cat/title_tags.jsonl", "{\"title_id\":\"a\",\"tag\":\"comedy\",\"weight\":0.5}\n");
  RejectLog rejects("", false);
  const Catalog c = load_catalog(dir / "cat", rejects);
  EXPECT_EQ(c.num_titles(), 1u);
  EXPECT_DOUBLE_EQ(c.title(0).duration_s, 3600);
  EXPECT_FLOAT_EQ(c.assignments()[0].weight, 0.5f);
}

TEST(EventLoader, EveryKindOfBadRowIsRejectedAndGoodRowsKept) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv",
             "ts,user_id,title_id,event,position_s,seek_to_s\n"
             "2026-01-01T20:00:00+01:00,u1,a,play,0,\n"             // 2 ok
             "not-a-time,u1,a,pause,10,\n"                          // 3
             "1767225600,u1,zz,play,0,\n"                           // 4
             "1767225600,u1,a,rewind,0,\n"                          // 5
             "1767225600,u1,a,pause,-3,\n"                          // 6
             "1767225600,u1,a,pause,99999,\n"                       // 7 beyond 3600 s
             "1767225600,u1,a,seek,100,\n"                          // 8 no target
             "1767225600,u1,a,seek,100,abc\n"                       // 9
             "1767225600,,a,play,0,\n"                              // 10 no user
             "1767225600,u1,a,play\n"                               // 11 short row
             "1767229200,u2,b,play,0,\n"                            // 12 ok
             "1767229200,u2,b,play,0,\n"                            // 13 duplicate of 12
             "1767229300,u2,b,seek,100,50\n");                      // 14 ok
  RejectLog rejects(dir / "rejects.csv", false);
  Workspace ws = open_catalog(dir / "cat", rejects);
  LoadedEvents ev = load_events(dir / "events.csv", ws.catalog, rejects);
  EXPECT_EQ(ev.rows, 13u);
  EXPECT_EQ(ev.events.size(), 4u);
  EXPECT_EQ(ev.user_ids, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(ev.events[0].local_hour, 20);
  ProfileBuildStats stats;
  build_profiles(ws.catalog, ws.titles, ev.events, ev.user_ids, {}, &stats);
  reject_duplicates(dir / "events.csv", stats.duplicates, rejects);
  rejects.finish();
  EXPECT_EQ(stats.events_used, 3u);
  RecordReader reader(dir / "rejects.csv", {"file", "line", "reason"}, {"row"});
  std::vector<std::string> reasons;
  Record r;
  while (reader.next(r)) {
    EXPECT_EQ(r.fields[0], dir / "events.csv");
    reasons.push_back(r.fields[1] + ":" + r.fields[2]);
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{
                         "3:unparseable timestamp 'not-a-time'", "4:unknown title_id 'zz'",
                         "5:unknown event type 'rewind' (expected play, pause, resume, seek, stop, complete)", "6:position_s must be a number >= 0; got '-3'",
                         "7:impossible position '99999': beyond the title's duration of 3600 s",
                         "8:seek event without seek_to_s", "9:impossible seek target 'abc'",
                         "10:missing value for 'user_id'", "11:expected 6 fields, found 4", "13:duplicate event (same as line 12)"}));
  EXPECT_EQ(rejects.count(), 10u);
}

// The parallel reader against the obvious serial loop (RecordReader::next, parse_event, a map of
// first appearances): same events, users, rows, and a byte-identical rejects file, for batches so
// small that bad rows, blank lines and duplicates fall on every batch boundary.
TEST(EventLoader, ParallelBatchesReadAsOneSerialPass) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  std::string text = "ts,user_id,title_id,event,position_s,seek_to_s\n";
  const char* titles[] = {"a", "b", "c", "d", "e"};
  const char* types[] = {"play", "pause", "resume", "stop", "complete"};
  for (int i = 0; i < 1500; ++i) {
    const std::string user = "u" + std::to_string((i * 7919) % 113);
    const std::string ts = std::to_string(1767225600 + (i % 50) * 60);
    switch (i % 17) {
      case 3: text += "not-a-time," + user + ",a,play,0,\n"; break;
      case 5: text += ts + "," + user + ",zz,play,0,\n"; break;
      case 8: text += ts + "," + user + ",a,play\n"; break;      // short row
      case 11: text += "\n"; break;                               // blank: skipped, still a line
      case 13: text += ts + ",\"" + user + ",a,play,0,\n"; break;  // unbalanced quote
      case 15: text += ts + "," + user + ",b,seek,10,20\n"; break;
      default:
        text += ts + "," + user + "," + titles[i % 5] + "," + types[i % 5] + "," + std::to_string(i % 7 * 100) + ",\n";
    }
    if (i % 29 == 0) text += ts + "," + user + ",c,play,0,\n" + ts + "," + user + ",c,play,0,\n";  // duplicates
  }
  write_text(dir / "events.csv", text);
  RejectLog catalog_rejects("", false);
  Workspace ws = open_catalog(dir / "cat", catalog_rejects);
  const int64_t as_of = 1767225600 + 86400;

  LoadedEvents want;
  {
    RejectLog rejects(dir / "want.csv", false);
    const EventTimeWindow window = event_time_window(as_of);
    const auto& cols = event_columns();
    RecordReader reader(dir / "events.csv", {cols.begin(), cols.begin() + 5}, {cols[5]});
    std::map<std::string, uint32_t> index;
    Record r;
    while (reader.next(r)) {
      ++want.rows;
      Event ev;
      const std::string reason =
          r.error.empty() ? parse_event(ws.catalog, {r.fields[0], r.fields[2], r.fields[3], r.fields[4], &r.fields[5]},
                                        ev, &window)
                          : r.error;
      if (!reason.empty()) {
        rejects.reject(dir / "events.csv", r.line, reason, r.raw);
        continue;
      }
      auto [it, inserted] = index.try_emplace(r.fields[1], uint32_t(want.user_ids.size()));
      if (inserted) want.user_ids.push_back(r.fields[1]);
      ev.user = it->second;
      ev.line = uint32_t(r.line);
      want.events.push_back(ev);
    }
    rejects.finish();
  }
  ASSERT_GT(want.events.size(), 1000u);
  ASSERT_GT(want.user_ids.size(), 100u);

  for (const EventReadOptions read : {EventReadOptions{1, 4}, EventReadOptions{3, 2}, EventReadOptions{64, 3},
                                      EventReadOptions{1 << 20, 1}}) {
    SCOPED_TRACE(::testing::Message() << "batch_lines " << read.batch_lines << ", threads " << read.threads);
    RejectLog rejects(dir / "got.csv", false);
    const LoadedEvents got = load_events(dir / "events.csv", ws.catalog, rejects, as_of, {}, read);
    rejects.finish();
    EXPECT_EQ(got.rows, want.rows);
    EXPECT_EQ(got.user_ids, want.user_ids);
    ASSERT_EQ(got.events.size(), want.events.size());
    for (size_t i = 0; i < want.events.size(); ++i) {
      const Event &g = got.events[i], &w = want.events[i];
      ASSERT_TRUE(g.ts == w.ts && g.user == w.user && g.title == w.title && g.position_s == w.position_s &&
                  g.seek_to_s == w.seek_to_s && g.line == w.line && g.type == w.type && g.local_hour == w.local_hour)
          << "event " << i << " (line " << w.line << ")";
    }
    EXPECT_EQ(read_text(dir / "got.csv"), read_text(dir / "want.csv"));
  }
  EXPECT_GT(lines(read_text(dir / "want.csv")).size(), 300u);
}

// Under --strict the first bad row in file order fails the read, whichever batch finishes first.
TEST(EventLoader, ParallelStrictReadFailsOnTheFirstBadRow) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  std::string text = "ts,user_id,title_id,event,position_s,seek_to_s\n";
  for (int i = 0; i < 400; ++i) text += "1767225600,u1,a,play," + std::to_string(i) + ",\n";
  text += "1767225600,u1,zz,play,0,\n";  // line 402
  for (int i = 0; i < 400; ++i) text += "1767225600,u1,nope,play,0,\n";
  write_text(dir / "events.csv", text);
  RejectLog catalog_rejects("", false);
  Workspace ws = open_catalog(dir / "cat", catalog_rejects);
  RejectLog rejects("", true);
  try {
    load_events(dir / "events.csv", ws.catalog, rejects, 1767225600, {}, EventReadOptions{5, 4});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(":402"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'zz'"), std::string::npos) << e.what();
  }
}

TEST(EventLoader, EmptyEventsFileGivesNoUsers) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv", "");
  RejectLog rejects("", false);
  Workspace ws = open_catalog(dir / "cat", rejects);
  const LoadedEvents ev = load_events(dir / "events.csv", ws.catalog, rejects);
  EXPECT_TRUE(ev.events.empty());
  EXPECT_EQ(rejects.count(), 0u);
}

TEST(ProfilesFile, RoundTripsAndReadsInBatches) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  write_text(dir / "events.csv",
             "ts,user_id,title_id,event,position_s,seek_to_s\n"
             "1767225600,u1,a,play,0,\n1767229200,u1,a,complete,3600,\n"
             "1767225600,u2,b,play,0,\n1767225700,u2,b,stop,100,\n1767225600,u2,c,play,0,\n"
             "1767227400,u2,c,complete,1800,\n1767225600,u3,e,play,0,\n");
  RejectLog rejects("", true);
  Workspace ws = open_catalog(dir / "cat", rejects);
  const UserProfiles p = build_profiles_from_file(ws.catalog, ws.titles, dir / "events.csv", {}, rejects, nullptr, nullptr);
  write_profiles(dir / "p.bin", p, ws.catalog.num_titles(), ws.catalog.fingerprint());
  ProfileReader reader(dir / "p.bin");
  EXPECT_EQ(reader.users(), 3u);
  EXPECT_NO_THROW(reader.check_catalog(ws.catalog.fingerprint(), 5, 4));
  EXPECT_THROW(reader.check_catalog(ws.catalog.fingerprint() + 1, 5, 4), InputError);
  const UserProfiles b = reader.read(1, 2);
  EXPECT_EQ(b.user_ids, (std::vector<std::string>{"u2", "u3"}));
  EXPECT_EQ(b.vectors, std::vector<float>(p.vectors.begin() + 4, p.vectors.end()));
  ASSERT_EQ(b.seen_offsets, (std::vector<uint64_t>{0, 2, 3}));
  EXPECT_EQ(b.seen[0].title, 1u);
  EXPECT_LT(b.seen[0].weight, 0);  // abandoned b
  EXPECT_EQ(b.seen[1].completed, 1);
  EXPECT_EQ(b.summaries[0].titles, 2u);
  EXPECT_EQ(reader.find_user("u3"), std::optional<size_t>(2));
  EXPECT_EQ(reader.find_user("nobody"), std::nullopt);
  EXPECT_THROW(reader.read(2, 2), ArgumentError);
}

TEST(ProfilesFile, CorruptOrForeignFilesAreClearErrors) {
  TempDir dir;
  write_text(dir / "junk.bin", "hello, not a profiles file at all, but long enough to have a header.................."
                               "........................................................................");
  EXPECT_THROW(ProfileReader(dir / "junk.bin"), InputError);
  UserProfiles p;
  p.dim = 2;
  p.user_ids = {"u"};
  p.vectors = {1, 0};
  p.seen_offsets = {0, 0};
  p.summaries.resize(1);
  write_profiles(dir / "p.bin", p, 3, 42);
  std::string bytes = read_text(dir / "p.bin");
  write_text(dir / "short.bin", bytes.substr(0, bytes.size() - 1));
  try {
    ProfileReader r(dir / "short.bin");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated or corrupt"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, NothingAppearsUntilCommitAndNoTempIsLeft) {
  TempDir dir;
  {
    AtomicFile f(dir / "out.csv");
    f.write("partial");
    EXPECT_FALSE(std::filesystem::exists(dir / "out.csv"));
  }  // destroyed without commit
  EXPECT_FALSE(std::filesystem::exists(dir / "out.csv"));
  write_file_atomically(dir / "out.csv", "whole\n");
  EXPECT_EQ(read_text(dir / "out.csv"), "whole\n");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}
