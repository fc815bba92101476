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

  m.row_ptr_.assign(m.num_titles_ + 1, 0);
  for (size_t t = 0; t < m.num_titles_; ++t) {
    float* row = m.dense_.data() + t * m.dim_;
    if (l2_normalise(row, m.dim_) == 0) m.untagged_.push_back(uint32_t(t));
    for (size_t j = 0; j < m.dim_; ++j) {
      if (row[j] != 0.0f) {
        m.col_idx_.push_back(uint32_t(j));
        m.values_.push_back(row[j]);
      }
    }
    m.row_ptr_[t + 1] = m.col_idx_.size();
  }
  return m;
}

double TitleMatrix::density() const {
  if (num_titles_ == 0 || dim_ == 0) return 0;
  return double(values_.size()) / (double(num_titles_) * double(dim_));
}

}  // namespace marquee
