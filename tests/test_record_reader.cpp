#include "engine/error.h"
#include "host/io/record_reader.h"
#include "test_util.h"

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
