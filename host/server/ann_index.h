// Approximate nearest-neighbour search for the front service: a FAISS CPU index chosen by an
// index_factory string ("HNSW32", "IVF4096,Flat", "Flat", ...) over title (or user) vectors, inner
// product metric (the vectors are L2-normalised, so scores are cosines as in the exact scorer).
// Built in memory, saved to and loaded from disk (faiss::write_index, plus a small JSON sidecar that
// says what the index was built from), and measured at build time: recall@K against exact search.
//
// This is a separate searcher used only when `serve --index` is given; the exact Scorer
// (engine/scorer.h) stays the one interface for exact search and the default.
#pragma once

#include "engine/scorer.h"

#include <cstdint>
#include <memory>
#include <string>

namespace faiss {
struct Index;
}

namespace marquee::server {

/// What an index was built from, kept next to it on disk (`<path>.json`) so that a stale index is
/// rebuilt instead of silently serving another catalogue's rows.
struct AnnIndexInfo {
  std::string factory;
  std::string over = "titles";  // what the rows are: titles or users
  size_t rows = 0;
  size_t dim = 0;
  uint64_t fingerprint = 0;     // catalogue fingerprint the rows were built from
  double build_seconds = 0;
  // Recall@K against exact search, measured at build time on `recall_queries` queries.
  double recall = -1;           // -1: not measured
  size_t recall_k = 0;
  size_t recall_queries = 0;
};

class AnnIndex {
 public:
  ~AnnIndex();
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  /// Builds `factory` over `rows` x `dim` row-major vectors (trains first when the index needs it).
  /// Throws ArgumentError for a factory string FAISS does not know, with FAISS's message.
  static std::unique_ptr<AnnIndex> build(const std::string& factory, const float* vectors, size_t rows, size_t dim,
                                         AnnIndexInfo info = {});
  /// Loads an index written by save(); throws InputError when missing or unreadable.
  static std::unique_ptr<AnnIndex> load(const std::string& path);
  /// Reads only the sidecar of a saved index; false when there is none or it is unreadable.
  static bool read_info(const std::string& path, AnnIndexInfo& info);

  /// Writes the index and its sidecar atomically (temporary files renamed into place).
  void save(const std::string& path) const;

  /// FAISS search-time parameters, e.g. "nprobe=32" or "efSearch=128" (faiss::ParameterSpace
  /// syntax); empty does nothing. Throws ArgumentError for a parameter the index does not have.
  void set_search_params(const std::string& params);

  /// Top-K rows for each query of the batch, best first, with the batch's exclusions applied (FAISS
  /// is asked for K + the longest exclusion list, then excluded rows are dropped). Ties break by the
  /// lower row index, as in the exact scorer. Thread-safe for concurrent searches.
  void search(const UserBatchView& batch, size_t k, TopKResult& out) const;

  /// Recall@k against `exact` on `count` queries (row-major, dim floats each), no exclusions:
  /// the mean over queries of |ANN top-k ∩ exact top-k| / k. Records it in info().
  double measure_recall(Scorer& exact, const float* queries, size_t count, size_t k);

  size_t rows() const;
  size_t dim() const;
  const AnnIndexInfo& info() const { return info_; }
  std::string describe() const;

 private:
  AnnIndex(std::unique_ptr<faiss::Index> index, AnnIndexInfo info);
  std::unique_ptr<faiss::Index> index_;
  AnnIndexInfo info_;
};

}  // namespace marquee::server
