#include "host/jobs/projection_common.h"

#include "engine/clock.h"
#include "engine/error.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace marquee {
namespace {

void append_profiles(UserProfiles& dst, const UserProfiles& src) {
  if (dst.seen_offsets.empty()) dst.seen_offsets.push_back(0);
  dst.dim = src.dim;
  const uint64_t base = dst.seen.size();
  dst.user_ids.insert(dst.user_ids.end(), src.user_ids.begin(), src.user_ids.end());
  dst.vectors.insert(dst.vectors.end(), src.vectors.begin(), src.vectors.end());
  dst.seen.insert(dst.seen.end(), src.seen.begin(), src.seen.end());
  for (size_t u = 0; u < src.size(); ++u) dst.seen_offsets.push_back(base + src.seen_offsets[u + 1]);
  dst.summaries.insert(dst.summaries.end(), src.summaries.begin(), src.summaries.end());
}

// Centres the sample on the mean user; a user exactly at the mean has no direction left and is
// dropped as a training point. Returns the points kept.
size_t center_sample(std::vector<float>& points, size_t n, size_t dim, const std::vector<float>& centre,
                     const KMeansOptions& o) {
  center_rows(points.data(), n, dim, centre.data());
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* row = points.data() + i * dim;
    if (std::all_of(row, row + dim, [](float v) { return v == 0.0f; })) continue;
    if (kept != i) std::copy(row, row + dim, points.begin() + kept * dim);
    ++kept;
  }
  MARQUEE_CHECK_ARG(o.k <= kept,
                    "{} segments asked for, but only {} of the {} sampled users differ from the mean user: K must "
                    "not exceed them",
                    o.k, kept, n);
  points.resize(kept * dim);
  return kept;
}

}  // namespace

using json = nlohmann::json;

std::string strip_extension(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_extension() ? (p.parent_path() / p.stem()).string() : path;
}

std::string title_label(const Catalog& c, uint32_t t) {
  const Title& title = c.title(t);
  return title.name.empty() ? title.id : title.name;
}

UserProfiles read_sample(ProfileSource& source, size_t target, size_t batch, bool usable_only, UserMean* mean) {
  const size_t n = source.users();
  const size_t stride = std::max<size_t>(1, n / std::max<size_t>(1, target));
  UserProfiles out;
  out.seen_offsets.push_back(0);
  for (size_t first = 0; first < n; first += batch) {
    const size_t count = std::min(batch, n - first);
    const UserProfiles p = source.read(first, count);
    out.dim = p.dim;
    // Non-finite vectors never get here: ProfileReader::read refuses them (exit 3, naming the user).
    if (mean) mean->add(p);
    for (size_t u = 0; u < count; ++u) {
      if ((first + u) % stride != 0 || (usable_only && !p.summaries[u].usable)) continue;
      append_profiles(out, slice_profiles(p, u, 1));
    }
  }
  return out;
}

KMeansResult train_segments(ProfileSource& source, const KMeansOptions& o, size_t batch, const KMeansBackend& backend) {
  MARQUEE_CHECK_ARG(o.k >= 1, "the number of segments must be at least 1; got {}", o.k);
  UserMean mean;
  UserProfiles sample = read_sample(source, o.k * std::max<size_t>(1, o.max_points_per_centroid), batch, true, &mean);
  if (sample.size() < o.k) sample = read_sample(source, source.users(), batch, true);
  MARQUEE_CHECK_ARG(o.k <= sample.size(),
                    "{} segments asked for, but only {} of the {} users have usable signal: K must not exceed them",
                    o.k, sample.size(), source.users());
  const size_t dim = sample.dim;
  std::vector<float> points = std::move(sample.vectors);
  size_t n = sample.size();
  std::vector<float> centre;
  if (o.center) {
    centre = mean.mean();
    n = center_sample(points, n, dim, centre, o);
  }
  const auto t0 = Clock::now();
  KMeansResult km = backend.train(points.data(), n, dim, o);
  km.mean = std::move(centre);
  spdlog::info("k-means on {} [{}]: {} segments from {} users ({} dims, {} iterations, seed {}{}) in {:.1f} s",
               backend.name(), backend.where.reason, o.k, n, dim, o.iterations, o.seed,
               o.center ? fmt::format("; centred on the mean of {} usable users", mean.users()) : std::string(),
               seconds_since(t0));
  if (km.faiss_splits > 0) spdlog::warn("k-means: {} empty clusters were split during training", km.faiss_splits);
  for (uint32_t s : km.reseeded)
    spdlog::warn("k-means: segment {} came out empty and was re-seeded with the worst-fitting user", s);
  return km;
}

std::vector<float> feature_scores(Scorer& scorer, const FeatureSpace& fs, const UserProfiles& batch, size_t first,
                                  const BehaviourFactors* behaviour) {
  const std::vector<float> users = fs.user_rows(batch, first, behaviour);
  const size_t rows = fs.rows.num_titles();
  TopKResult r;
  scorer.search(UserBatchView{batch.size(), fs.user_dim(), users.data(), nullptr}, rows, r);
  std::vector<float> scores(batch.size() * rows, 0.0f);
  for (size_t u = 0; u < batch.size(); ++u)
    for (size_t i = 0; i < r.counts[u]; ++i) scores[u * rows + r.titles[u * rows + i]] = r.scores[u * rows + i];
  return scores;
}

json calibration_json(const Calibration& cal, const CalibratedModel& m) {
  json coef{{"intercept", m.logistic.beta[0]}};
  size_t j = 1;
  for (size_t i = 0; i < kNumFeatures; ++i)
    if (m.features & (1u << i)) coef[kFeatureNames[i]] = m.logistic.beta[j++];
  return json{{"features", feature_names(m.features)},
              {"coefficients", coef},
              {"titles", cal.titles.size()},
              {"users", cal.users},
              {"pairs", cal.pairs},
              {"positives", cal.positives},
              {"iterations", m.logistic.iterations},
              {"log_ratio_q10", m.log_ratio_q10},
              {"log_ratio_q90", m.log_ratio_q90}};
}

}  // namespace marquee
