#include "engine/title_matrix.h"

#include "engine/error.h"

#include <algorithm>
#include <cmath>

namespace marquee {

double l2_normalise(float* v, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += double(v[i]) * v[i];
  const double norm = std::sqrt(sum);
  if (norm > 0) {
    const float inv = float(1.0 / norm);
    for (size_t i = 0; i < n; ++i) v[i] *= inv;
  }
  return norm;
}

TitleMatrix TitleMatrix::build(const Catalog& catalog) {
  MARQUEE_CHECK_INPUT(catalog.num_titles() > 0, "the catalogue has no titles");
  MARQUEE_CHECK_INPUT(catalog.num_tags() > 0, "the catalogue has no tags (tags.csv is empty)");
  MARQUEE_CHECK_INPUT(!catalog.assignments().empty(),
                      "the catalogue has no tag assignments (title_tags.csv is empty): titles cannot be compared");

  TitleMatrix m;
  m.num_titles_ = catalog.num_titles();
  m.dim_ = catalog.num_tags();

  std::vector<uint32_t> df(m.dim_, 0);
  for (const auto& a : catalog.assignments()) ++df[a.tag];
  m.idf_.resize(m.dim_);
  const double n = double(m.num_titles_);
  for (size_t j = 0; j < m.dim_; ++j) m.idf_[j] = float(std::log((1.0 + n) / (1.0 + df[j])) + 1.0);

  m.dense_.assign(m.num_titles_ * m.dim_, 0.0f);
  for (const auto& a : catalog.assignments()) m.dense_[size_t(a.title) * m.dim_ + a.tag] = a.weight * m.idf_[a.tag];

  for (size_t t = 0; t < m.num_titles_; ++t) l2_normalise(m.dense_.data() + t * m.dim_, m.dim_);
  m.build_csr();
  return m;
}

TitleMatrix TitleMatrix::from_rows(size_t n, size_t dim, std::vector<float> rows) {
  MARQUEE_CHECK_ARG(n > 0 && dim > 0 && rows.size() == n * dim, "title rows: {} values for {} x {}", rows.size(), n,
                    dim);
  TitleMatrix m;
  m.num_titles_ = n;
  m.dim_ = dim;
  m.dense_ = std::move(rows);
  m.build_csr();
  return m;
}

void TitleMatrix::build_csr() {
  row_ptr_.assign(num_titles_ + 1, 0);
  col_idx_.clear();
  values_.clear();
  untagged_.clear();
  for (size_t t = 0; t < num_titles_; ++t) {
    const float* row = dense_.data() + t * dim_;
    for (size_t j = 0; j < dim_; ++j) {
      if (row[j] != 0.0f) {
        col_idx_.push_back(uint32_t(j));
        values_.push_back(row[j]);
      }
    }
    row_ptr_[t + 1] = col_idx_.size();
    if (row_ptr_[t + 1] == row_ptr_[t]) untagged_.push_back(uint32_t(t));
  }
}

double TitleMatrix::density() const {
  if (num_titles_ == 0 || dim_ == 0) return 0;
  return double(values_.size()) / (double(num_titles_) * double(dim_));
}

}  // namespace marquee
