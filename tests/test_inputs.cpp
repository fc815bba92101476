// Inputs as pipelines produce them (issue #19): gzip/zstd compressed files told by their magic
// bytes, truncated and corrupt streams, other delimiters, and columns under the producer's names.
// The unit tests compress with zlib and libzstd here; the CLI tests compare the profiles built from
// the same events written plainly, compressed, tab-separated and renamed: byte for byte.
#include "engine/error.h"
#include "host/io/catalog_io.h"
#include "host/io/events_io.h"
#include "host/io/line_source.h"
#include "host/io/record_reader.h"
#include "host/io/results_io.h"
#include "test_util.h"

#include <zlib.h>
#ifdef MARQUEE_HAVE_ZSTD
#include <zstd.h>
#endif

#include <filesystem>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::test;
namespace fs = std::filesystem;

namespace {

std::string gzip_bytes(const std::string& text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, uLong(text.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = uInt(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

#ifdef MARQUEE_HAVE_ZSTD
std::string zstd_bytes(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}
#endif

std::vector<std::string> all_lines(const std::string& path) {
  LineSource in(path);
  std::vector<std::string> out;
  std::string line;
  while (in.getline(line)) out.push_back(line);
  return out;
}

// The message of the InputError that `f` throws ("" when it throws none).
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool is_printable_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c >= 0x7F) return false;
  return true;
}

// Many lines, so that compressed streams span several read buffers.
std::string numbered_lines(size_t n) {
  std::string text = "a,b\n";
  for (size_t i = 0; i < n; ++i) text += std::to_string(i) + ",row " + std::to_string(i * 7919 % 1000) + "\n";
  return text;
}

}  // namespace

TEST(LineSource, GzipAndZstdReadAsThePlainFileToldByMagicBytesNotNames) {
  TempDir dir;
  const std::string text = numbered_lines(200000) + "last line without newline";
  write_text(dir / "plain.csv", text);
  write_text(dir / "named_csv_but_gzip.csv", gzip_bytes(text));
  // Two gzip members one after the other (cat a.gz b.gz, pigz) are one text.
  write_text(dir / "two_members.gz", gzip_bytes(text.substr(0, 1000)) + gzip_bytes(text.substr(1000)));
  const auto plain = all_lines(dir / "plain.csv");
  ASSERT_EQ(plain.size(), 200002u);
  EXPECT_EQ(plain.back(), "last line without newline");
  EXPECT_EQ(all_lines(dir / "named_csv_but_gzip.csv"), plain);
  EXPECT_EQ(all_lines(dir / "two_members.gz"), plain);
  EXPECT_EQ(LineSource(dir / "named_csv_but_gzip.csv").compression(), Compression::Gzip);
#ifdef MARQUEE_HAVE_ZSTD
  write_text(dir / "z.zst", zstd_bytes(text));
  EXPECT_EQ(LineSource(dir / "z.zst").compression(), Compression::Zstd);
  EXPECT_EQ(all_lines(dir / "z.zst"), plain);
#endif
}

TEST(LineSource, TruncatedOrCorruptStreamsAreInputErrorsNamingTheFileAndLine) {
  TempDir dir;
  const std::string text = numbered_lines(50000);
  const std::string gz = gzip_bytes(text);
  write_text(dir / "cut.csv.gz", gz.substr(0, gz.size() / 2));
  const std::string cut = input_error([&] { all_lines(dir / "cut.csv.gz"); });
  EXPECT_NE(cut.find(dir / "cut.csv.gz: truncated gzip data"), std::string::npos) << cut;
  EXPECT_NE(cut.find("after line "), std::string::npos) << cut;
  EXPECT_TRUE(is_printable_ascii(cut)) << cut;

  std::string bad = gz;
  for (size_t i = 100; i < 140; ++i) bad[i] = char(bad[i] ^ 0x5A);
  write_text(dir / "bad.csv.gz", bad);
  const std::string corrupt = input_error([&] { all_lines(dir / "bad.csv.gz"); });
  EXPECT_NE(corrupt.find(dir / "bad.csv.gz: corrupt gzip data ("), std::string::npos) << corrupt;
  EXPECT_TRUE(is_printable_ascii(corrupt)) << corrupt;

  // Only the gzip header: ends before any data.
  write_text(dir / "header_only.gz", gz.substr(0, 10));
  EXPECT_NE(input_error([&] { all_lines(dir / "header_only.gz"); }).find("truncated gzip data"), std::string::npos);
#ifdef MARQUEE_HAVE_ZSTD
  const std::string zst = zstd_bytes(text);
  write_text(dir / "cut.zst", zst.substr(0, zst.size() - 7));
  const std::string zcut = input_error([&] { all_lines(dir / "cut.zst"); });
  EXPECT_NE(zcut.find("cut.zst: truncated zstd data"), std::string::npos) << zcut;
  std::string zbad = zst;
  for (size_t i = 20; i < 60; ++i) zbad[i] = char(zbad[i] ^ 0x33);
  write_text(dir / "bad.zst", zbad);
  const std::string zcorrupt = input_error([&] { all_lines(dir / "bad.zst"); });
  EXPECT_NE(zcorrupt.find("bad.zst: corrupt zstd data ("), std::string::npos) << zcorrupt;
  EXPECT_TRUE(is_printable_ascii(zcorrupt)) << zcorrupt;
#endif
}

#ifndef MARQUEE_HAVE_ZSTD
TEST(LineSource, ABuildWithoutZstdSaysSo) {
  TempDir dir;
  write_text(dir / "e.csv.zst", std::string("\x28\xB5\x2F\xFD\x20\x00", 6));
  const std::string msg = input_error([&] { LineSource s(dir / "e.csv.zst"); });
  EXPECT_NE(msg.find("e.csv.zst is zstd-compressed, and this build of Marquee lacks zstd"), std::string::npos) << msg;
}
#endif

TEST(LineSource, FormatsItCannotReadAreNamedNotPrintedAsAHeader) {
  TempDir dir;
  write_text(dir / "e.csv.xz", std::string("\xFD" "7zXZ\0\0\x04\xE6\xD6\xB4\x46", 12));
  EXPECT_NE(input_error([&] { LineSource s(dir / "e.csv.xz"); }).find("e.csv.xz is xz-compressed"), std::string::npos);
  write_text(dir / "e.csv.bz2", "BZh91AY&SY\x01\x02");
  EXPECT_NE(input_error([&] { LineSource s(dir / "e.csv.bz2"); }).find("is bzip2-compressed"), std::string::npos);
  write_text(dir / "e.parquet", std::string("PAR1\x15\x04\x15\x80\x01", 9));
  EXPECT_NE(input_error([&] { LineSource s(dir / "e.parquet"); }).find("is a Parquet file"), std::string::npos);
  // Bytes that are not text in a header: said so, and not echoed.
  write_text(dir / "bin.csv", std::string("\x01\x02\xff\xfe\x00ts,user\n1,2\n", 16));
  const std::string msg = input_error([&] { RecordReader r(dir / "bin.csv", {"ts"}); });
  EXPECT_NE(msg.find("bin.csv:1: not a text file (byte 0xff at offset 2"), std::string::npos) << msg;
  EXPECT_TRUE(is_printable_ascii(msg)) << msg;
}

TEST(RecordReader, CompressedJsonLinesAndTsvAreToldByTheNameBeforeTheCompressionSuffix) {
  TempDir dir;
  write_text(dir / "t.jsonl.gz", gzip_bytes("{\"a\": \"1\", \"b\": 2}\n{\"a\": \"x\"}\n"));
  RecordReader jl(dir / "t.jsonl.gz", {"a"}, {"b"});
  EXPECT_TRUE(jl.is_jsonl());
  EXPECT_EQ(jl.compression(), Compression::Gzip);
  Record r;
  ASSERT_TRUE(jl.next(r));
  EXPECT_EQ(r.fields, (std::vector<std::string>{"1", "2"}));
  ASSERT_TRUE(jl.next(r));
  EXPECT_EQ(r.line, 2u);

  write_text(dir / "t.tsv.gz", gzip_bytes("b\ta\n\"x, y\"\t1\n"));
  RecordReader tsv(dir / "t.tsv.gz", {"a", "b"});
  EXPECT_EQ(tsv.delimiter(), '\t');
  ASSERT_TRUE(tsv.next(r));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.fields, (std::vector<std::string>{"1", "x, y"}));

  TableLayout semi;
  semi.delimiter = ';';
  write_text(dir / "s.csv", "a;b\n1;2,5\n");
  RecordReader s(dir / "s.csv", {"a", "b"}, {}, semi);
  ASSERT_TRUE(s.next(r));
  EXPECT_EQ(r.fields, (std::vector<std::string>{"1", "2,5"}));
}

TEST(RecordReader, AHeaderWithTabsReadAsCommasSaysWhichDelimiterToGive) {
  TempDir dir;
  TableLayout layout;
  layout.delimiter_flag = "--delimiter";
  write_text(dir / "events.csv", "ts\tuser_id\ttitle_id\n1\t2\t3\n");
  const std::string msg = input_error([&] { RecordReader r(dir / "events.csv", {"ts", "user_id"}, {}, layout); });
  EXPECT_NE(msg.find("events.csv:1: no column 'ts' (found: ts\\tuser_id\\ttitle_id; the header has tabs but is read "
                     "with ',' as the delimiter: give --delimiter tab (or name the file .tsv))"),
            std::string::npos)
      << msg;
  EXPECT_TRUE(is_printable_ascii(msg)) << msg;
  // And the other way round: commas read as TSV.
  write_text(dir / "e.tsv", "ts,user_id\n1,2\n");
  const std::string back = input_error([&] { RecordReader r(dir / "e.tsv", {"ts"}, {}, layout); });
  EXPECT_NE(back.find("the header has ',' but is read with tab as the delimiter: give --delimiter comma"),
            std::string::npos)
      << back;
  // A reader without a delimiter flag suggests the name only.
  const std::string plain = input_error([&] { RecordReader r(dir / "events.csv", {"ts"}); });
  EXPECT_NE(plain.find("read with ',' as the delimiter: name the file .tsv)"), std::string::npos) << plain;
}

TEST(RecordReader, ColumnsAreReadUnderTheFilesNamesInCsvAndJsonLines) {
  TempDir dir;
  TableLayout layout;
  layout.columns = {{"ts", "timestamp"}, {"user_id", "member"}};
  layout.suggest_columns_flag = true;
  write_text(dir / "e.csv", "member,timestamp,ts\nm1,2024-01-01,ignored\n,2024-01-02,x\n");
  RecordReader csv(dir / "e.csv", {"ts", "user_id"}, {}, layout);
  EXPECT_EQ(csv.ignored_columns(), std::vector<std::string>{"ts"});
  Record r;
  ASSERT_TRUE(csv.next(r));
  EXPECT_EQ(r.fields, (std::vector<std::string>{"2024-01-01", "m1"}));
  ASSERT_TRUE(csv.next(r));
  EXPECT_EQ(r.error, "missing value for 'user_id' (column 'member')");

  write_text(dir / "e.jsonl", "{\"timestamp\": \"2024\", \"member\": 7}\n");
  RecordReader jl(dir / "e.jsonl", {"ts", "user_id"}, {}, layout);
  ASSERT_TRUE(jl.next(r));
  EXPECT_EQ(r.fields, (std::vector<std::string>{"2024", "7"}));

  // A mapped name that is not in the header: both names in the message.
  write_text(dir / "f.csv", "time,member\n1,2\n");
  const std::string msg = input_error([&] { RecordReader rr(dir / "f.csv", {"ts", "user_id"}, {}, layout); });
  EXPECT_NE(msg.find("f.csv:1: no column 'timestamp' (mapped to 'ts' by --columns) (found: time, member;"),
            std::string::npos)
      << msg;
  // Mapping a column the reader does not read is a mistake in the command line.
  TableLayout wrong;
  wrong.columns = {{"rating", "stars"}};
  EXPECT_THROW(RecordReader(dir / "e.csv", {"ts"}, {}, wrong), ArgumentError);
}

TEST(RecordReader, AMissingColumnSuggestsTheMappingFromTheHeader) {
  TempDir dir;
  TableLayout layout;
  layout.suggest_columns_flag = true;
  write_text(dir / "events.csv", "timestamp,member_id,content_id,event_type,position\n");
  const std::string msg =
      input_error([&] { RecordReader r(dir / "events.csv", {"ts", "user_id", "title_id"}, {}, layout); });
  EXPECT_NE(msg.find("events.csv:1: no column 'ts' (found: timestamp, member_id, content_id, event_type, position; "
                     "map it with --columns ts=timestamp)"),
            std::string::npos)
      << msg;
  write_text(dir / "odd.csv", "when,who\n");
  const std::string odd = input_error([&] { RecordReader r(dir / "odd.csv", {"ts"}, {}, layout); });
  EXPECT_NE(odd.find("map it with --columns ts=COLUMN)"), std::string::npos) << odd;
}

TEST(Catalog, TablesAreFoundCompressedAndTabSeparated) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  const std::string tags = read_text(dir / "cat/tags.csv");
  fs::remove(dir / "cat/tags.csv");
  write_text(dir / "cat/tags.csv.gz", gzip_bytes(tags));
  std::string titles = read_text(dir / "cat/titles.csv");
  fs::remove(dir / "cat/titles.csv");
  // titles.tsv: the same rows, tab-separated (the name with a comma stays quoted).
  std::string tsv;
  bool quoted = false;
  for (char c : titles) {
    if (c == '"') quoted = !quoted;
    tsv += (c == ',' && !quoted) ? '\t' : c;
  }
  write_text(dir / "cat/titles.tsv", tsv);
  RejectLog rejects("", true);
  const Catalog c = load_catalog(dir / "cat", rejects);
  EXPECT_EQ(c.num_tags(), 4u);
  EXPECT_EQ(c.num_titles(), 5u);
  EXPECT_EQ(c.title(*c.find_title("a")).name, "Alpha, the movie");
  EXPECT_EQ(find_table(dir / "cat", "tags"), dir / "cat/tags.csv.gz");
}

TEST(Events, RejectsInACompressedFileNameTheFileAndTheDecompressedLine) {
  TempDir dir;
  write_small_catalog(dir / "cat");
  const std::string events =
      "ts,user_id,title_id,event,position_s\n"
      "2024-01-01T10:00:00Z,u1,a,play,0\n"
      "\n"
      "2024-01-01T10:00:00Z,u1,zzz,play,0\n"
      "2024-01-01T11:00:00Z,u2,b,stop,100\n";
  write_text(dir / "events.csv.gz", gzip_bytes(events));
  RejectLog cat_rejects("", true);
  const Catalog catalog = load_catalog(dir / "cat", cat_rejects);
  RejectLog rejects(dir / "rejects.csv", false);
  const LoadedEvents ev = load_events(dir / "events.csv.gz", catalog, rejects, 1704200000);
  rejects.finish();
  EXPECT_EQ(ev.events.size(), 2u);
  EXPECT_EQ(ev.events[1].line, 5u);
  const auto rows = lines(read_text(dir / "rejects.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], dir / "events.csv.gz" + ",4,unknown title_id 'zzz',\"2024-01-01T10:00:00Z,u1,zzz,play,0\"");
}

// ---- the binary: the same events in every form give the same profiles ---------------------------

class InputsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto g = run_marquee("gen --users 150 --titles 60 --tags 30 --seed 11 --out " + dir() + "/data");
    ASSERT_EQ(g.exit_code, 0) << g.out;
    // A few bad rows, so that the rejects are compared too.
    std::string events = read_text(dir() + "/data/events.csv");
    events += "2024-01-01T10:00:00Z,u_bad,no_such_title,play,0,\nnot a time,u_bad,t000001,play,0,\n";
    write_text(dir() + "/events.csv", events);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string dir() { return dir_->path(); }
  static std::string catalog() { return dir() + "/data/catalog"; }
  // `profile` on `events` (and flags): its profiles.bin and its rejects with the file column dropped.
  static std::pair<std::string, std::string> profile(const std::string& events, const std::string& flags,
                                                     const std::string& name) {
    const std::string out = dir() + "/" + name + ".bin";
    const auto r = run_marquee("profile --catalog " + catalog() + " --events " + events + " --out " + out +
                               " --rejects " + dir() + "/" + name + ".rejects.csv " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::string rejects;
    for (const auto& line : lines(read_text(dir() + "/" + name + ".rejects.csv")))
      rejects += line.substr(line.find(',')) + "\n";
    return {read_text(out), rejects};
  }
  static inline TempDir* dir_ = nullptr;
};

TEST_F(InputsCli, PlainGzipZstdTsvAndRenamedColumnsGiveByteIdenticalProfilesAndRejects) {
  const std::string text = read_text(dir() + "/events.csv");
  const auto plain = profile(dir() + "/events.csv", "", "plain");
  ASSERT_FALSE(plain.first.empty());
  EXPECT_NE(plain.second.find(",unknown title_id 'no_such_title',"), std::string::npos) << plain.second;

  write_text(dir() + "/events.csv.gz", gzip_bytes(text));
  EXPECT_EQ(profile(dir() + "/events.csv.gz", "", "gz"), plain);
#ifdef MARQUEE_HAVE_ZSTD
  write_text(dir() + "/events.csv.zst", zstd_bytes(text));
  EXPECT_EQ(profile(dir() + "/events.csv.zst", "", "zst"), plain);
#endif

  // Tab-separated, with the producer's column names and order: --delimiter tab and --columns.
  std::vector<std::string> rows = lines(text);
  ASSERT_EQ(rows[0], "ts,user_id,title_id,event,position_s,seek_to_s");
  std::string tsv = "member_id\ttimestamp\tcontent_id\taction\tposition\tseek_to_s\n";
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto f = split(rows[i], ',');
    ASSERT_EQ(f.size(), 6u) << rows[i];
    tsv += f[1] + "\t" + f[0] + "\t" + f[2] + "\t" + f[3] + "\t" + f[4] + "\t" + f[5] + "\n";
  }
  write_text(dir() + "/events.txt", tsv);
  const std::string map = "--columns ts=timestamp,user_id=member_id,title_id=content_id,event=action,position_s=position";
  const auto mapped = profile(dir() + "/events.txt", "--delimiter tab " + map, "mapped");
  EXPECT_EQ(mapped.first, plain.first);
  // The rejected rows' text is the file's own (tab-separated); line numbers and reasons are the same.
  auto reasons = [](const std::string& rejects) {
    std::string out;
    for (const auto& line : lines(rejects)) out += line.substr(0, line.find(',', line.find(',', 1) + 1)) + "\n";
    return out;
  };
  EXPECT_EQ(reasons(mapped.second), reasons(plain.second));
}

TEST_F(InputsCli, ATruncatedGzipFileFailsWithAClearMessage) {
  const std::string gz = gzip_bytes(read_text(dir() + "/events.csv"));
  write_text(dir() + "/cut.csv.gz", gz.substr(0, gz.size() * 2 / 3));
  const auto r = run_marquee("profile --catalog " + catalog() + " --events " + dir() + "/cut.csv.gz --out " + dir() +
                             "/cut.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("cut.csv.gz: truncated gzip data: the file ends inside the compressed stream (after line "),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(is_printable_ascii(lines(r.out).back())) << r.out;
  EXPECT_FALSE(fs::exists(dir() + "/cut.bin"));
}

TEST_F(InputsCli, AMissingColumnSaysWhatWasFoundAndHowToMapIt) {
  std::string text = read_text(dir() + "/events.csv");
  text.replace(0, 2, "timestamp");
  write_text(dir() + "/renamed.csv", text);
  const auto r = run_marquee("profile --catalog " + catalog() + " --events " + dir() + "/renamed.csv --out " + dir() +
                             "/r.bin");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("renamed.csv:1: no column 'ts' (found: timestamp, user_id, title_id, event, position_s, "
                       "seek_to_s; map it with --columns ts=timestamp)"),
            std::string::npos)
      << r.out;
}

TEST_F(InputsCli, BadDelimiterAndColumnsSpecsAreUsageErrorsForEveryCommandThatReadsEvents) {
  const std::string ev = " --catalog " + catalog() + " --events " + dir() + "/events.csv";
  struct Case {
    std::string flags, message;
  };
  const std::vector<Case> cases{
      {"--columns ts:timestamp", "--columns: 'ts:timestamp' is not OUR=THEIRS; give OUR=THEIRS pairs separated by "
                                 "commas, e.g. --columns ts=timestamp,user_id=member_id (our columns: ts, user_id, "
                                 "title_id, event, position_s, seek_to_s)"},
      {"--columns timestamp=ts", "--columns: 'timestamp' is not one of our columns (ts, user_id, title_id, event, "
                                 "position_s, seek_to_s); the name before '=' is ours, the one after it the file's"},
      {"--columns ts=a,ts=b", "--columns maps 'ts' twice ('a' and 'b')"},
      {"--columns ts=a,user_id=a", "--columns maps both 'ts' and 'user_id' to the file's column 'a'"},
      {"--columns ts=", "--columns: 'ts=' is not OUR=THEIRS"},
      {"--delimiter tabs", "--delimiter 'tabs' is not a delimiter: give tab (or '\\t'), comma, semicolon, pipe or one "
                           "printable character other than '\"'"},
      {"--catalog-delimiter '\"'", "--catalog-delimiter '\"' is not a delimiter"},
  };
  const std::vector<std::string> commands{
      "profile" + ev + " --out " + dir() + "/x.bin",
      "score --model tags --top 3" + ev + " --out " + dir() + "/x.csv",
      "train" + ev + " --out " + dir() + "/xm",
      "eval-recs" + ev,
      "eval-projection" + ev,
      "daypart" + ev + " --out " + dir() + "/xd.json",
      "segment -k 3" + ev + " --out " + dir() + "/xs.csv",
      "project" + ev + " --out " + dir() + "/xp.json",
  };
  for (const auto& c : cases) {
    for (const auto& cmd : commands) {
      const auto r = run_marquee(cmd + " " + c.flags);
      EXPECT_EQ(r.exit_code, 2) << cmd << " " << c.flags << "\n" << r.out;
      EXPECT_NE(r.out.find(c.message), std::string::npos) << cmd << " " << c.flags << "\n" << r.out;
    }
  }
}

TEST_F(InputsCli, SemicolonSeparatedCatalogueAndEventsWithDelimiters) {
  // --delimiter for the events, --catalog-delimiter for the catalogue (they come from different producers).
  const std::string semi_dir = dir() + "/semi";
  for (const char* name : {"tags", "titles", "title_tags"}) {
    std::string t = read_text(catalog() + "/" + name + ".csv");
    bool quoted = false;
    for (char& c : t) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) c = ';';
    }
    write_text(semi_dir + "/" + name + ".csv", t);
  }
  std::string ev = read_text(dir() + "/events.csv");
  for (char& c : ev)
    if (c == ',') c = ';';
  write_text(dir() + "/events_semi.csv", ev);
  const auto plain = profile(dir() + "/events.csv", "", "plain2");
  const std::string out = dir() + "/semi.bin";
  const std::string base = "profile --catalog " + semi_dir + " --events " + dir() + "/events_semi.csv --out " + out;
  const auto r = run_marquee(base + " --delimiter ';' --catalog-delimiter semicolon");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_text(out), plain.first);
  // Without --catalog-delimiter, the catalogue's message names it.
  const auto cat = run_marquee(base + " --delimiter ';'");
  EXPECT_EQ(cat.exit_code, 3) << cat.out;
  EXPECT_NE(cat.out.find("tags.csv:1: no column 'tag' (found: tag;category; the header has ';' but is read with ',' "
                         "as the delimiter: give --catalog-delimiter ';')"),
            std::string::npos)
      << cat.out;
}

// Results written compressed (`--out recs.csv.gz`, `recs.jsonl.zst`): the same lines as the plain
// file once decompressed (read back through the input reader, which knows both), the codec's magic
// bytes first, and across many of the sink's 256 KiB chunks.
TEST(CompressedOutput, DecompressesToThePlainFileByteForByte) {
  TempDir dir;
  Catalog c;
  for (int t = 0; t < 50; ++t) c.add_title(Title{"title-" + std::to_string(t), "", 600, 2000});
  std::vector<std::string> users;
  const size_t k = 20;
  for (int u = 0; u < 2000; ++u) users.push_back("user-" + std::to_string(u));
  TopKResult r;
  r.resize(users.size(), k);
  for (size_t u = 0; u < users.size(); ++u) {
    r.counts[u] = uint32_t(k);
    for (size_t i = 0; i < k; ++i) {
      r.titles[u * k + i] = uint32_t((u * 7 + i * 13) % 50);
      r.scores[u * k + i] = float(u % 97) / 97.0f - float(i) * 0.01f;
    }
  }
  std::vector<std::string> names = {"r.csv", "r.csv.gz", "r.jsonl", "r.jsonl.GZ"};
#ifdef MARQUEE_HAVE_ZSTD
  names.push_back("r.csv.zst");
  names.push_back("r.jsonl.zst");
#endif
  for (const auto& name : names) {
    ResultsWriter w(dir / name, parse_result_format("auto", name));
    for (int batch = 0; batch < 3; ++batch) w.write(users, r, c);
    w.commit();
    EXPECT_EQ(w.rows(), 3 * users.size() * k) << name;
  }
  EXPECT_GT(read_text(dir / "r.csv").size(), size_t(3) << 20);  // several chunks
  EXPECT_EQ(all_lines(dir / "r.csv.gz"), all_lines(dir / "r.csv"));
  EXPECT_EQ(all_lines(dir / "r.jsonl.GZ"), all_lines(dir / "r.jsonl"));
  EXPECT_EQ(read_text(dir / "r.csv.gz").substr(0, 2), "\x1f\x8b");
#ifdef MARQUEE_HAVE_ZSTD
  EXPECT_EQ(all_lines(dir / "r.csv.zst"), all_lines(dir / "r.csv"));
  EXPECT_EQ(all_lines(dir / "r.jsonl.zst"), all_lines(dir / "r.jsonl"));
  EXPECT_EQ(read_text(dir / "r.csv.zst").substr(0, 4), "\x28\xb5\x2f\xfd");
#endif
  EXPECT_LT(fs::file_size(dir / "r.csv.gz") * 3, fs::file_size(dir / "r.csv"));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  // The format is named under the compression extension; other compressions are refused.
  EXPECT_EQ(parse_result_format("auto", "x/r.jsonl.zst"), ResultFormat::Jsonl);
  // The suffixes the input reader knows, in any case.
  EXPECT_EQ(parse_result_format("auto", "r.JSONL.Gzip"), ResultFormat::Jsonl);
  EXPECT_EQ(output_compression_of("r.csv.gzip"), OutputCompression::Gzip);
  EXPECT_EQ(output_compression_of("r.csv.ZSTD"), OutputCompression::Zstd);
  EXPECT_EQ(output_compression_of("r.csv"), OutputCompression::None);
  EXPECT_THROW(parse_result_format("auto", "r.csv.bz2"), ArgumentError);
  EXPECT_THROW(parse_result_format("csv", "r.jsonl.gz"), ArgumentError);
}
