// Reads records from a CSV file (header row, RFC 4180 quoting via libcsv; another delimiter such as
// tab on request) or a JSON Lines file with the same field names (nlohmann/json), either one plain
// or gzip/zstd compressed (host/io/line_source.h). Columns are looked up by name, so order is free
// and extra columns are ignored; a TableLayout maps our names to a file's own. A record is one
// line: a quoted field may hold commas and quotes but not a newline, so a broken row can never
// swallow its neighbours.
#pragma once

#include "host/io/line_source.h"

#include <map>
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

/// A Record without copies: the fields point into the line (or, for a line with quotes or a JSON
/// object, into the Parser that filled it) and stay valid until that Parser's next parse. A field
/// is present when it is not empty. The events reader's form: a billion rows are not copied twice.
struct RecordView {
  size_t line = 0;
  std::string_view raw;                 // the line as read
  std::vector<std::string_view> fields;  // required columns, then optional ones
  std::string error;                    // non-empty: the row is malformed
};

/// How a file names and separates its columns when it does not follow docs/formats.md to the letter.
struct TableLayout {
  /// The CSV field delimiter; 0: by the file's name (tab for .tsv and .tab, also compressed:
  /// events.tsv.gz), a comma otherwise.
  char delimiter = 0;
  /// Our column name -> the file's (`--columns ts=timestamp`): the file's column is read as ours,
  /// in CSV headers and JSON Lines keys alike.
  std::map<std::string, std::string> columns;
  /// A missing column's message suggests `--columns` (the readers whose command line has it).
  bool suggest_columns_flag = false;
  /// The flag that sets `delimiter`, named when the header looks written with another one (empty:
  /// the reader has none; only a .tsv name is suggested).
  std::string delimiter_flag;
};

class RecordReader {
  struct CsvParser;  // libcsv's state (record_reader.cpp)

 public:
  /// Opens `path` (JSON Lines when it ends in .jsonl, .ndjson or .json, before any .gz/.zst; CSV
  /// otherwise) and reads the CSV header. Throws InputError when the file cannot be opened, is not
  /// text, or the header lacks a required column (naming what it found, with a hint when a mapping or
  /// another delimiter would fix it), ArgumentError when `layout` maps a column not asked for. An
  /// empty file yields no records.
  RecordReader(std::string path, std::vector<std::string> required, std::vector<std::string> optional = {},
               const TableLayout& layout = {});
  ~RecordReader();

  /// Next non-blank record; false at end of file. A record with a field that is not valid UTF-8
  /// comes back with `error` set (ids end up in JSON, which only holds UTF-8).
  bool next(Record& record);

  /// Turns lines into records by this reader's header. next() is next_line() then parse(); a
  /// reader that splits the two can parse on several threads, one Parser each (a Parser holds the
  /// CSV parser's state; the reader it came from must outlive it and is only read).
  class Parser {
   public:
    explicit Parser(const RecordReader& reader);
    ~Parser();
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;
    /// Fills `record` from `line` (a line next_line() returned, number `line_no`); a record reused
    /// from line to line keeps its buffers.
    void parse(std::string_view line, size_t line_no, Record& record);
    /// The same without copies: `record`'s fields point into `line` or into this parser.
    void parse(std::string_view line, size_t line_no, RecordView& record);

   private:
    void parse_csv(RecordView& record);
    void parse_jsonl(RecordView& record);
    const RecordReader& reader_;
    std::unique_ptr<CsvParser> csv_;
    std::vector<std::string_view> plain_;  // split_unquoted_csv's fields
    std::vector<std::string> json_;        // a JSON line's fields
    RecordView view_;                      // the copying parse's
  };
  /// The next non-blank line (a trailing '\r' stripped) and its 1-based number, counted as a row;
  /// false at end of file.
  bool next_line(std::string& line, size_t& line_no);
  /// As next_line, appending the line to `text` (a batch of lines in one buffer, no allocation per
  /// line); false at end of file, `text` then as it was.
  bool append_line(std::string& text, size_t& line_no);
  /// Records returned so far (the rows a reject rate is taken over).
  size_t rows() const { return rows_; }

  const std::string& path() const { return path_; }
  bool is_jsonl() const { return jsonl_; }
  char delimiter() const { return delimiter_; }
  Compression compression() const { return in_.compression(); }
  /// Bytes of the file consumed so far and its size (0 for a pipe), for progress lines.
  uint64_t bytes_read() const { return in_.bytes_read(); }
  uint64_t file_size() const { return in_.file_size(); }
  /// Header columns that were not asked for (CSV only).
  const std::vector<std::string>& ignored_columns() const { return ignored_; }

 private:
  void read_header();
  /// " (column 'timestamp')" when our column `i` is read under another name, else "".
  std::string renamed_note(size_t i) const;
  /// The message for required column `i` missing from `header` (the raw header line in `line`).
  std::string missing_column_message(size_t i, const std::vector<std::string>& header, const std::string& line) const;

  std::string path_;
  std::vector<std::string> names_;       // required then optional
  std::vector<std::string> file_names_;  // names_ as the file spells them (TableLayout::columns)
  size_t required_ = 0;
  bool jsonl_ = false;
  char delimiter_ = ',';
  bool suggest_columns_flag_ = false;
  std::string delimiter_flag_;
  LineSource in_;
  size_t rows_ = 0;
  std::vector<int> column_of_;  // names_[i] -> CSV column, -1 when absent
  size_t header_columns_ = 0;
  std::vector<std::string> ignored_;
  std::unique_ptr<CsvParser> csv_;  // the header's
  std::unique_ptr<Parser> parser_;  // next()'s
  std::string line_;                // next()'s
};

/// Splits a CSV line that holds no quote, CR or LF at `delimiter` exactly as libcsv does with the
/// options RecordReader gives it: spaces and tabs (other than the delimiter) around a field are not
/// part of it, and a line of nothing else has no fields. Returns false, `fields` unspecified, for a
/// line with a quote, CR or LF, or a delimiter that is one of them: libcsv, the authority on quoting,
/// reads those. Most lines of a large file hold no quote; this is the events reader's fast path.
bool split_unquoted_csv(std::string_view line, char delimiter, std::vector<std::string_view>& fields);

/// True when every byte of `text` is ASCII (below 0x80), so that any part of it is valid UTF-8.
bool is_ascii(std::string_view text);

/// True when `path` names a JSON Lines file by its extension (.jsonl, .ndjson, .json, also followed
/// by a compression suffix: events.jsonl.gz).
bool is_jsonl_path(const std::string& path);

/// `path` without a trailing .gz, .gzip, .zst or .zstd.
std::string without_compression_suffix(const std::string& path);

/// `text` as it may appear in a message: control bytes and bytes that are not UTF-8 written as
/// \xNN, cut to `max` bytes with "...".
std::string printable(std::string_view text, size_t max = 60);

/// Offset of the first byte of `text` that is not part of well-formed UTF-8 (no overlong forms, no
/// surrogates, nothing above U+10FFFF), or npos when all of it is.
size_t invalid_utf8_at(std::string_view text);

}  // namespace marquee

namespace marquee {
/// Whole-string numeric parses (no trailing characters, finite values only).
bool parse_double(std::string_view text, double& out);
bool parse_int(std::string_view text, long long& out);
}  // namespace marquee
