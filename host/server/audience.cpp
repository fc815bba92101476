#include "host/server/audience.h"

#include "engine/error.h"

#include <algorithm>
#include <queue>

namespace marquee::server {
namespace {

constexpr size_t kCalibrationUsers = 20000;
constexpr size_t kBatch = 4096;

UserProfiles to_profiles(const std::vector<std::shared_ptr<const UserState>>& users, size_t first, size_t count,
                         size_t dim) {
  UserProfiles p;
  p.dim = dim;
  p.seen_offsets.push_back(0);
  for (size_t i = first; i < first + count; ++i) {
    const UserState& u = *users[i];
    p.user_ids.push_back(u.id);
    if (u.vector.size() == dim) p.vectors.insert(p.vectors.end(), u.vector.begin(), u.vector.end());
    else p.vectors.resize(p.vectors.size() + dim, 0.0f);
    p.seen.insert(p.seen.end(), u.seen.begin(), u.seen.end());
    p.seen_offsets.push_back(p.seen.size());
    p.summaries.push_back(u.summary);
  }
  return p;
}

}  // namespace

AudienceProjector::AudienceProjector(const Snapshot& snap)
    : generation_(snap.generation), mask_(projection_features(ProjectionSpace::Tags)) {
  const auto sample = snap.users.sample(kCalibrationUsers);
  const UserProfiles p = to_profiles(sample, 0, sample.size(), snap.titles.dim());
  MARQUEE_CHECK_INPUT(!p.seen.empty(), "nobody has watched anything: there is no viewing data to calibrate on");
  calibration_ = calibrate(snap.titles, p, ProjectionSpace::Tags, {mask_}, {}, CalibrationOptions{});
}

nlohmann::json AudienceProjector::project(const Snapshot& snap, const NewTitle& title, size_t top_users) const {
  MARQUEE_ASSERT(snap.generation == generation_);
  const std::vector<float> tv = new_title_vector(snap.titles, title);
  const CalibratedModel& model = calibration_.model(mask_);
  const size_t dim = snap.titles.dim();
  const auto users = snap.users.sample(snap.users.size());
  ProjectionAccumulator acc(snap.catalog.num_titles(), dim, 0, 0.5);

  // The most likely viewers: a min-heap of (p, user index) holding the best `top_users`.
  using Entry = std::pair<double, size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> top;
  std::vector<double> p, aff;
  for (size_t first = 0; first < users.size(); first += kBatch) {
    const size_t n = std::min(kBatch, users.size() - first);
    const UserProfiles b = to_profiles(users, first, n, dim);
    p.resize(n);
    aff.resize(n);
    for (size_t u = 0; u < n; ++u) {
      float raw[kNumFeatures] = {0, 0, 0, 0};
      const float* v = b.vector(u);
      for (size_t d = 0; d < dim; ++d) raw[0] += v[d] * tv[d];
      raw[2] = activity_feature(size_t(b.seen_end(u) - b.seen_begin(u)));
      p[u] = model.predict_raw(raw);
      aff[u] = model.affinity_raw(raw);
      if (top_users > 0) {
        if (top.size() < top_users) top.emplace(p[u], first + u);
        else if (p[u] > top.top().first) {
          top.pop();
          top.emplace(p[u], first + u);
        }
      }
    }
    acc.add(b, p.data(), aff.data(), nullptr);
  }

  const AudienceEstimate a = acc.audience(model);
  nlohmann::json out{{"audience",
                      {{"expected", a.expected}, {"sd", a.sd}, {"lo95", a.lo95}, {"hi95", a.hi95},
                       {"lo80", a.lo80}, {"hi80", a.hi80}, {"users", a.users}}},
                     {"model", feature_names(mask_)},
                     {"calibration", {{"titles", calibration_.titles.size()}, {"pairs", calibration_.pairs}}}};
  std::vector<Entry> best;
  while (!top.empty()) {
    best.push_back(top.top());
    top.pop();
  }
  std::sort(best.begin(), best.end(), [](const Entry& x, const Entry& y) {
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  });
  out["top_users"] = nlohmann::json::array();
  for (const auto& [prob, u] : best) out["top_users"].push_back({{"user_id", users[u]->id}, {"p_watch", prob}});
  out["comparables"] = nlohmann::json::array();
  for (const auto& c : comparable_titles(snap.titles, tv, 5, acc.viewers(), {}))
    out["comparables"].push_back(
        {{"title_id", snap.catalog.title(c.title).id}, {"similarity", c.similarity}, {"viewers", c.viewers}});
  out["cohorts"] = nlohmann::json::array();
  for (const auto& c : acc.cohorts(20, 5, {}))
    out["cohorts"].push_back({{"title_id", snap.catalog.title(c.title).id}, {"fans", c.fans}, {"lift", c.lift}});
  out["daypart"] = acc.daypart();
  return out;
}

}  // namespace marquee::server
