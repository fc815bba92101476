#include "engine/error.h"
#include "host/io/record_reader.h"
#include "test_util.h"

#include <csv.h>

#include <random>

using namespace marquee;
using marquee::test::TempDir;
using marquee::test::write_text;

TEST(RecordReader, ReadsColumnsByNameWithQuotingAndOptionalFields) {
  TempDir dir;
  write_text(dir / "t.csv", "\xEF\xBB\xBF" "extra,b,a\r\nx,\"2, with comma\",1\r\n\ny,\"say \"\"hi\"\"\",\n");
  RecordReader reader(dir / "t.csv", {"a"}, {"b"});
  ASSERT_EQ(reader.ignored_columns(), std::vector<std::string>{"extra"});
  Record r;
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.line, 2u);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.fields[0], "1");
  EXPECT_EQ(r.fields[1], "2, with comma");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.line, 4u);  // the blank line 3 is skipped but counted
  EXPECT_EQ(r.error, "missing value for 'a'");
  EXPECT_EQ(r.fields[1], "say \"hi\"");
  EXPECT_FALSE(reader.next(r));
}

TEST(RecordReader, MalformedRowsAreFlaggedWithoutLosingNeighbours) {
  TempDir dir;
  write_text(dir / "t.csv", "a,b\n1,2\n3,\"unterminated\n5,6\n7\n8,9,10\n11,12\n");
  RecordReader reader(dir / "t.csv", {"a", "b"});
  Record r;
  std::vector<std::string> seen;
  while (reader.next(r)) seen.push_back(std::to_string(r.line) + ":" + (r.error.empty() ? r.fields[0] : r.error));
  EXPECT_EQ(seen, (std::vector<std::string>{"2:1", "3:malformed CSV (unbalanced quotes)", "4:5",
                                            "5:expected 2 fields, found 1", "6:expected 2 fields, found 3", "7:11"}));
}

TEST(RecordReader, MissingRequiredColumnIsAnInputErrorNamingIt) {
  TempDir dir;
  write_text(dir / "t.csv", "a,c\n1,2\n");
  try {
    RecordReader reader(dir / "t.csv", {"a", "b"});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("t.csv:1: no column 'b' (found: a, c)"), std::string::npos) << e.what();
  }
}

TEST(RecordReader, MissingFileIsAnInputError) {
  EXPECT_THROW(RecordReader("/nonexistent/file.csv", {"a"}), InputError);
}

TEST(RecordReader, EmptyFileHasNoRecords) {
  TempDir dir;
  write_text(dir / "t.csv", "");
  RecordReader reader(dir / "t.csv", {"a"});
  Record r;
  EXPECT_FALSE(reader.next(r));
}

TEST(RecordReader, JsonLinesUseTheSameFieldNames) {
  TempDir dir;
  write_text(dir / "t.jsonl", "{\"a\": \"x\", \"b\": 2.5}\n\nnot json\n[1,2]\n{\"b\": 1}\n{\"a\": true}\n{\"a\": 7, \"b\": null}\n");
  RecordReader reader(dir / "t.jsonl", {"a"}, {"b"});
  ASSERT_TRUE(reader.is_jsonl());
  Record r;
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.fields[0], "x");
  EXPECT_EQ(r.fields[1], "2.5");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.error, "not a JSON object");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.error, "not a JSON object");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.error, "missing value for 'a'");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.error, "field 'a' must be a string or a number");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.fields[0], "7");
  EXPECT_FALSE(r.present[1]);
  EXPECT_FALSE(reader.next(r));
}

TEST(ParseNumbers, WholeStringOnly) {
  double d = 0;
  EXPECT_TRUE(parse_double("12.5", d));
  EXPECT_DOUBLE_EQ(d, 12.5);
  EXPECT_TRUE(parse_double("+3", d));
  EXPECT_FALSE(parse_double("12.5x", d));
  EXPECT_FALSE(parse_double("", d));
  EXPECT_FALSE(parse_double("nan", d));
  EXPECT_FALSE(parse_double("inf", d));
  long long i = 0;
  EXPECT_TRUE(parse_int("2024", i));
  EXPECT_EQ(i, 2024);
  EXPECT_FALSE(parse_int("20.5", i));
}

namespace {
// libcsv itself, with the options RecordReader gives it: the reference for split_unquoted_csv.
struct LibcsvFields {
  std::vector<std::string> fields;
  static void on_field(void* data, size_t len, void* self) {
    static_cast<LibcsvFields*>(self)->fields.emplace_back(data ? static_cast<const char*>(data) : "", data ? len : 0);
  }
  static void on_record(int, void*) {}
};

bool libcsv_split(std::string_view line, char delimiter, std::vector<std::string>& fields) {
  csv_parser p{};
  csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL);
  csv_set_delim(&p, static_cast<unsigned char>(delimiter));
  LibcsvFields out;
  const size_t used = csv_parse(&p, line.data(), line.size(), LibcsvFields::on_field, LibcsvFields::on_record, &out);
  const bool ok = used == line.size() && csv_fini(&p, LibcsvFields::on_field, LibcsvFields::on_record, &out) == 0;
  csv_free(&p);
  fields = std::move(out.fields);
  return ok;
}

std::string shown(std::string_view line) { return printable(line, 200); }
}  // namespace

// The fast path takes every line without a quote, CR or LF and splits it exactly as libcsv does:
// random lines of spaces, tabs, delimiters, other bytes and empty fields, at lengths on both sides of
// the 16-byte steps, for every delimiter the readers accept.
TEST(SplitUnquotedCsv, AgreesWithLibcsvOnRandomLines) {
  const unsigned seed = 20261202;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  const std::string alphabet = std::string("ab1 \t,;|.-\xc3\xa9\xff", 15) + std::string(1, '\0');
  std::vector<std::string_view> fast;
  std::vector<std::string> want;
  size_t compared = 0, declined = 0;
  for (const char delimiter : {',', '\t', ';', '|', ' '}) {
    for (int n = 0; n < 20000; ++n) {
      std::string line(rng() % 70, ' ');
      for (char& c : line) c = alphabet[rng() % alphabet.size()];
      if (rng() % 8 == 0) line.insert(rng() % (line.size() + 1), 1, "\"\r\n"[rng() % 3]);
      const bool special = line.find_first_of(std::string("\"\r\n")) != std::string::npos;
      const bool took = split_unquoted_csv(line, delimiter, fast);
      ASSERT_EQ(took, !special) << shown(line);
      if (!took) {
        ++declined;
        continue;
      }
      ASSERT_TRUE(libcsv_split(line, delimiter, want)) << shown(line);
      ASSERT_EQ(std::vector<std::string>(fast.begin(), fast.end()), want)
          << "line '" << shown(line) << "', delimiter '" << shown(std::string(1, delimiter)) << "'";
      ++compared;
    }
  }
  EXPECT_GT(compared, 80000u);
  EXPECT_GT(declined, 5000u);
}

TEST(SplitUnquotedCsv, EdgesOfLibcsvsRules) {
  std::vector<std::string_view> f;
  auto split = [&](std::string_view line, char delimiter = ',') {
    EXPECT_TRUE(split_unquoted_csv(line, delimiter, f)) << shown(line);
    return std::vector<std::string>(f.begin(), f.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(split(""), V{});                      // libcsv: no field at all
  EXPECT_EQ(split("  \t "), V{});                 // nor for a line of spaces
  EXPECT_EQ(split(","), (V{"", ""}));
  EXPECT_EQ(split(" a b ,\tc\t, "), (V{"a b", "c", ""}));  // spaces around a field dropped, inside kept
  EXPECT_EQ(split("a\t\tb", '\t'), (V{"a", "", "b"}));     // the delimiter is never a space
  EXPECT_EQ(split(" a \t b ", '\t'), (V{"a", "b"}));
  EXPECT_EQ(split("a b  c", ' '), (V{"a", "b", "", "c"}));
  EXPECT_EQ(split(std::string_view("a\0b,c", 5)), (V{std::string("a\0b", 3), "c"}));
  for (const char* quoted : {"\"a\",b", "a,b\"", "a\r,b", "a,b\r", "a\nb"})
    EXPECT_FALSE(split_unquoted_csv(quoted, ',', f)) << shown(quoted);
  EXPECT_FALSE(split_unquoted_csv("a,b", '"', f));  // a quote as the delimiter: libcsv's business
}

TEST(IsAscii, EveryLengthAndPosition) {
  for (size_t n = 0; n < 40; ++n) {
    std::string s(n, 'x');
    EXPECT_TRUE(is_ascii(s));
    for (size_t i = 0; i < n; ++i) {
      std::string t = s;
      t[i] = '\x80';
      EXPECT_FALSE(is_ascii(t)) << n << " " << i;
    }
  }
}

// The same file read through the fast path and, with every field quoted, through libcsv: the same
// records, errors and raw lines (CRLF ends, a BOM, spaces, empty optional fields, wrong counts,
// bytes that are not UTF-8, a CR inside a line).
TEST(RecordReader, UnquotedAndQuotedLinesReadAlike) {
  TempDir dir;
  const std::vector<std::vector<std::string>> rows = {
      {"1", "x", ""}, {" 2 ", "\ty ", " "}, {"3", "", "z"}, {"", "w", "q"}, {"5", "u\xffv", "k"}, {"6", "\xc3\xa9", "e"}};
  std::string plain = "\xEF\xBB\xBF" "a,b,c\r\n", quoted = plain;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      plain += (i ? "," : "") + row[i];
      // Spaces outside the quotes are dropped by libcsv as the fast path drops them around a field.
      std::string trimmed = row[i];
      trimmed.erase(0, trimmed.find_first_not_of(" \t") == std::string::npos ? trimmed.size()
                                                                               : trimmed.find_first_not_of(" \t"));
      while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) trimmed.pop_back();
      quoted += std::string(i ? "," : "") + (trimmed.empty() ? "" : "\"" + trimmed + "\"");
    }
    plain += "\r\n";
    quoted += "\r\n";
  }
  plain += "7,8\r\n9,10,11,12\n13,14\r15\n";
  quoted += "\"7\",8\r\n\"9\",10,11,12\n\"13\",14\r15\n";
  write_text(dir / "plain.csv", plain);
  write_text(dir / "quoted.csv", quoted);
  auto read_all = [](const std::string& path) {
    RecordReader reader(path, {"a", "b"}, {"c"});
    std::vector<std::string> out;
    Record r;
    while (reader.next(r)) {
      std::string s = std::to_string(r.line) + "|" + r.error;
      for (size_t i = 0; i < r.fields.size(); ++i) s += "|" + r.fields[i] + (r.present[i] ? "+" : "-");
      out.push_back(s);
    }
    return out;
  };
  const auto want = std::vector<std::string>{
      "2||1+|x+|-", "3||2+|y+|-", "4|missing value for 'b'|3+|-|z+", "5|missing value for 'a'|-|w+|q+",
      "6|b is not valid UTF-8 (byte 0xff at offset 1)|5+|u\xffv+|k+", "7||6+|\xc3\xa9+|e+",
      "8|expected 3 fields, found 2|-|-|-", "9|expected 3 fields, found 4|-|-|-",
      "10||13+|14+|15+"};  // libcsv ends a record at a CR inside a line and reads on: 3 fields
  EXPECT_EQ(read_all(dir / "plain.csv"), want);
  EXPECT_EQ(read_all(dir / "quoted.csv"), want);
}
