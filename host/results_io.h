// Writes top-K results as CSV (`user_id,rank,title_id,score`) or JSON Lines with the same fields,
// streamed batch by batch into an AtomicFile so the output appears whole or not at all.
#pragma once

#include "engine/catalog.h"
#include "engine/scorer.h"
#include "host/atomic_file.h"

#include <string>
#include <vector>

namespace marquee {

enum class ResultFormat { Csv, Jsonl };

/// Format from "csv" | "jsonl" | "auto" (auto: by the output file's extension).
ResultFormat parse_result_format(const std::string& text, const std::string& path);

class ResultsWriter {
 public:
  ResultsWriter(const std::string& path, ResultFormat format);
  /// Writes the results of one batch: user_ids[u] owns row u of `result`.
  void write(const std::vector<std::string>& user_ids, const TopKResult& result, const Catalog& catalog);
  void commit();
  size_t rows() const { return rows_; }

 private:
  AtomicFile file_;
  ResultFormat format_;
  size_t rows_ = 0;
};

}  // namespace marquee
