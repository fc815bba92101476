#include "host/io/record_reader.h"

#include "engine/error.h"

#include <csv.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace marquee {

namespace {
bool ends_with(const std::string& s, const char* ext) {
  const size_t n = std::strlen(ext);
  return s.size() >= n && s.compare(s.size() - n, n, ext) == 0;
}
}  // namespace

std::string without_compression_suffix(const std::string& path) {
  for (const char* ext : {".gz", ".gzip", ".zst", ".zstd"})
    if (ends_with(path, ext)) return path.substr(0, path.size() - std::strlen(ext));
  return path;
}

bool is_jsonl_path(const std::string& path) {
  const std::string p = without_compression_suffix(path);
  return ends_with(p, ".jsonl") || ends_with(p, ".ndjson") || ends_with(p, ".json");
}

std::string printable(std::string_view text, size_t max) {
  std::string out;
  size_t i = 0;
  while (i < text.size() && out.size() < max) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {  // keep a well-formed UTF-8 sequence whole, escape anything else
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (i + len <= text.size() && invalid_utf8_at(text.substr(i, len)) == std::string_view::npos) {
        out.append(text.substr(i, len));
        i += len;
        continue;
      }
    }
    if (c < 0x20 || c == 0x7F || c >= 0x80) out += c == '\t' ? std::string("\\t") : fmt::format("\\x{:02x}", c);
    else out += char(c);
    ++i;
  }
  if (i < text.size()) out += "...";
  return out;
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

  char delimiter = ',';

  explicit CsvParser(char delim) : delimiter(delim) {
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL) != 0)
      MARQUEE_THROW("libcsv: cannot initialise the parser");
    csv_set_delim(&parser, delimiter);
  }
  ~CsvParser() { csv_free(&parser); }

  static void on_field(void* data, size_t len, void* self) {
    static_cast<CsvParser*>(self)->fields.emplace_back(data ? static_cast<const char*>(data) : "", data ? len : 0);
  }
  static void on_record(int, void* self) { ++static_cast<CsvParser*>(self)->records; }

  /// Splits one line into fields; false on malformed quoting.
  bool split(std::string_view line) {
    fields.clear();
    records = 0;
    const size_t used = csv_parse(&parser, line.data(), line.size(), on_field, on_record, this);
    const bool ok = used == line.size() && csv_fini(&parser, on_field, on_record, this) == 0;
    if (!ok) {  // reset a parser left in an error state
      csv_free(&parser);
      csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL);
      csv_set_delim(&parser, delimiter);
    }
    return ok;
  }
};

namespace {
char delimiter_by_name(const std::string& path) {
  const std::string p = without_compression_suffix(path);
  return ends_with(p, ".tsv") || ends_with(p, ".tab") ? '\t' : ',';
}
}  // namespace

RecordReader::RecordReader(std::string path, std::vector<std::string> required, std::vector<std::string> optional,
                           const TableLayout& layout)
    : path_(std::move(path)),
      required_(required.size()),
      jsonl_(is_jsonl_path(path_)),
      delimiter_(layout.delimiter ? layout.delimiter : delimiter_by_name(path_)),
      suggest_columns_flag_(layout.suggest_columns_flag),
      delimiter_flag_(layout.delimiter_flag),
      in_(path_) {
  names_ = std::move(required);
  names_.insert(names_.end(), optional.begin(), optional.end());
  file_names_ = names_;
  for (const auto& [ours, theirs] : layout.columns) {
    const auto it = std::find(names_.begin(), names_.end(), ours);
    MARQUEE_CHECK_ARG(it != names_.end(), "--columns maps '{}', which is not a column of {} (its columns: {})", ours,
                      path_, fmt::join(names_, ", "));
    file_names_[size_t(it - names_.begin())] = theirs;
  }
  if (!jsonl_) {
    csv_ = std::make_unique<CsvParser>(delimiter_);
    read_header();
  }
}

std::string RecordReader::renamed_note(size_t i) const {
  return file_names_[i] == names_[i] ? "" : fmt::format(" (column '{}')", file_names_[i]);
}

RecordReader::~RecordReader() = default;

namespace {
bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}
void strip_cr(std::string& s) {
  if (!s.empty() && s.back() == '\r') s.pop_back();
}
}  // namespace

void RecordReader::read_header() {
  std::string line;
  while (in_.getline(line)) {
    strip_cr(line);
    if (in_.line() == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    if (!is_blank(line)) break;
    line.clear();
  }
  const size_t header_line = in_.line();
  if (is_blank(line)) {  // empty file: no header, no records
    header_columns_ = 0;
    column_of_.assign(names_.size(), -1);
    return;
  }
  // Bytes that are not text: say so instead of printing them as column names.
  const size_t bad = std::min(invalid_utf8_at(line), line.find('\0'));
  MARQUEE_CHECK_INPUT(bad == std::string::npos,
                      "{}:{}: not a text file (byte 0x{:02x} at offset {} of the first line): Marquee reads CSV, TSV "
                      "or JSON Lines, plain or compressed with gzip or zstd",
                      path_, header_line, static_cast<unsigned char>(line[bad]), bad);
  MARQUEE_CHECK_INPUT(csv_->split(line), "{}:{}: malformed CSV header: {}", path_, header_line, printable(line));
  std::vector<std::string> header = csv_->fields;
  header_columns_ = header.size();
  column_of_.assign(names_.size(), -1);
  for (size_t c = 0; c < header.size(); ++c) {
    auto it = std::find(file_names_.begin(), file_names_.end(), header[c]);
    if (it == file_names_.end()) {
      ignored_.push_back(header[c]);
      continue;
    }
    // Two columns of one name: which one holds the data is a guess, so none is taken.
    const int first = column_of_[size_t(it - file_names_.begin())];
    MARQUEE_CHECK_INPUT(first < 0, "{}:{}: column '{}' appears twice in the header (columns {} and {})", path_, header_line,
                        printable(header[c]), first + 1, c + 1);
    column_of_[size_t(it - file_names_.begin())] = int(c);
  }
  for (size_t i = 0; i < required_; ++i)
    MARQUEE_CHECK_INPUT(column_of_[i] >= 0, "{}:{}: {}", path_, header_line, missing_column_message(i, header, line));
}

namespace {
// Names that data pipelines give our columns: the first of them in a header is suggested as a mapping.
const std::map<std::string, std::vector<std::string>>& column_synonyms() {
  static const std::map<std::string, std::vector<std::string>> kSynonyms{
      {"ts", {"timestamp", "time", "event_time", "event_ts", "datetime", "date_time", "event_timestamp", "created_at"}},
      {"user_id", {"user", "userid", "member_id", "member", "account_id", "profile_id", "customer_id", "viewer_id", "uid"}},
      {"title_id", {"title", "titleid", "item_id", "item", "content_id", "video_id", "asset_id", "program_id", "movie_id", "show_id"}},
      {"event", {"event_type", "type", "action", "event_name", "kind"}},
      {"position_s", {"position", "position_sec", "position_seconds", "offset_s", "offset", "playhead_s", "playhead"}},
      {"seek_to_s", {"seek_to", "seek_target_s", "seek_position_s", "seek_s"}},
  };
  return kSynonyms;
}

// A header column that probably holds our column `name`, among those nothing else took.
std::optional<std::string> guess_column(const std::string& name, const std::vector<std::string>& unused) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const auto& h : unused)
    if (lower(h) == name) return h;  // "TS", "User_Id"
  const auto it = column_synonyms().find(name);
  if (it != column_synonyms().end())
    for (const auto& synonym : it->second)
      for (const auto& h : unused)
        if (lower(h) == synonym) return h;
  return std::nullopt;
}

// The delimiter a one-column header was probably written with, when it is not the one in use.
std::optional<char> likely_delimiter(const std::string& line, char in_use) {
  for (const char c : {'\t', ',', ';', '|'})
    if (c != in_use && line.find(c) != std::string::npos) return c;
  return std::nullopt;
}

std::string delimiter_flag_value(char c) {
  switch (c) {
    case '\t': return "tab";
    case ',': return "comma";
    case ';': return "';'";
    case '|': return "'|'";
  }
  return std::string(1, c);
}
}  // namespace

std::string RecordReader::missing_column_message(size_t i, const std::vector<std::string>& header,
                                                 const std::string& line) const {
  std::vector<std::string> found, unused;
  for (const auto& h : header) found.push_back(printable(h, 40));
  if (found.size() > 20) {
    const size_t more = found.size() - 20;
    found.resize(20);
    found.push_back(fmt::format("and {} more", more));
  }
  for (const auto& h : ignored_) unused.push_back(h);
  std::string msg = fmt::format("no column '{}'{} (found: {}", file_names_[i],
                                file_names_[i] == names_[i] ? "" : fmt::format(" (mapped to '{}' by --columns)", names_[i]),
                                fmt::join(found, ", "));
  const auto other = header.size() <= 1 ? likely_delimiter(line, delimiter_) : std::nullopt;
  if (other) {
    msg += fmt::format("; the header has {} but is read with {} as the delimiter",
                       *other == '\t' ? "tabs" : fmt::format("'{}'", *other),
                       delimiter_ == '\t' ? "tab" : fmt::format("'{}'", delimiter_));
    if (!delimiter_flag_.empty()) {
      msg += fmt::format(": give {} {}", delimiter_flag_, delimiter_flag_value(*other));
      if (*other == '\t') msg += " (or name the file .tsv)";
    } else if (*other == '\t') {
      msg += ": name the file .tsv";
    }
  } else if (suggest_columns_flag_) {
    const auto guess = guess_column(names_[i], unused);
    msg += fmt::format("; map it with --columns {}={}", names_[i], guess ? *guess : "COLUMN");
  }
  return msg + ")";
}

bool RecordReader::next_line(std::string& line, size_t& line_no) {
  while (in_.getline(line)) {
    strip_cr(line);
    if (is_blank(line)) continue;
    line_no = in_.line();
    ++rows_;
    return true;
  }
  return false;
}

bool RecordReader::append_line(std::string& text, size_t& line_no) {
  const size_t from = text.size();
  while (in_.append_line(text)) {
    if (text.size() > from && text.back() == '\r') text.pop_back();
    if (is_blank(std::string_view(text).substr(from))) {
      text.resize(from);
      continue;
    }
    line_no = in_.line();
    ++rows_;
    return true;
  }
  return false;
}

bool RecordReader::next(Record& record) {
  size_t line_no = 0;
  if (!next_line(line_, line_no)) return false;
  if (!parser_) parser_ = std::make_unique<Parser>(*this);
  parser_->parse(line_, line_no, record);
  return true;
}

RecordReader::Parser::Parser(const RecordReader& reader) : reader_(reader) {
  if (!reader_.jsonl_) csv_ = std::make_unique<CsvParser>(reader_.delimiter_);
}

RecordReader::Parser::~Parser() = default;

void RecordReader::Parser::parse(std::string_view line, size_t line_no, Record& record) {
  parse(line, line_no, view_);
  record.line = line_no;
  record.raw.assign(line.data(), line.size());
  record.error = view_.error;
  const size_t n = view_.fields.size();
  record.fields.resize(n);
  record.present.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    record.fields[i].assign(view_.fields[i].data(), view_.fields[i].size());
    record.present[i] = !view_.fields[i].empty();
  }
}

void RecordReader::Parser::parse(std::string_view line, size_t line_no, RecordView& record) {
  const auto& names = reader_.names_;
  record.line = line_no;
  record.raw = line;
  record.error.clear();
  record.fields.resize(names.size());
  std::fill(record.fields.begin(), record.fields.end(), std::string_view());
  if (reader_.jsonl_) parse_jsonl(record);
  else parse_csv(record);
  // A CSV field is a piece of the line (less quotes): an ASCII line has only valid UTF-8 fields.
  // (A JSON string may spell other characters with \u escapes: its fields are always checked.)
  const bool all_valid = !reader_.jsonl_ && is_ascii(line);
  for (size_t i = 0; i < names.size() && record.error.empty() && !all_valid; ++i) {
    const size_t bad = invalid_utf8_at(record.fields[i]);
    if (bad != std::string_view::npos)
      record.error = fmt::format("{} is not valid UTF-8 (byte 0x{:02x} at offset {})", names[i],
                                 static_cast<unsigned char>(record.fields[i][bad]), bad);
  }
  if (record.error.empty()) {
    for (size_t i = 0; i < reader_.required_; ++i) {
      if (record.fields[i].empty()) {
        record.error = "missing value for '" + names[i] + "'" + reader_.renamed_note(i);
        break;
      }
    }
  }
}

void RecordReader::Parser::parse_csv(RecordView& record) {
  if (reader_.header_columns_ == 0) {
    record.error = "row before any header";
    return;
  }
  // Lines without quotes are split here; libcsv, the authority on quoting, reads the others.
  const bool plain = split_unquoted_csv(record.raw, reader_.delimiter_, plain_);
  if (!plain && !csv_->split(record.raw)) {
    record.error = "malformed CSV (unbalanced quotes)";
    return;
  }
  const size_t found = plain ? plain_.size() : csv_->fields.size();
  if (found != reader_.header_columns_) {
    record.error = "expected " + std::to_string(reader_.header_columns_) + " fields, found " + std::to_string(found);
    return;
  }
  for (size_t i = 0; i < reader_.names_.size(); ++i) {
    const int c = reader_.column_of_[i];
    if (c >= 0) record.fields[i] = plain ? plain_[size_t(c)] : std::string_view(csv_->fields[size_t(c)]);
  }
}

void RecordReader::Parser::parse_jsonl(RecordView& record) {
  const auto& file_names = reader_.file_names_;
  const nlohmann::json j = nlohmann::json::parse(record.raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    record.error = "not a JSON object";
    return;
  }
  json_.assign(file_names.size(), std::string());
  for (size_t i = 0; i < file_names.size(); ++i) {
    auto it = j.find(file_names[i]);
    if (it == j.end() || it->is_null()) continue;
    if (it->is_string()) json_[i] = it->get<std::string>();
    else if (it->is_number()) json_[i] = it->dump();
    else {
      record.error = "field '" + file_names[i] + "' must be a string or a number";
      return;
    }
    record.fields[i] = json_[i];
  }
}

}  // namespace marquee

namespace marquee {

bool split_unquoted_csv(std::string_view line, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n') return false;
  // libcsv skips spaces and tabs before a field and drops them after it, unless one is the delimiter.
  const auto is_space = [delimiter](char c) { return (c == ' ' || c == '\t') && c != delimiter; };
  const char* const begin = line.data();
  const char* field = begin;
  const auto end_field = [&](const char* at) {
    const char* b = field;
    const char* e = at;
    while (b < e && is_space(*b)) ++b;
    while (e > b && is_space(e[-1])) --e;
    fields.emplace_back(b, size_t(e - b));
    field = at + 1;
  };
  size_t i = 0;
#if defined(__SSE2__)
  // 16 bytes a step: one compare per special byte, then a bit per delimiter.
  const __m128i delim = _mm_set1_epi8(delimiter), quote = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'),
                lf = _mm_set1_epi8('\n');
  for (; i + 16 <= line.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(begin + i));
    const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf)));
    if (_mm_movemask_epi8(special) != 0) return false;
    for (auto bits = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(x, delim))); bits != 0; bits &= bits - 1)
      end_field(begin + i + unsigned(__builtin_ctz(bits)));
  }
#endif
  for (; i < line.size(); ++i) {  // the rest (all of it without SSE2)
    const char c = begin[i];
    if (c == delimiter) end_field(begin + i);
    else if (c == '"' || c == '\r' || c == '\n') return false;
  }
  const bool delimited = !fields.empty();
  end_field(begin + line.size());
  // libcsv gives a line of nothing but spaces no field at all (an empty line neither).
  if (!delimited && fields.back().empty()) fields.clear();
  return true;
}

bool is_ascii(std::string_view text) {
  const char* p = text.data();
  size_t n = text.size();
  uint64_t high = 0;  // the top bits of every byte, or-ed 8 at a time
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    high |= w;
  }
  for (; n > 0; ++p, --n) high |= uint64_t(static_cast<unsigned char>(*p));
  return (high & 0x8080808080808080ull) == 0;
}

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
