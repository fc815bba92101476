// Audience segments (`marquee segment`, docs/projection.md): spherical k-means of the users' behaviour
// vectors (L2-normalised tag profiles) through FAISS's k-means (faiss::Clustering, spherical = true,
// seeded), then a check that no segment is empty (an empty one is re-seeded with the worst-fitting
// point and reported), assignment of every user to the nearest centroid (largest cosine), and
// descriptions: size, over-represented tags (segment mean vs global mean), titles, daypart.
#pragma once

#include "engine/catalog.h"
#include "engine/profiles.h"

#include <array>
#include <cstdint>
#include <vector>

namespace marquee {

struct KMeansOptions {
  size_t k = 10;
  size_t iterations = 25;
  uint64_t seed = 1234;
  size_t max_points_per_centroid = 256;  // FAISS subsamples beyond k x this
};

struct KMeansResult {
  size_t k = 0, dim = 0;
  std::vector<float> centroids;         // k x dim, unit length
  std::vector<uint32_t> reseeded;       // segments that came out empty after training and were re-seeded
  size_t faiss_splits = 0;              // empty clusters FAISS itself re-seeded (split) during training
  double objective = 0;                 // sum of cosines of the training points to their centroid
};

/// Spherical k-means of n points (row-major n x dim, rows L2-normalised, no zero rows). Throws
/// ArgumentError when k is 0 or larger than n.
KMeansResult spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& options);

/// Nearest centroid (largest inner product; ties: lower segment) of each point; -1 for zero rows
/// (users without usable signal). `similarity` (optional) gets the cosine.
void assign_segments(const float* points, size_t n, size_t dim, const KMeansResult& model, int32_t* segment,
                     float* similarity = nullptr);

struct SegmentDescription {
  int32_t segment = 0;
  size_t users = 0;
  std::vector<std::pair<uint32_t, double>> tags;  // over-represented tags: (tag, mean_s - mean_all), best first
  struct TitleStat {
    uint32_t title = 0;
    size_t viewers = 0;   // segment users with events for it
    double share = 0;     // viewers / segment users
    double lift = 0;      // share / share among all users
  };
  std::vector<TitleStat> titles;                  // titles the segment over-watches
  std::array<double, 24> daypart{};               // share of the segment's session starts per local hour
};

/// Accumulates descriptions over user batches (memory: segments x (tags + titles)).
class SegmentDescriber {
 public:
  SegmentDescriber(size_t segments, size_t dim, size_t titles);
  void add(const UserProfiles& batch, const int32_t* segment);
  /// Top `top_tags` tags and `top_titles` titles per segment; a title needs at least
  /// max(3, 2 % of the segment) viewers in it to be listed.
  std::vector<SegmentDescription> describe(size_t top_tags, size_t top_titles) const;

 private:
  size_t k_, dim_, titles_;
  std::vector<size_t> users_, usable_;
  std::vector<double> sum_;           // (k + 1) x dim; last row: all users
  std::vector<uint32_t> viewers_;     // (k + 1) x titles
  std::vector<double> daypart_;       // k x 24
};

}  // namespace marquee
