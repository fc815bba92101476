#include "host/io/segments_io.h"

#include "engine/error.h"
#include "host/io/rejects.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace marquee {

SegmentsReader::SegmentsReader(const std::string& path) : path_(path) {
  // Segment numbers are bounded by what they count: `marquee segment` numbers K segments 0..K-1,
  // each holding at least one user, so no segment number reaches the number of assigned rows. A
  // stray row (a user from elsewhere, segment 1048575) must not size every per-segment table.
  RecordReader scan(path, {"user_id", "segment"});
  Record r;
  size_t assigned = 0;
  size_t max_line = 0;
  std::string max_user;
  while (scan.next(r)) {
    long long s = 0;
    MARQUEE_CHECK_INPUT(r.error.empty() && parse_int(r.fields[1], s) && s >= -1 && s < kMaxSegments,
                        "{}:{}: bad segments row ({}): expected user_id,segment with segment -1 .. {}", path, r.line,
                        r.error.empty() ? r.fields[1] : r.error, kMaxSegments - 1);
    if (s < 0) continue;
    ++assigned;
    if (size_t(s + 1) > k_) k_ = size_t(s + 1), max_line = r.line, max_user = r.fields[0];
  }
  MARQUEE_CHECK_INPUT(k_ > 0, "{} assigns no user to a segment", path);
  MARQUEE_CHECK_INPUT(k_ <= assigned,
                      "{}:{}: segment {} of user '{}' is out of range: the file assigns {} users, so its segments are "
                      "numbered 0..{} at most (a row from another segments file?)",
                      path, max_line, k_ - 1, max_user, assigned, assigned - 1);
  reader_ = std::make_unique<RecordReader>(path, std::vector<std::string>{"user_id", "segment"});
}

void SegmentsReader::fill(const UserProfiles& batch, int32_t* out) {
  Record r;
  for (size_t u = 0; u < batch.size(); ++u) {
    for (;;) {
      MARQUEE_CHECK_INPUT(reader_->next(r), "{} has no segment for user '{}' (written for other users? run "
                                            "`marquee segment` again on the same events or profiles)",
                          path_, batch.user_ids[u]);
      if (r.fields[0] == batch.user_ids[u]) break;
    }
    long long s = 0;
    parse_int(r.fields[1], s);
    out[u] = int32_t(s);
  }
}

SegmentsWriter::SegmentsWriter(const std::string& path) : assignments_(path) {
  assignments_.write("user_id,segment\n");
}

size_t SegmentsWriter::write(const UserProfiles& batch, const int32_t* segments) {
  size_t unassigned = 0;
  std::string rows;
  for (size_t u = 0; u < batch.size(); ++u) {
    rows += fmt::format("{},{}\n", csv_field(batch.user_ids[u]), segments[u]);
    unassigned += segments[u] < 0;
  }
  assignments_.write(rows);
  return unassigned;
}

void SegmentsWriter::write_model(const std::string& stem, const KMeansResult& km, const Catalog& catalog) {
  centroids_.emplace(stem + ".centroids.csv");
  centroids_->write("segment,tag,value\n");
  for (size_t s = 0; s < km.k; ++s) {
    std::string rows;
    for (size_t j = 0; j < km.dim; ++j)
      rows += fmt::format("{},{},{:.7g}\n", s, csv_field(catalog.tag(uint32_t(j)).name), km.centroids[s * km.dim + j]);
    centroids_->write(rows);
  }
  // The mean user the vectors were centred on: centroids live in the centred space, and a user's
  // segment is the largest cosine of (v - mean) / |v - mean| with them.
  if (!km.mean.empty()) {
    mean_.emplace(stem + ".mean.csv");
    std::string rows = "tag,value\n";
    for (size_t j = 0; j < km.dim; ++j)
      rows += fmt::format("{},{:.7g}\n", csv_field(catalog.tag(uint32_t(j)).name), km.mean[j]);
    mean_->write(rows);
  }
}

void SegmentsWriter::commit() {
  assignments_.commit();
  if (centroids_) centroids_->commit();
  if (mean_) mean_->commit();
}

}  // namespace marquee
