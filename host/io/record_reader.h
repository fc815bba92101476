// Reads records from a CSV file (header row, RFC 4180 quoting via libcsv) or a JSON Lines file with
// the same field names (nlohmann/json). Columns are looked up by name, so order is free and extra
// columns are ignored. A record is one line: a quoted field may hold commas and quotes but not a
// newline, so a broken row can never swallow its neighbours.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace marquee {

struct Record {
  size_t line = 0;                   // 1-based line in the file
  std::vector<std::string> fields;   // required columns, then optional ones, in the order asked for
  std::vector<bool> present;         // false for an optional column that is absent or empty
  std::string raw;                   // the line as read, for the rejects file
  std::string error;                 // non-empty: the row is malformed; fields are not meaningful
};

class RecordReader {
 public:
  /// Opens `path` (JSON Lines when it ends in .jsonl, .ndjson or .json, CSV otherwise) and reads the
  /// CSV header. Throws InputError when the file cannot be opened or the header lacks a required
  /// column. An empty file yields no records.
  RecordReader(std::string path, std::vector<std::string> required, std::vector<std::string> optional = {});
  ~RecordReader();

  /// Next non-blank record; false at end of file. A record with a field that is not valid UTF-8
  /// comes back with `error` set (ids end up in JSON, which only holds UTF-8).
  bool next(Record& record);
  /// Records returned so far (the rows a reject rate is taken over).
  size_t rows() const { return rows_; }

  const std::string& path() const { return path_; }
  bool is_jsonl() const { return jsonl_; }
  /// Header columns that were not asked for (CSV only).
  const std::vector<std::string>& ignored_columns() const { return ignored_; }

 private:
  void read_header();
  void parse_csv(Record& record);
  void parse_jsonl(Record& record);

  std::string path_;
  std::vector<std::string> names_;  // required then optional
  size_t required_ = 0;
  bool jsonl_ = false;
  std::ifstream in_;
  size_t line_ = 0;
  size_t rows_ = 0;
  std::vector<int> column_of_;  // names_[i] -> CSV column, -1 when absent
  size_t header_columns_ = 0;
  std::vector<std::string> ignored_;
  struct CsvParser;
  std::unique_ptr<CsvParser> csv_;
};

/// True when `path` names a JSON Lines file by its extension.
bool is_jsonl_path(const std::string& path);

/// Offset of the first byte of `text` that is not part of well-formed UTF-8 (no overlong forms, no
/// surrogates, nothing above U+10FFFF), or npos when all of it is.
size_t invalid_utf8_at(std::string_view text);

}  // namespace marquee

namespace marquee {
/// Whole-string numeric parses (no trailing characters, finite values only).
bool parse_double(std::string_view text, double& out);
bool parse_int(std::string_view text, long long& out);
}  // namespace marquee
