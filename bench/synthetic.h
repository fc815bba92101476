// Deterministic synthetic data for the benchmarks: a tagged catalogue, its title matrix, and user
// vectors built the way profiles are (engagement-weighted sums of watched titles' rows), with the
// watched titles as each user's exclusions. Same seed, same data, on every machine.
#pragma once

#include "engine/catalog.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace marquee::bench {

struct SyntheticShape {
  size_t users = 8192;
  size_t titles = 20000;
  size_t tags = 500;
  uint64_t seed = 1;
};

struct SyntheticUsers {
  size_t count = 0;
  size_t dim = 0;
  std::vector<float> vectors;  // count x dim, row-major, unit L2 norm
  Exclusions exclusions;       // the titles each user watched, sorted ascending
  size_t max_exclusions = 0;
};

/// Zipf(s) sampler over [0, n): rank r is drawn with probability proportional to 1 / (r + 1)^s.
class ZipfSampler {
 public:
  ZipfSampler(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t r = 0; r < n; ++r) cdf_[r] = (sum += 1.0 / std::pow(double(r + 1), s));
    for (double& c : cdf_) c /= sum;
  }
  template <class Rng>
  size_t operator()(Rng& rng) {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const size_t r = size_t(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    return std::min(r, cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

/// A catalogue of `titles` titles over `tags` tags; each title carries 10-40 distinct tags (fewer
/// if the taxonomy is smaller) picked Zipf-skewed over a shuffled tag order, weights in (0, 1].
inline Catalog make_catalog(size_t titles, size_t tags, uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 1);
  Catalog catalog;
  for (size_t j = 0; j < tags; ++j) catalog.add_tag(Tag{"tag" + std::to_string(j), "genre"});
  std::vector<uint32_t> tag_of_rank(tags);
  for (size_t j = 0; j < tags; ++j) tag_of_rank[j] = uint32_t(j);
  std::shuffle(tag_of_rank.begin(), tag_of_rank.end(), rng);
  ZipfSampler zipf(tags, 0.9);
  std::uniform_int_distribution<size_t> count_dist(10, 40);
  std::uniform_real_distribution<float> weight_dist(0.0f, 1.0f);
  for (size_t t = 0; t < titles; ++t) {
    const uint32_t title = *catalog.add_title(Title{"t" + std::to_string(t), "Title " + std::to_string(t), 5400.0, 2000});
    const size_t want = std::min(count_dist(rng), tags);
    size_t have = 0;
    for (size_t attempt = 0; have < want && attempt < 50 * want; ++attempt) {
      float w = weight_dist(rng);
      if (!(w > 0.0f)) w = 1.0f;  // (0, 1]
      if (catalog.add_assignment(TagAssignment{title, tag_of_rank[zipf(rng)], w})) ++have;
    }
  }
  return catalog;
}

/// `n` users over `m`: each watched 5-40 distinct titles (uniform), engagement weights mostly
/// positive (85 %: (0.2, 1]) and some negative (15 %: [-0.5, -0.05)); the vector is the weighted sum
/// of the watched titles' rows, L2-normalised; the watched titles are the user's exclusions.
inline SyntheticUsers make_users(const TitleMatrix& m, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed * 0xD1B54A32D192ED03ull + 7);
  SyntheticUsers u;
  u.count = n;
  u.dim = m.dim();
  u.vectors.assign(n * u.dim, 0.0f);
  u.exclusions.offsets.reserve(n + 1);
  u.exclusions.titles.reserve(n * 23);
  const size_t n_titles = m.num_titles();
  std::uniform_int_distribution<size_t> count_dist(5, 40);
  std::uniform_int_distribution<uint32_t> title_dist(0, uint32_t(n_titles - 1));
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const uint64_t* row_ptr = m.row_ptr().data();
  const uint32_t* col = m.col_idx().data();
  const float* val = m.values().data();
  std::vector<uint32_t> watched;
  for (size_t i = 0; i < n; ++i) {
    const size_t want = std::min(count_dist(rng), n_titles);
    watched.clear();
    while (watched.size() < want) {
      const uint32_t t = title_dist(rng);
      if (std::find(watched.begin(), watched.end(), t) == watched.end()) watched.push_back(t);
    }
    float* v = u.vectors.data() + i * u.dim;
    for (uint32_t t : watched) {
      const float w = unit(rng) < 0.85f ? 0.2f + 0.8f * unit(rng) : -(0.05f + 0.45f * unit(rng));
      for (uint64_t p = row_ptr[t]; p < row_ptr[t + 1]; ++p) v[col[p]] += w * val[p];
    }
    l2_normalise(v, u.dim);
    std::sort(watched.begin(), watched.end());
    u.exclusions.titles.insert(u.exclusions.titles.end(), watched.begin(), watched.end());
    u.exclusions.offsets.push_back(u.exclusions.titles.size());
    u.max_exclusions = std::max(u.max_exclusions, watched.size());
  }
  return u;
}

/// Exclusions of users [first, first + count) re-based to start at 0 (a batch's own CSR).
inline Exclusions slice_exclusions(const Exclusions& all, size_t first, size_t count) {
  Exclusions ex;
  const uint64_t base = all.offsets[first];
  ex.offsets.resize(count + 1);
  for (size_t i = 0; i <= count; ++i) ex.offsets[i] = all.offsets[first + i] - base;
  ex.titles.assign(all.titles.begin() + base, all.titles.begin() + all.offsets[first + count]);
  return ex;
}

}  // namespace marquee::bench
