#include "host/results_io.h"

#include "engine/error.h"
#include "host/record_reader.h"
#include "host/rejects.h"

#include <nlohmann/json.hpp>

namespace marquee {

ResultFormat parse_result_format(const std::string& text, const std::string& path) {
  if (text == "csv") return ResultFormat::Csv;
  if (text == "jsonl") return ResultFormat::Jsonl;
  MARQUEE_CHECK_ARG(text == "auto", "unknown output format '{}': expected auto, csv or jsonl", text);
  return is_jsonl_path(path) ? ResultFormat::Jsonl : ResultFormat::Csv;
}

ResultsWriter::ResultsWriter(const std::string& path, ResultFormat format) : file_(path), format_(format) {
  if (format_ == ResultFormat::Csv) file_.write("user_id,rank,title_id,score\n");
}

void ResultsWriter::write(const std::vector<std::string>& user_ids, const TopKResult& result, const Catalog& catalog) {
  MARQUEE_ASSERT(result.counts.size() == user_ids.size());
  fmt::memory_buffer buf;
  for (size_t u = 0; u < user_ids.size(); ++u) {
    const std::string user = format_ == ResultFormat::Csv ? csv_field(user_ids[u]) : nlohmann::json(user_ids[u]).dump();
    for (size_t r = 0; r < result.counts[u]; ++r) {
      const std::string& title_id = catalog.title(result.titles[u * result.k + r]).id;
      const float score = result.scores[u * result.k + r];
      if (format_ == ResultFormat::Csv)
        fmt::format_to(std::back_inserter(buf), "{},{},{},{:.6f}\n", user, r + 1, csv_field(title_id), score);
      else
        fmt::format_to(std::back_inserter(buf), "{{\"user_id\":{},\"rank\":{},\"title_id\":{},\"score\":{:.6f}}}\n",
                       user, r + 1, nlohmann::json(title_id).dump(), score);
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
