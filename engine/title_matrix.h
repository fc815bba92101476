// Title vectors in tag space: each title's expert tag weights times the tag's inverse document
// frequency over the catalogue, L2-normalised, so that an inner product is a cosine.
// Kept twice: dense row-major [titles x tags] for GEMM-style scoring and explanations, and CSR for
// the sparse scoring path (a title carries tens of tags out of hundreds).
#pragma once

#include "engine/catalog.h"

#include <cstdint>
#include <vector>

namespace marquee {

class TitleMatrix {
 public:
  /// Builds IDF-weighted, L2-normalised title vectors. Throws InputError for a catalogue with no
  /// titles or no tags.
  static TitleMatrix build(const Catalog& catalog);

  /// Title vectors given directly (row-major n x dim), e.g. learned embeddings; no IDF, no
  /// normalisation. The CSR form keeps the non-zeros.
  static TitleMatrix from_rows(size_t n, size_t dim, std::vector<float> rows);

  size_t num_titles() const { return num_titles_; }
  size_t dim() const { return dim_; }

  /// Dense row of title `t` (dim() floats).
  const float* row(size_t t) const { return dense_.data() + t * dim_; }
  const std::vector<float>& dense() const { return dense_; }

  // CSR view of the same values: row t spans [row_ptr[t], row_ptr[t+1]).
  const std::vector<uint64_t>& row_ptr() const { return row_ptr_; }
  const std::vector<uint32_t>& col_idx() const { return col_idx_; }
  const std::vector<float>& values() const { return values_; }

  /// idf[tag] = ln((1 + N) / (1 + df)) + 1, N titles, df titles carrying the tag (empty for from_rows).
  const std::vector<float>& idf() const { return idf_; }
  /// Fraction of non-zero entries (nnz / (titles * dim)).
  double density() const;
  /// Titles with no tags (zero vectors: they score 0 for everyone).
  const std::vector<uint32_t>& untagged_titles() const { return untagged_; }

 private:
  void build_csr();

  size_t num_titles_ = 0;
  size_t dim_ = 0;
  std::vector<float> dense_;
  std::vector<uint64_t> row_ptr_;
  std::vector<uint32_t> col_idx_;
  std::vector<float> values_;
  std::vector<float> idf_;
  std::vector<uint32_t> untagged_;
};

/// Normalises `v` (n floats) to unit L2 norm in place; returns the norm before (0 leaves v unchanged).
double l2_normalise(float* v, size_t n);

}  // namespace marquee
