#include "host/io/results_io.h"

#include "engine/error.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace marquee {

ResultFormat parse_result_format(const std::string& text, const std::string& path) {
  MARQUEE_CHECK_ARG(text == "auto" || text == "csv" || text == "jsonl",
                    "unknown output format '{}': expected auto, csv or jsonl", text);
  // The file name's extension, lower-cased ("" without one), under any compression suffix (which
  // output_compression_of reads the same way).
  std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  name = without_compression_suffix(name);
  const std::string ext = name.find('.') == std::string::npos ? "" : name.substr(name.find_last_of('.'));
  const bool csv_name = ext == ".csv", jsonl_name = ext == ".jsonl" || ext == ".ndjson" || ext == ".json";
  if (text == "auto") {
    // A name that promises another format (r.parquet, r.csv.bz2) must not get plain CSV under it.
    MARQUEE_CHECK_ARG(ext.empty() || csv_name || jsonl_name,
                      "--out {}: '{}' is not a format marquee writes: name it .csv (CSV) or .jsonl (JSON Lines), "
                      "optionally compressed (.csv.gz, .jsonl.zst), or give --format csv|jsonl to write that format "
                      "under this name",
                      path, ext);
    return jsonl_name ? ResultFormat::Jsonl : ResultFormat::Csv;
  }
  const ResultFormat f = text == "csv" ? ResultFormat::Csv : ResultFormat::Jsonl;
  MARQUEE_CHECK_ARG(!(f == ResultFormat::Csv && jsonl_name) && !(f == ResultFormat::Jsonl && csv_name),
                    "--format {} contradicts --out {}: name the file .{} or drop --format", text, path,
                    f == ResultFormat::Csv ? "csv" : "jsonl");
  return f;
}

ResultsWriter::ResultsWriter(const std::string& path, ResultFormat format, const Artwork* artwork)
    : file_(path, output_compression_of(path)), format_(format), artwork_(artwork) {
  if (format_ == ResultFormat::Csv)
    file_.write(artwork_ ? "user_id,rank,title_id,score,artwork_id\n" : "user_id,rank,title_id,score\n");
  if (artwork_) {
    artwork_offsets_.reserve(artwork_->num_variants() + 1);
    artwork_offsets_.push_back(0);
    for (uint32_t v = 0; v < artwork_->num_variants(); ++v) {
      artwork_text_ += format_ == ResultFormat::Csv ? csv_field(artwork_->artwork_id(v))
                                                    : nlohmann::json(artwork_->artwork_id(v)).dump();
      MARQUEE_CHECK_ARG(artwork_text_.size() < UINT32_MAX, "artwork ids: more than 4 GiB of text");
      artwork_offsets_.push_back(uint32_t(artwork_text_.size()));
    }
  }
}

void append_score(fmt::memory_buffer& out, float score) {
  // score * 10^6 is exact in a double (a float's 24-bit significand times 5^6 needs 38 bits), so
  // rounding it to an integer, half to even as fmt does, gives fmt's six decimals digit for digit.
  const double scaled = double(score) * 1e6;
  if (!(std::fabs(scaled) < 1e18)) {  // huge, infinite or NaN: fmt's own path
    fmt::format_to(std::back_inserter(out), "{:.6f}", score);
    return;
  }
  const auto units = uint64_t(std::fabs(std::nearbyint(scaled)));
  if (std::signbit(score)) out.push_back('-');  // fmt writes -0.000000 for -0 and for -1e-9 alike
  const fmt::format_int whole(units / 1000000);
  out.append(whole.data(), whole.data() + whole.size());
  char frac[7] = {'.'};
  for (uint64_t f = units % 1000000, i = 6; i > 0; --i, f /= 10) frac[i] = char('0' + f % 10);
  out.append(frac, frac + 7);
}

namespace {
void append_int(fmt::memory_buffer& out, size_t v) {
  const fmt::format_int text(v);
  out.append(text.data(), text.data() + text.size());
}

// What goes around the fields of a row: CSV `user,rank,title,score[,artwork]`, JSON Lines the same
// fields by name.
struct RowText {
  std::string_view open, rank, title, score, artwork, close;
};
constexpr RowText kCsvRow{"", ",", ",", ",", ",", "\n"};
constexpr RowText kJsonRow{"{\"user_id\":", ",\"rank\":", ",\"title_id\":", ",\"score\":", ",\"artwork_id\":", "}\n"};
}  // namespace

void ResultsWriter::write(const std::vector<std::string>& user_ids, const TopKResult& result, const Catalog& catalog,
                          const std::vector<uint32_t>* chosen) {
  MARQUEE_ASSERT(result.counts.size() == user_ids.size());
  MARQUEE_ASSERT((artwork_ != nullptr) == (chosen != nullptr));
  MARQUEE_ASSERT(!chosen || chosen->size() == user_ids.size() * result.k);
  const bool csv = format_ == ResultFormat::Csv;
  const RowText& around = csv ? kCsvRow : kJsonRow;
  if (titles_of_ != &catalog || title_offsets_.size() != catalog.num_titles() + 1) {
    titles_of_ = &catalog;
    title_offsets_.assign(1, 0);
    title_text_.clear();
    for (const Title& t : catalog.titles()) {
      title_text_ += csv ? csv_field(t.id) : nlohmann::json(t.id).dump();
      MARQUEE_CHECK_ARG(title_text_.size() < UINT32_MAX, "title ids: more than 4 GiB of text");
      title_offsets_.push_back(uint32_t(title_text_.size()));
    }
  }
  const auto title_text = [&](uint32_t t) {
    return std::string_view(title_text_.data() + title_offsets_[t], title_offsets_[t + 1] - title_offsets_[t]);
  };
  const auto append = [](fmt::memory_buffer& buf, std::string_view s) { buf.append(s.data(), s.data() + s.size()); };
  fmt::memory_buffer buf;
  std::string user;
  for (size_t u = 0; u < user_ids.size(); ++u) {
    user = csv ? csv_field(user_ids[u]) : nlohmann::json(user_ids[u]).dump();
    for (size_t r = 0; r < result.counts[u]; ++r) {
      const uint32_t title = result.titles[u * result.k + r];
      MARQUEE_ASSERT(title < catalog.num_titles());
      const float score = result.scores[u * result.k + r];
      const uint32_t variant = chosen ? (*chosen)[u * result.k + r] : kNoArtwork;
      if (chosen) {  // variants come at random: fetch later rows' ids (and before that, their offsets) now
        const size_t row = u * result.k + r, rows = user_ids.size() * result.k;
        if (row + 16 < rows && (*chosen)[row + 16] != kNoArtwork) __builtin_prefetch(&artwork_offsets_[(*chosen)[row + 16]]);
        if (row + 8 < rows && (*chosen)[row + 8] != kNoArtwork)
          __builtin_prefetch(artwork_text_.data() + artwork_offsets_[(*chosen)[row + 8]]);
      }
      append(buf, around.open);
      append(buf, user);
      append(buf, around.rank);
      append_int(buf, r + 1);
      append(buf, around.title);
      append(buf, title_text(title));
      append(buf, around.score);
      append_score(buf, score);
      if (chosen) {  // a variant's id, or none: empty (CSV) or null (JSON Lines)
        append(buf, around.artwork);
        append(buf, variant != kNoArtwork ? std::string_view(artwork_text_.data() + artwork_offsets_[variant],
                                                             artwork_offsets_[variant + 1] - artwork_offsets_[variant])
                    : csv               ? std::string_view()
                                        : std::string_view("null"));
      }
      append(buf, around.close);
      ++rows_;
    }
    if (buf.size() > (1 << 20)) {
      file_.write(std::string_view(buf.data(), buf.size()));
      buf.clear();
    }
  }
  file_.write(std::string_view(buf.data(), buf.size()));
}

void ResultsWriter::commit() { file_.commit(); }

}  // namespace marquee
