// Audience segments (`marquee segment`, docs/projection.md): spherical k-means of the users' behaviour
// vectors (L2-normalised tag profiles), centred on the mean usable user and L2-normalised again (on
// raw profiles the common direction dominates and one segment takes most users), through FAISS's
// k-means on the CPU (faiss::Clustering, spherical = true, seeded) or its twin on the GPU
// (cuda::spherical_kmeans, engine/kmeans_lloyd.h); then a check, shared by both, that no segment is
// empty (an empty one is re-seeded with the worst-fitting point and reported), assignment of every
// user to the nearest centroid (largest cosine of the centred vector), and descriptions: size,
// over-represented tags (segment mean vs global mean), titles, daypart.
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
  bool center = true;                    // train on (v - mean) / |v - mean| of the usable users (train_segments)
};

struct KMeansResult {
  size_t k = 0, dim = 0;
  std::vector<float> centroids;         // k x dim, unit length
  std::vector<uint32_t> reseeded;       // segments that came out empty after training and were re-seeded
  size_t faiss_splits = 0;              // clusters split during training (FAISS's split_clusters, either backend)
  double objective = 0;                 // sum of cosines of the training points to their centroid
  /// The mean usable user the points were centred on (dim), or empty: points are compared as they
  /// are. With a mean, assign_segments compares (v - mean) / |v - mean| with the centroids, so
  /// users are assigned exactly as the training points were made.
  std::vector<float> mean;
};

/// Argument checks shared by every k-means backend: 1 <= k <= n, dim >= 1, finite points.
void check_kmeans_arguments(const float* points, size_t n, size_t dim, const KMeansOptions& options);

/// Spherical k-means of n points (row-major n x dim, rows L2-normalised, no zero rows). Throws
/// ArgumentError when k is 0 or larger than n.
KMeansResult spherical_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& options);

/// The end of training, one copy for every backend: every segment must own at least one of the n
/// points; an empty one is re-seeded with the point that fits its own centroid worst (from a segment
/// with more than one point) and listed in `reseeded`, followed by five spherical Lloyd steps and a
/// last check. Sets `objective`. `model` holds the trained centroids (k x dim) on entry.
void finish_kmeans(const float* points, size_t n, size_t dim, const KMeansOptions& options, KMeansResult& model);

/// Centres rows on `mean` and L2-normalises them again: (x - mean) / |x - mean|. Zero rows (users
/// without usable signal) stay zero, and so does a row equal to the mean (it has no direction).
void center_rows(float* rows, size_t n, size_t dim, const float* mean);

/// The mean of the usable users' vectors, accumulated over batches in double (one streaming pass).
class UserMean {
 public:
  void add(const UserProfiles& batch);  // the first batch sets the dimension
  size_t users() const { return users_; }
  std::vector<float> mean() const;  // dim values; zeros when no usable user was added

 private:
  std::vector<double> sum_;
  size_t users_ = 0;
};

/// Nearest centroid (largest inner product; ties: lower segment) of each point; -1 for zero rows
/// (users without usable signal). With `model.mean`, each point is centred and normalised first
/// (center_rows). `similarity` (optional) gets the cosine.
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
