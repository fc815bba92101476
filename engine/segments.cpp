#include "engine/segments.h"

#include "engine/error.h"

#include <cblas.h>
#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace marquee {
namespace {

// Scores of n points against k centroids (n x k), by SGEMM.
std::vector<float> similarities(const float* points, size_t n, size_t dim, const float* centroids, size_t k) {
  std::vector<float> s(n * k, 0.0f);
  if (n == 0) return s;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(k), int(dim), 1.0f, points, int(dim), centroids,
              int(dim), 0.0f, s.data(), int(k));
  return s;
}

bool is_zero(const float* v, size_t dim) {
  for (size_t j = 0; j < dim; ++j)
    if (v[j] != 0.0f) return false;
  return true;
}

}  // namespace

void check_kmeans_arguments(const float* points, size_t n, size_t dim, const KMeansOptions& o) {
  MARQUEE_CHECK_ARG(o.k >= 1, "the number of segments must be at least 1; got {}", o.k);
  MARQUEE_CHECK_ARG(o.k <= n, "{} segments for {} users with usable signal: K must not exceed the users", o.k, n);
  MARQUEE_CHECK_ARG(dim >= 1, "k-means of 0-dimensional points");
  MARQUEE_CHECK_ARG(o.iterations >= 1, "k-means needs at least 1 iteration; got {}", o.iterations);
  MARQUEE_CHECK_ARG(o.k <= size_t(std::numeric_limits<int>::max()) && n <= size_t(std::numeric_limits<int>::max()) &&
                        dim <= size_t(std::numeric_limits<int>::max()),
                    "k-means of {} points of {} dims into {} segments: each must stay below 2^31", n, dim, o.k);
  for (size_t i = 0; i < n * dim; ++i)
    MARQUEE_CHECK_ARG(std::isfinite(points[i]), "k-means point {} has a non-finite value ({}) in dimension {}", i / dim,
                      points[i], i % dim);
}

KMeansResult spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& o) {
  check_kmeans_arguments(points, n, dim, o);
  faiss::ClusteringParameters cp;
  cp.niter = int(std::max<size_t>(1, o.iterations));
  cp.spherical = true;
  cp.seed = int(o.seed & 0x7fffffff);
  cp.min_points_per_centroid = 1;  // small audiences are fine; FAISS would only warn
  cp.max_points_per_centroid = int(std::max<size_t>(1, o.max_points_per_centroid));
  cp.verbose = false;
  faiss::Clustering clus(int(dim), int(o.k), cp);
  faiss::IndexFlatIP index{faiss::Index::idx_t(dim)};
  clus.train(faiss::Index::idx_t(n), points, index);

  KMeansResult r;
  r.k = o.k;
  r.dim = dim;
  r.centroids = clus.centroids;
  for (const auto& st : clus.iteration_stats) r.faiss_splits += size_t(st.nsplit);
  finish_kmeans(points, n, dim, o, r);
  return r;
}

void finish_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& o, KMeansResult& r) {
  MARQUEE_ASSERT(r.k == o.k && r.dim == dim && r.centroids.size() == o.k * dim && r.mean.empty());
  // Every segment must own at least one training point. An empty one is re-seeded with the point
  // that fits its own centroid worst (from a segment with more than one point), and the assignment
  // is repeated; each re-seeded segment is reported.
  std::vector<int32_t> seg(n);
  std::vector<float> sim(n);
  auto reseed_empty = [&] {
    bool any = false;
    for (size_t round = 0; round <= o.k; ++round) {
      assign_segments(points, n, dim, r, seg.data(), sim.data());
      std::vector<size_t> count(o.k, 0);
      for (int32_t s : seg)
        if (s >= 0) ++count[size_t(s)];
      const auto empty = std::find(count.begin(), count.end(), size_t(0));
      if (empty == count.end()) break;
      const size_t e = size_t(empty - count.begin());
      size_t worst = n;
      for (size_t i = 0; i < n; ++i)
        if (seg[i] >= 0 && count[size_t(seg[i])] > 1 && (worst == n || sim[i] < sim[worst])) worst = i;
      if (worst == n) break;  // fewer distinct points than segments: nothing left to move
      std::copy(points + worst * dim, points + (worst + 1) * dim, r.centroids.begin() + e * dim);
      if (std::find(r.reseeded.begin(), r.reseeded.end(), uint32_t(e)) == r.reseeded.end())
        r.reseeded.push_back(uint32_t(e));
      any = true;
    }
    return any;
  };
  if (reseed_empty()) {
    // A few plain spherical Lloyd steps so that the re-seeded centroids settle, then a last check.
    for (int it = 0; it < 5; ++it) {
      std::vector<double> sum(o.k * dim, 0.0);
      for (size_t i = 0; i < n; ++i)
        if (seg[i] >= 0)
          for (size_t j = 0; j < dim; ++j) sum[size_t(seg[i]) * dim + j] += points[i * dim + j];
      for (size_t c = 0; c < o.k; ++c) {
        double norm = 0;
        for (size_t j = 0; j < dim; ++j) norm += sum[c * dim + j] * sum[c * dim + j];
        if (norm <= 0) continue;  // keep the seed
        for (size_t j = 0; j < dim; ++j) r.centroids[c * dim + j] = float(sum[c * dim + j] / std::sqrt(norm));
      }
      assign_segments(points, n, dim, r, seg.data(), sim.data());
    }
    reseed_empty();
  }
  r.objective = 0;
  for (size_t i = 0; i < n; ++i)
    if (seg[i] >= 0) r.objective += sim[i];
}

void center_rows(float* rows, size_t n, size_t dim, const float* mean) {
  for (size_t i = 0; i < n; ++i) {
    float* x = rows + i * dim;
    if (is_zero(x, dim)) continue;
    for (size_t j = 0; j < dim; ++j) x[j] -= mean[j];
    l2_normalise(x, dim);
  }
}

void UserMean::add(const UserProfiles& batch) {
  if (sum_.empty()) sum_.assign(batch.dim, 0.0);
  MARQUEE_CHECK_ARG(batch.dim == sum_.size(), "profiles of {} dims for a mean of {}", batch.dim, sum_.size());
  for (size_t u = 0; u < batch.size(); ++u) {
    if (!batch.summaries[u].usable) continue;
    const float* v = batch.vector(u);
    for (size_t j = 0; j < sum_.size(); ++j) sum_[j] += v[j];
    ++users_;
  }
}

std::vector<float> UserMean::mean() const {
  std::vector<float> m(sum_.size(), 0.0f);
  if (users_ > 0)
    for (size_t j = 0; j < m.size(); ++j) m[j] = float(sum_[j] / double(users_));
  return m;
}

void assign_segments(const float* points, size_t n, size_t dim, const KMeansResult& m, int32_t* segment,
                     float* similarity) {
  MARQUEE_CHECK_ARG(dim == m.dim, "points of {} dims for centroids of {}", dim, m.dim);
  MARQUEE_CHECK_ARG(m.mean.empty() || m.mean.size() == dim, "a mean of {} dims for points of {}", m.mean.size(), dim);
  constexpr size_t kBlock = 8192;
  std::vector<float> centred;
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t nb = std::min(kBlock, n - b);
    const float* block = points + b * dim;
    if (!m.mean.empty()) {
      centred.assign(block, block + nb * dim);
      center_rows(centred.data(), nb, dim, m.mean.data());
      block = centred.data();
    }
    const std::vector<float> s = similarities(block, nb, dim, m.centroids.data(), m.k);
    for (size_t i = 0; i < nb; ++i) {
      const float* row = s.data() + i * m.k;
      int32_t best = -1;
      float best_s = 0;
      // No signal (a zero vector), or nothing left once centred (a user exactly at the mean, left
      // out of training too): no segment.
      if (!is_zero(points + (b + i) * dim, dim) && (m.mean.empty() || !is_zero(block + i * dim, dim))) {
        best = 0;
        best_s = row[0];
        for (size_t c = 1; c < m.k; ++c)
          if (row[c] > best_s) {
            best_s = row[c];
            best = int32_t(c);
          }
      }
      segment[b + i] = best;
      if (similarity) similarity[b + i] = best_s;
    }
  }
}

SegmentDescriber::SegmentDescriber(size_t segments, size_t dim, size_t titles)
    : k_(segments),
      dim_(dim),
      titles_(titles),
      users_(segments + 1, 0),
      usable_(segments + 1, 0),
      sum_((segments + 1) * dim, 0.0),
      viewers_((segments + 1) * titles, 0),
      daypart_(segments * 24, 0.0) {}

void SegmentDescriber::add(const UserProfiles& batch, const int32_t* segment) {
  for (size_t u = 0; u < batch.size(); ++u) {
    const int32_t s = segment[u];
    MARQUEE_CHECK_ARG(s < int32_t(k_), "segment {} outside the {} segments", s, k_);
    // The user counts in its segment (if any) and in the all-users row k_.
    const size_t rows[2] = {k_, s >= 0 ? size_t(s) : k_};
    for (size_t ri = 0; ri < (s >= 0 ? 2u : 1u); ++ri) {
      const size_t row = rows[ri];
      ++users_[row];
      if (batch.summaries[u].usable) {
        ++usable_[row];
        for (size_t j = 0; j < dim_; ++j) sum_[row * dim_ + j] += batch.vector(u)[j];
      }
      for (const SeenTitle* t = batch.seen_begin(u); t != batch.seen_end(u); ++t) ++viewers_[row * titles_ + t->title];
    }
    if (s >= 0)
      for (size_t h = 0; h < 24; ++h) daypart_[size_t(s) * 24 + h] += batch.summaries[u].daypart[h];
  }
}

std::vector<SegmentDescription> SegmentDescriber::describe(size_t top_tags, size_t top_titles) const {
  std::vector<SegmentDescription> out;
  const double all_usable = std::max<double>(1, double(usable_[k_]));
  const double all_users = std::max<double>(1, double(users_[k_]));
  for (size_t s = 0; s < k_; ++s) {
    SegmentDescription d;
    d.segment = int32_t(s);
    d.users = users_[s];
    if (usable_[s] > 0) {
      std::vector<std::pair<uint32_t, double>> tags;
      for (size_t j = 0; j < dim_; ++j) {
        const double over = sum_[s * dim_ + j] / double(usable_[s]) - sum_[k_ * dim_ + j] / all_usable;
        if (over > 0) tags.emplace_back(uint32_t(j), over);
      }
      std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      if (tags.size() > top_tags) tags.resize(top_tags);
      d.tags = std::move(tags);
    }
    if (d.users > 0) {
      const size_t min_viewers = std::max<size_t>(3, size_t(std::ceil(0.02 * double(d.users))));
      for (uint32_t t = 0; t < titles_; ++t) {
        const size_t v = viewers_[s * titles_ + t];
        if (v < min_viewers) continue;
        SegmentDescription::TitleStat ts;
        ts.title = t;
        ts.viewers = v;
        ts.share = double(v) / double(d.users);
        ts.lift = ts.share / (double(viewers_[k_ * titles_ + t]) / all_users);
        d.titles.push_back(ts);
      }
      std::sort(d.titles.begin(), d.titles.end(), [](const auto& a, const auto& b) {
        if (a.lift != b.lift) return a.lift > b.lift;
        return a.viewers != b.viewers ? a.viewers > b.viewers : a.title < b.title;
      });
      if (d.titles.size() > top_titles) d.titles.resize(top_titles);
    }
    const double plays = std::accumulate(daypart_.begin() + s * 24, daypart_.begin() + (s + 1) * 24, 0.0);
    for (size_t h = 0; h < 24; ++h) d.daypart[h] = plays > 0 ? daypart_[s * 24 + h] / plays : 0.0;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace marquee
