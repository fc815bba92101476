#include "host/io/results_io.h"

#include "engine/error.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace marquee {

ResultFormat parse_result_format(const std::string& text, const std::string& path) {
  MARQUEE_CHECK_ARG(text == "auto" || text == "csv" || text == "jsonl",
                    "unknown output format '{}': expected auto, csv or jsonl", text);
  // The file name's extension, lower-cased ("" without one).
  const std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  std::string ext = name.find('.') == std::string::npos ? "" : name.substr(name.find_last_of('.'));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const bool csv_name = ext == ".csv", jsonl_name = ext == ".jsonl" || ext == ".ndjson" || ext == ".json";
  if (text == "auto") {
    // A name that promises another format (r.parquet, r.csv.gz) must not get plain CSV under it.
    MARQUEE_CHECK_ARG(ext.empty() || csv_name || jsonl_name,
                      "--out {}: '{}' is not a format marquee writes: name it .csv (CSV) or .jsonl (JSON Lines), or "
                      "give --format csv|jsonl to write that format under this name",
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
    : file_(path), format_(format), artwork_(artwork) {
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

void ResultsWriter::write(const std::vector<std::string>& user_ids, const TopKResult& result, const Catalog& catalog,
                          const std::vector<uint32_t>* chosen) {
  MARQUEE_ASSERT(result.counts.size() == user_ids.size());
  MARQUEE_ASSERT((artwork_ != nullptr) == (chosen != nullptr));
  MARQUEE_ASSERT(!chosen || chosen->size() == user_ids.size() * result.k);
  fmt::memory_buffer buf;
  for (size_t u = 0; u < user_ids.size(); ++u) {
    const std::string user = format_ == ResultFormat::Csv ? csv_field(user_ids[u]) : nlohmann::json(user_ids[u]).dump();
    for (size_t r = 0; r < result.counts[u]; ++r) {
      const std::string& title_id = catalog.title(result.titles[u * result.k + r]).id;
      const float score = result.scores[u * result.k + r];
      const uint32_t variant = chosen ? (*chosen)[u * result.k + r] : kNoArtwork;
      if (chosen) {  // variants come at random: fetch later rows' ids (and before that, their offsets) now
        const size_t row = u * result.k + r, rows = user_ids.size() * result.k;
        if (row + 16 < rows && (*chosen)[row + 16] != kNoArtwork) __builtin_prefetch(&artwork_offsets_[(*chosen)[row + 16]]);
        if (row + 8 < rows && (*chosen)[row + 8] != kNoArtwork)
          __builtin_prefetch(artwork_text_.data() + artwork_offsets_[(*chosen)[row + 8]]);
      }
      if (format_ == ResultFormat::Csv) {
        fmt::format_to(std::back_inserter(buf), "{},{},{},{:.6f}", user, r + 1, csv_field(title_id), score);
        if (chosen) {
          buf.push_back(',');
          if (variant != kNoArtwork)
            buf.append(artwork_text_.data() + artwork_offsets_[variant], artwork_text_.data() + artwork_offsets_[variant + 1]);
        }
        buf.push_back('\n');
      } else {
        fmt::format_to(std::back_inserter(buf), "{{\"user_id\":{},\"rank\":{},\"title_id\":{},\"score\":{:.6f}", user,
                       r + 1, nlohmann::json(title_id).dump(), score);
        if (chosen)
          fmt::format_to(std::back_inserter(buf), ",\"artwork_id\":{}",
                         variant == kNoArtwork ? std::string_view("null")
                                               : std::string_view(artwork_text_.data() + artwork_offsets_[variant],
                                                                  artwork_offsets_[variant + 1] - artwork_offsets_[variant]));
        fmt::format_to(std::back_inserter(buf), "}}\n");
      }
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
