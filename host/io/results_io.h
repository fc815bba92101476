// Writes top-K results as CSV (`user_id,rank,title_id,score`) or JSON Lines with the same fields,
// streamed batch by batch into an AtomicFile so the output appears whole or not at all. With
// artwork (`score --artwork`), a fifth field `artwork_id`: the chosen variant, empty (CSV) or null
// (JSON Lines) when the title has no variants (docs/artwork.md).
#pragma once

#include "engine/artwork.h"
#include "engine/catalog.h"
#include "engine/scorer.h"
#include "host/io/compressed_sink.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace marquee {

enum class ResultFormat { Csv, Jsonl };

/// Format from "csv" | "jsonl" | "auto" (auto: by the output file's extension, under a ".gz" or
/// ".zst" that asks for compression: recs.csv.gz is gzip-compressed CSV).
ResultFormat parse_result_format(const std::string& text, const std::string& path);

class ResultsWriter {
 public:
  /// `artwork`: add the artwork_id column (the Artwork must outlive the writer).
  ResultsWriter(const std::string& path, ResultFormat format, const Artwork* artwork = nullptr);
  /// Writes the results of one batch: user_ids[u] owns row u of `result`. With artwork,
  /// `chosen` (ArtworkChooser::choose of the same result) gives each row's variant.
  void write(const std::vector<std::string>& user_ids, const TopKResult& result, const Catalog& catalog,
             const std::vector<uint32_t>* chosen = nullptr);
  void commit();
  size_t rows() const { return rows_; }

 private:
  CompressedSink file_;  // plain, gzip or zstd by the name's last extension
  ResultFormat format_;
  const Artwork* artwork_ = nullptr;
  // Each variant's id as written (quoted once, not per row), packed: variant v is
  // artwork_text_[artwork_offsets_[v], artwork_offsets_[v + 1]). Rows reach variants at random; a
  // compact arena keeps those reads in cache (a vector of strings cost 50 ns a row in misses).
  std::vector<uint32_t> artwork_offsets_;
  std::string artwork_text_;
  // The same for the catalogue's title ids (CSV field or JSON string), made on the first write:
  // quoting each one per row was a third of the time spent formatting.
  const Catalog* titles_of_ = nullptr;
  std::vector<uint32_t> title_offsets_;
  std::string title_text_;
  size_t rows_ = 0;
};

/// Appends `score` exactly as fmt's "{:.6f}" writes it, without fmt's general float path (a score
/// is formatted for every row of every result file).
void append_score(fmt::memory_buffer& out, float score);

}  // namespace marquee
