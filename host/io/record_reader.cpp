#include "host/io/record_reader.h"

#include "engine/error.h"

#include <csv.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace marquee {

bool is_jsonl_path(const std::string& path) {
  auto ends_with = [&](const char* ext) {
    const size_t n = std::strlen(ext);
    return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
  };
  return ends_with(".jsonl") || ends_with(".ndjson") || ends_with(".json");
}

size_t invalid_utf8_at(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;              // no overlong 3-byte forms
    else if (c == 0xED) len = 3, hi = 0x9F;              // no surrogates
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;              // no overlong 4-byte forms
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;              // nothing above U+10FFFF
    else return i;                                        // 0x80..0xC1, 0xF5..0xFF
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

// libcsv delivers fields and record ends through callbacks; this collects them for one line.
struct RecordReader::CsvParser {
  csv_parser parser{};
  std::vector<std::string> fields;
  size_t records = 0;

  CsvParser() {
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL) != 0)
      MARQUEE_THROW("libcsv: cannot initialise the parser");
  }
  ~CsvParser() { csv_free(&parser); }

  static void on_field(void* data, size_t len, void* self) {
    static_cast<CsvParser*>(self)->fields.emplace_back(data ? static_cast<const char*>(data) : "", data ? len : 0);
  }
  static void on_record(int, void* self) { ++static_cast<CsvParser*>(self)->records; }

  /// Splits one line into fields; false on malformed quoting.
  bool split(const std::string& line) {
    fields.clear();
    records = 0;
    const size_t used = csv_parse(&parser, line.data(), line.size(), on_field, on_record, this);
    const bool ok = used == line.size() && csv_fini(&parser, on_field, on_record, this) == 0;
    if (!ok) {  // reset a parser left in an error state
      csv_free(&parser);
      csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL);
    }
    return ok;
  }
};

RecordReader::RecordReader(std::string path, std::vector<std::string> required, std::vector<std::string> optional)
    : path_(std::move(path)), required_(required.size()), jsonl_(is_jsonl_path(path_)) {
  names_ = std::move(required);
  names_.insert(names_.end(), optional.begin(), optional.end());
  std::error_code ec;
  MARQUEE_CHECK_INPUT(!std::filesystem::is_directory(path_, ec), "cannot read {}: it is a directory, not a file", path_);
  in_.open(path_, std::ios::binary);
  MARQUEE_CHECK_INPUT(in_.is_open(), "cannot open {}: {}", path_, std::strerror(errno));
  if (!jsonl_) {
    csv_ = std::make_unique<CsvParser>();
    read_header();
  }
}

RecordReader::~RecordReader() = default;

namespace {
bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}
void strip_cr(std::string& s) {
  if (!s.empty() && s.back() == '\r') s.pop_back();
}
}  // namespace

void RecordReader::read_header() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    strip_cr(line);
    if (line_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    if (!is_blank(line)) break;
    line.clear();
  }
  if (is_blank(line)) {  // empty file: no header, no records
    header_columns_ = 0;
    column_of_.assign(names_.size(), -1);
    return;
  }
  MARQUEE_CHECK_INPUT(csv_->split(line), "{}:{}: malformed CSV header", path_, line_);
  std::vector<std::string> header = csv_->fields;
  header_columns_ = header.size();
  column_of_.assign(names_.size(), -1);
  for (size_t c = 0; c < header.size(); ++c) {
    auto it = std::find(names_.begin(), names_.end(), header[c]);
    if (it == names_.end()) {
      ignored_.push_back(header[c]);
      continue;
    }
    // Two columns of one name: which one holds the data is a guess, so none is taken.
    const int first = column_of_[size_t(it - names_.begin())];
    MARQUEE_CHECK_INPUT(first < 0, "{}:{}: column '{}' appears twice in the header (columns {} and {})", path_, line_,
                        header[c], first + 1, c + 1);
    column_of_[size_t(it - names_.begin())] = int(c);
  }
  std::string found;
  for (const auto& h : header) found += (found.empty() ? "" : ",") + h;
  for (size_t i = 0; i < required_; ++i)
    MARQUEE_CHECK_INPUT(column_of_[i] >= 0, "{}:{}: header has no '{}' column (found: {})", path_, line_, names_[i],
                        found);
}

bool RecordReader::next(Record& record) {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    strip_cr(line);
    if (is_blank(line)) continue;
    record.line = line_;
    record.raw = std::move(line);
    record.error.clear();
    record.fields.assign(names_.size(), std::string());
    record.present.assign(names_.size(), false);
    ++rows_;
    if (jsonl_) parse_jsonl(record);
    else parse_csv(record);
    for (size_t i = 0; i < names_.size() && record.error.empty(); ++i) {
      const size_t bad = invalid_utf8_at(record.fields[i]);
      if (bad != std::string_view::npos)
        record.error = fmt::format("{} is not valid UTF-8 (byte 0x{:02x} at offset {})", names_[i],
                                   static_cast<unsigned char>(record.fields[i][bad]), bad);
    }
    if (record.error.empty()) {
      for (size_t i = 0; i < required_; ++i) {
        if (!record.present[i]) {
          record.error = "missing value for '" + names_[i] + "'";
          break;
        }
      }
    }
    return true;
  }
  return false;
}

void RecordReader::parse_csv(Record& record) {
  if (header_columns_ == 0) {
    record.error = "row before any header";
    return;
  }
  if (!csv_->split(record.raw)) {
    record.error = "malformed CSV (unbalanced quotes)";
    return;
  }
  if (csv_->fields.size() != header_columns_) {
    record.error = "expected " + std::to_string(header_columns_) + " fields, found " +
                   std::to_string(csv_->fields.size());
    return;
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    if (column_of_[i] < 0) continue;
    std::string& v = csv_->fields[size_t(column_of_[i])];
    record.present[i] = !v.empty();
    record.fields[i] = std::move(v);
  }
}

void RecordReader::parse_jsonl(Record& record) {
  const nlohmann::json j = nlohmann::json::parse(record.raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    record.error = "not a JSON object";
    return;
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    auto it = j.find(names_[i]);
    if (it == j.end() || it->is_null()) continue;
    if (it->is_string()) record.fields[i] = it->get<std::string>();
    else if (it->is_number()) record.fields[i] = it->dump();
    else {
      record.error = "field '" + names_[i] + "' must be a string or a number";
      return;
    }
    record.present[i] = !record.fields[i].empty();
  }
}

}  // namespace marquee

namespace marquee {

bool parse_double(std::string_view text, double& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

bool parse_int(std::string_view text, long long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace marquee
