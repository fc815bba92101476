// The segments files of `marquee segment` (docs/projection.md, docs/formats.md): the assignments
// `user_id,segment` and the model's side files, and the reader `project --segments FILE` uses.
#pragma once

#include "engine/catalog.h"
#include "engine/profiles.h"
#include "engine/segments.h"
#include "host/io/atomic_file.h"
#include "host/io/record_reader.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace marquee {

/// Reads `marquee segment` assignments (user_id,segment) alongside the users, in the same order;
/// rows of users absent from this run are skipped. The constructor scans the file once for the
/// number of segments (a bad row, no user in any segment, or a segment number that is not below the
/// number of assigned users or kMaxSegments, is an InputError naming file:line).
/// The most segments a segments file may number (`segment --k` is far below it).
constexpr long long kMaxSegments = 1 << 20;

class SegmentsReader {
 public:
  explicit SegmentsReader(const std::string& path);
  size_t segments() const { return k_; }
  /// The segment of every user of `batch` (InputError naming the user when the file has none).
  void fill(const UserProfiles& batch, int32_t* out);

 private:
  std::string path_;
  size_t k_ = 0;
  std::unique_ptr<RecordReader> reader_;
};

/// Writes `marquee segment`'s files atomically (nothing appears before commit()): the assignments
/// `user_id,segment` (segment -1: no usable signal), appended batch by batch, and the model's side
/// files `<stem>.centroids.csv` (segment,tag,value) and, for a model centred on the mean user,
/// `<stem>.mean.csv` (tag,value).
class SegmentsWriter {
 public:
  explicit SegmentsWriter(const std::string& path);
  /// Appends one batch's assignments; returns how many of its users have no segment.
  size_t write(const UserProfiles& batch, const int32_t* segments);
  /// Writes the side files of `model`, its tags named by `catalog`.
  void write_model(const std::string& stem, const KMeansResult& model, const Catalog& catalog);
  /// Whether write_model wrote a mean file.
  bool has_mean() const { return mean_.has_value(); }
  void commit();

 private:
  AtomicFile assignments_;
  std::optional<AtomicFile> centroids_, mean_;
};

}  // namespace marquee
