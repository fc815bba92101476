#include "engine/projection.h"

#include "engine/enum_names.h"

#include "engine/error.h"
#include "engine/topk.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace marquee {
namespace {

// Deterministic, platform-independent random numbers (std::shuffle's algorithm is not specified).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

double dot(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}

double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }

// Solves the small symmetric positive definite system a x = b (n <= 8) by Gaussian elimination
// with partial pivoting; a and b are overwritten.
std::vector<double> solve_small(std::vector<double> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) piv = r;
    MARQUEE_ASSERT(std::fabs(a[piv * n + c]) > 1e-300);
    if (piv != c) {
      for (size_t j = 0; j < n; ++j) std::swap(a[c * n + j], a[piv * n + j]);
      std::swap(b[c], b[piv]);
    }
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      for (size_t j = c; j < n; ++j) a[r * n + j] -= f * a[c * n + j];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t r = n; r-- > 0;) {
    double s = b[r];
    for (size_t j = r + 1; j < n; ++j) s -= a[r * n + j] * x[j];
    x[r] = s / a[r * n + r];
  }
  return x;
}

size_t popcount(unsigned m) {
  size_t c = 0;
  for (; m; m &= m - 1) ++c;
  return c;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}


}  // namespace

float neighbour_feature(const SeenTitle* begin, const SeenTitle* end, const float* sims) {
  float top[kNeighbourTerms] = {};
  size_t n = 0;
  for (const SeenTitle* s = begin; s != end; ++s) {
    if (s->weight <= 0) continue;
    float v = sims[s->title];
    // Insertion into the small descending list of the best kNeighbourTerms.
    if (n < kNeighbourTerms) ++n;
    else if (v <= top[n - 1]) continue;
    size_t i = n - 1;
    for (; i > 0 && top[i - 1] < v; --i) top[i] = top[i - 1];
    top[i] = v;
  }
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += top[i];
  return n ? sum / float(kNeighbourTerms) : 0.0f;
}

std::vector<float> new_title_vector(const TitleMatrix& tags, const NewTitle& title) {
  MARQUEE_CHECK_ARG(!title.tags.empty(), "new title '{}' has no known tags: nothing to project from", title.id);
  MARQUEE_CHECK_ARG(tags.idf().size() == tags.dim(), "the title matrix has no IDF (built from rows, not a catalogue)");
  std::vector<float> v(tags.dim(), 0.0f);
  for (const auto& [tag, weight] : title.tags) {
    MARQUEE_CHECK_ARG(tag < tags.dim(), "tag index {} outside the {} tags", tag, tags.dim());
    v[tag] = weight * tags.idf()[tag];
  }
  l2_normalise(v.data(), v.size());
  return v;
}

NewTitle catalog_title_as_new(const Catalog& catalog, uint32_t title) {
  NewTitle t;
  t.id = catalog.title(title).id;
  t.name = catalog.title(title).name;
  for (const TagAssignment& a : catalog.assignments())
    if (a.title == title) t.tags.emplace_back(a.tag, a.weight);
  return t;
}

UserProfiles remove_titles(const UserProfiles& in, const TitleMatrix& tags, std::vector<uint32_t> titles) {
  std::sort(titles.begin(), titles.end());
  const size_t dim = in.dim;
  MARQUEE_CHECK_ARG(dim == tags.dim(), "profiles of {} dims for a title matrix of {}", dim, tags.dim());
  UserProfiles p;
  p.dim = dim;
  p.user_ids = in.user_ids;
  p.summaries = in.summaries;
  p.vectors.assign(in.size() * dim, 0.0f);
  p.seen_offsets.assign(in.size() + 1, 0);
  p.seen.reserve(in.seen.size());
  for (size_t u = 0; u < in.size(); ++u) {
    float* vec = p.vectors.data() + u * dim;
    uint32_t count = 0;
    for (const SeenTitle* s = in.seen_begin(u); s != in.seen_end(u); ++s) {
      if (std::binary_search(titles.begin(), titles.end(), s->title)) continue;
      p.seen.push_back(*s);
      ++count;
      if (s->weight != 0.0f)
        for (uint64_t k = tags.row_ptr()[s->title]; k < tags.row_ptr()[s->title + 1]; ++k)
          vec[tags.col_idx()[k]] += s->weight * tags.values()[k];
    }
    p.seen_offsets[u + 1] = p.seen.size();
    p.summaries[u].titles = count;
    p.summaries[u].usable = l2_normalise(vec, dim) > 1e-12 ? 1 : 0;
    if (!p.summaries[u].usable) std::fill(vec, vec + dim, 0.0f);
  }
  return p;
}

// ------------------------------------------------------------------------------------------------

namespace {
constexpr EnumName<ProjectionSpace> kSpaceNames[] = {{ProjectionSpace::Tags, "tags"},
                                                     {ProjectionSpace::Hybrid, "hybrid"}};
}  // namespace

ProjectionSpace parse_projection_space(const std::string& text) {
  return parse_enum(kSpaceNames, text, "projection space");
}
const char* projection_space_name(ProjectionSpace space) { return enum_name(kSpaceNames, space); }

unsigned projection_features(ProjectionSpace space) {
  return space == ProjectionSpace::Tags ? (kFeatTags | kFeatActivity) : (kFeatTags | kFeatBehaviour | kFeatActivity);
}

std::string feature_names(unsigned mask) {
  std::string s;
  for (size_t i = 0; i < kNumFeatures; ++i)
    if (mask & (1u << i)) s += (s.empty() ? "" : "+") + std::string(kFeatureNames[i]);
  return s;
}

double Logistic::logit(const float* x) const {
  double z = beta[0];
  for (size_t i = 1; i < beta.size(); ++i) z += beta[i] * x[i - 1];
  return z;
}

double Logistic::predict(const float* x) const { return sigmoid(logit(x)); }

Logistic fit_logistic(const std::vector<float>& x, const std::vector<uint8_t>& y, size_t f, const LogisticOptions& o) {
  const size_t n = y.size();
  MARQUEE_CHECK_ARG(n > 0, "logistic regression on no rows");
  MARQUEE_CHECK_ARG(x.size() == n * f, "logistic regression: {} values for {} rows x {} features", x.size(), n, f);
  const size_t d = f + 1;
  Logistic m;
  m.beta.assign(d, 0.0);
  const double pos = double(std::count(y.begin(), y.end(), uint8_t(1)));
  const double mean = std::clamp(pos / double(n), 1e-9, 1 - 1e-9);
  m.beta[0] = std::log(mean / (1 - mean));

  auto penalised_ll = [&](const std::vector<double>& b) {
    double ll = 0;
    for (size_t r = 0; r < n; ++r) {
      double z = b[0];
      for (size_t i = 0; i < f; ++i) z += b[i + 1] * x[r * f + i];
      // log sigmoid(z) for y = 1, log sigmoid(-z) for y = 0, computed stably.
      const double s = y[r] ? z : -z;
      ll += s >= 0 ? -std::log1p(std::exp(-s)) : s - std::log1p(std::exp(s));
    }
    for (size_t i = 1; i < d; ++i) ll -= 0.5 * o.ridge * b[i] * b[i];
    return ll;
  };

  double ll = penalised_ll(m.beta);
  for (size_t it = 0; it < o.max_iterations; ++it) {
    std::vector<double> g(d, 0.0), h(d * d, 0.0), row(d);
    for (size_t r = 0; r < n; ++r) {
      row[0] = 1;
      for (size_t i = 0; i < f; ++i) row[i + 1] = x[r * f + i];
      double z = 0;
      for (size_t i = 0; i < d; ++i) z += m.beta[i] * row[i];
      const double p = sigmoid(z), w = std::max(p * (1 - p), 1e-12), e = double(y[r]) - p;
      for (size_t i = 0; i < d; ++i) {
        g[i] += e * row[i];
        for (size_t j = 0; j <= i; ++j) h[i * d + j] += w * row[i] * row[j];
      }
    }
    for (size_t i = 0; i < d; ++i)
      for (size_t j = i + 1; j < d; ++j) h[i * d + j] = h[j * d + i];
    for (size_t i = 1; i < d; ++i) {
      g[i] -= o.ridge * m.beta[i];
      h[i * d + i] += o.ridge;
    }
    h[0] += 1e-12;
    const std::vector<double> step = solve_small(h, g);
    // Newton step, halved while the penalised likelihood does not improve (separable data).
    double scale = 1.0, new_ll = ll;
    std::vector<double> next(d);
    for (int half = 0; half < 30; ++half, scale *= 0.5) {
      for (size_t i = 0; i < d; ++i) next[i] = m.beta[i] + scale * step[i];
      new_ll = penalised_ll(next);
      if (new_ll >= ll - 1e-12 * std::fabs(ll)) break;
    }
    double largest = 0;
    for (size_t i = 0; i < d; ++i) largest = std::max(largest, std::fabs(next[i] - m.beta[i]));
    m.beta = next;
    ll = new_ll;
    m.iterations = it + 1;
    if (largest < o.tolerance) break;
  }
  m.log_likelihood = ll;
  return m;
}

void CalibratedModel::select(const float* raw, float* out) const {
  size_t j = 0;
  for (size_t i = 0; i < kNumFeatures; ++i)
    if (features & (1u << i)) out[j++] = raw[i];
}

double CalibratedModel::predict_raw(const float* raw) const {
  float x[kNumFeatures];
  select(raw, x);
  return logistic.predict(x);
}

double CalibratedModel::affinity_raw(const float* raw) const {
  double a = 0;
  size_t j = 1;
  for (size_t i = 0; i < kNumFeatures; ++i) {
    if (!(features & (1u << i))) continue;
    if ((1u << i) != kFeatActivity) a += logistic.beta[j] * raw[i];
    ++j;
  }
  return a;
}

const CalibratedModel& Calibration::model(unsigned mask) const {
  for (const auto& m : models)
    if (m.features == mask) return m;
  MARQUEE_THROW_AS(ArgumentError, "no calibrated model for features {}", feature_names(mask));
}

Calibration calibrate(const TitleMatrix& tags, const UserProfiles& profiles, ProjectionSpace space,
                      const std::vector<unsigned>& masks, const std::vector<uint32_t>& excluded,
                      const CalibrationOptions& o) {
  MARQUEE_CHECK_ARG(o.titles >= 1 && o.users >= 1, "calibration needs at least 1 title and 1 user");
  MARQUEE_CHECK_INPUT(profiles.size() > 0, "no users: nothing to calibrate the projection on");
  Calibration cal;
  cal.space = space;

  // Calibration titles: a seeded draw among tagged titles that are not excluded.
  std::vector<uint8_t> skip(tags.num_titles(), 0);
  for (uint32_t t : excluded)
    if (t < skip.size()) skip[t] = 1;
  for (uint32_t t : tags.untagged_titles()) skip[t] = 1;
  std::vector<uint32_t> pool;
  for (uint32_t t = 0; t < tags.num_titles(); ++t)
    if (!skip[t]) pool.push_back(t);
  MARQUEE_CHECK_INPUT(!pool.empty(), "no tagged catalogue title is left to calibrate the projection on");
  SplitMix64 rng{o.seed};
  for (size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rng.below(i)]);
  cal.titles.assign(pool.begin(), pool.begin() + std::min(o.titles, pool.size()));
  std::sort(cal.titles.begin(), cal.titles.end());

  // Sampled users, evenly strided.
  const size_t n = profiles.size();
  const size_t stride = std::max<size_t>(1, n / o.users);
  std::vector<size_t> sample;
  for (size_t u = 0; u < n && sample.size() < o.users; u += stride) sample.push_back(u);
  cal.users = sample.size();

  // What users looked like without the calibration titles, and (hybrid) a model that never saw them
  // or, saved, the sampled users folded in without them, the titles placed by their tags.
  const UserProfiles without = remove_titles(profiles, tags, cal.titles);
  RecommenderModel model;
  std::vector<float> saved_users, saved_titles;  // sample x factors, calibration titles x factors
  size_t f = 0;
  if (space == ProjectionSpace::Hybrid && o.saved_model) {
    const BehaviourFactors b(*o.saved_model);
    f = b.factors();
    saved_users = b.users(select_users(without, sample), 0);
    for (uint32_t t : cal.titles) {
      const std::vector<float> y = factors_from_tags(tags.row(t), tags.dim(), b.model());
      saved_titles.insert(saved_titles.end(), y.begin(), y.end());
    }
  } else if (space == ProjectionSpace::Hybrid) {
    MARQUEE_CHECK_INPUT(!without.seen.empty(), "nobody watched anything: there is no behaviour to learn from");
    model = fit_recommender(tags, without, o.als, HybridWeights{1.0f, 0.0f, 0.0f});
  }
  auto behaviour_score = [&](size_t i, size_t u, size_t c) -> float {
    if (space != ProjectionSpace::Hybrid) return 0.0f;
    if (o.saved_model) return float(dot(saved_users.data() + i * f, saved_titles.data() + c * f, f));
    return float(dot(model.als.user(u), model.als.title(cal.titles[c]), model.als.factors));
  };

  const size_t nt = cal.titles.size();
  std::vector<float> raw(sample.size() * nt * kNumFeatures);
  std::vector<uint8_t> label(sample.size() * nt);
  std::vector<float> sims(nt * tags.num_titles());
  for (size_t c = 0; c < nt; ++c)
    for (size_t t = 0; t < tags.num_titles(); ++t)
      sims[c * tags.num_titles() + t] = float(dot(tags.row(cal.titles[c]), tags.row(t), tags.dim()));
  for (size_t i = 0; i < sample.size(); ++i) {
    const size_t u = sample[i];
    const float act = activity_feature(without.seen_end(u) - without.seen_begin(u));
    for (size_t c = 0; c < nt; ++c) {
      const uint32_t t = cal.titles[c];
      float* r = raw.data() + (i * nt + c) * kNumFeatures;
      r[0] = float(dot(without.vector(u), tags.row(t), tags.dim()));
      r[1] = behaviour_score(i, u, c);
      r[2] = act;
      r[3] = neighbour_feature(without.seen_begin(u), without.seen_end(u), sims.data() + c * tags.num_titles());
      label[i * nt + c] = std::binary_search(profiles.seen_begin(u), profiles.seen_end(u), SeenTitle{t, 0, 0, {}},
                                             [](const SeenTitle& a, const SeenTitle& b) { return a.title < b.title; });
    }
  }
  cal.pairs = label.size();
  cal.positives = size_t(std::count(label.begin(), label.end(), uint8_t(1)));
  MARQUEE_CHECK_INPUT(cal.positives > 0,
                      "none of the {} sampled users watched any of the {} calibration titles: cannot learn how "
                      "affinity turns into watching",
                      sample.size(), nt);

  for (unsigned mask : masks) {
    MARQUEE_CHECK_ARG(mask != 0 && mask < (1u << kNumFeatures), "bad feature mask {}", mask);
    MARQUEE_CHECK_ARG(space == ProjectionSpace::Hybrid || !(mask & kFeatBehaviour),
                      "the behaviour feature needs the hybrid space");
    CalibratedModel cm;
    cm.features = mask;
    const size_t f = popcount(mask);
    std::vector<float> x(label.size() * f);
    for (size_t r = 0; r < label.size(); ++r) cm.select(raw.data() + r * kNumFeatures, x.data() + r * f);
    cm.logistic = fit_logistic(x, label, f, o.logistic);
    // Title-level error of the audience size on the calibration titles.
    for (size_t c = 0; c < nt; ++c) {
      double pred = 0, actual = 0;
      for (size_t i = 0; i < sample.size(); ++i) {
        pred += cm.logistic.predict(x.data() + (i * nt + c) * f);
        actual += label[i * nt + c];
      }
      cm.log_ratios.push_back(std::log((actual + 1) / (pred + 1)));
    }
    cm.log_ratio_q10 = quantile(cm.log_ratios, 0.10);
    cm.log_ratio_q90 = quantile(cm.log_ratios, 0.90);
    cal.models.push_back(std::move(cm));
  }
  return cal;
}

// ------------------------------------------------------------------------------------------------

BehaviourFactors::BehaviourFactors(const Model& saved) : fitted_(saved.factor_model()), saved_(&saved) {
  MARQUEE_CHECK_ARG(fitted_ != nullptr,
                    "the {} model has no behaviour factors to project with: use a behaviour or hybrid model, or "
                    "--space tags",
                    model_kind_name(saved.kind()));
}

std::vector<float> BehaviourFactors::users(const UserProfiles& batch, size_t first_user) const {
  if (saved_) return saved_->user_factors(batch);
  MARQUEE_CHECK_ARG(first_user + batch.size() <= fitted_->als.users, "users [{}, {}) outside the model", first_user,
                    first_user + batch.size());
  const size_t f = factors();
  return std::vector<float>(fitted_->als.user(first_user), fitted_->als.user(first_user) + batch.size() * f);
}

FeatureSpace make_feature_space(ProjectionSpace space, const TitleMatrix& tags,
                                const std::vector<std::vector<float>>& title_vectors, const BehaviourFactors* behaviour) {
  MARQUEE_CHECK_ARG(!title_vectors.empty(), "no titles to project");
  MARQUEE_CHECK_ARG(space == ProjectionSpace::Tags || behaviour != nullptr, "the hybrid space needs a behaviour model");
  FeatureSpace fs;
  fs.space = space;
  fs.tag_dim = tags.dim();
  fs.factors = space == ProjectionSpace::Hybrid ? behaviour->factors() : 0;
  fs.new_titles = title_vectors.size();
  const size_t d = fs.user_dim(), rpt = fs.rows_per_title();
  std::vector<float> rows(title_vectors.size() * rpt * d, 0.0f);
  for (size_t i = 0; i < title_vectors.size(); ++i) {
    MARQUEE_CHECK_ARG(title_vectors[i].size() == tags.dim(), "title vector of {} dims for {} tags",
                      title_vectors[i].size(), tags.dim());
    float* tag_row = rows.data() + (i * rpt + rpt - 1) * d;
    std::copy(title_vectors[i].begin(), title_vectors[i].end(), tag_row + fs.factors);
    if (space == ProjectionSpace::Hybrid) {
      const std::vector<float> y = factors_from_tags(title_vectors[i].data(), tags.dim(), behaviour->model());
      std::copy(y.begin(), y.end(), rows.data() + i * rpt * d);
    }
  }
  fs.rows = TitleMatrix::from_rows(title_vectors.size() * rpt, d, std::move(rows));
  for (const auto& v : title_vectors) {
    std::vector<float> sim(tags.num_titles());
    for (size_t t = 0; t < tags.num_titles(); ++t) sim[t] = float(dot(tags.row(t), v.data(), tags.dim()));
    fs.sims.push_back(std::move(sim));
  }
  return fs;
}

std::vector<float> FeatureSpace::user_rows(const UserProfiles& batch, size_t first_user,
                                           const BehaviourFactors* behaviour) const {
  if (space == ProjectionSpace::Tags) return batch.vectors;
  MARQUEE_CHECK_ARG(behaviour != nullptr, "the hybrid space needs a behaviour model");
  const std::vector<float> x = behaviour->users(batch, first_user);
  const size_t d = user_dim();
  std::vector<float> out(batch.size() * d);
  for (size_t u = 0; u < batch.size(); ++u) {
    std::copy(x.begin() + u * factors, x.begin() + (u + 1) * factors, out.begin() + u * d);
    std::copy(batch.vector(u), batch.vector(u) + tag_dim, out.begin() + u * d + factors);
  }
  return out;
}

void FeatureSpace::features(const UserProfiles& batch, const float* scores, float* out) const {
  const size_t rpt = rows_per_title(), nrows = new_titles * rpt;
  for (size_t u = 0; u < batch.size(); ++u) {
    const float act = activity_feature(batch.seen_end(u) - batch.seen_begin(u));
    for (size_t i = 0; i < new_titles; ++i) {
      float* r = out + (u * new_titles + i) * kNumFeatures;
      r[0] = scores[u * nrows + i * rpt + rpt - 1];
      r[1] = rpt == 2 ? scores[u * nrows + i * rpt] : 0.0f;
      r[2] = act;
      r[3] = neighbour_feature(batch.seen_begin(u), batch.seen_end(u), sims[i].data());
    }
  }
}

void naive_features(const UserProfiles& batch, size_t first_user, const BehaviourFactors* behaviour,
                    const std::vector<float>& tag_vector, const std::vector<float>& factors, float* out) {
  const std::vector<float> x = behaviour ? behaviour->users(batch, first_user) : std::vector<float>{};
  for (size_t u = 0; u < batch.size(); ++u) {
    float* r = out + u * kNumFeatures;
    r[0] = float(dot(batch.vector(u), tag_vector.data(), batch.dim));
    r[1] = behaviour ? float(dot(x.data() + u * factors.size(), factors.data(), factors.size())) : 0.0f;
    r[2] = activity_feature(batch.seen_end(u) - batch.seen_begin(u));
    r[3] = 0.0f;  // needs the title's cosines to the catalogue: see neighbour_feature
  }
}

// ------------------------------------------------------------------------------------------------

ProjectionAccumulator::ProjectionAccumulator(size_t num_titles, size_t tag_dim, size_t segments, double fan_weight)
    : titles_(num_titles),
      dim_(tag_dim),
      k_(segments),
      fan_weight_(fan_weight),
      viewers_(num_titles, 0),
      fans_(num_titles, 0),
      fan_p_(num_titles, 0.0),
      seg_users_(segments + 1, 0),
      seg_usable_(segments + 1, 0),
      seg_p_(segments + 1, 0.0),
      seg_aff_(segments + 1, 0.0),
      seg_sum_((segments + 1) * tag_dim, 0.0) {}

void ProjectionAccumulator::add(const UserProfiles& batch, const double* p, const double* affinity,
                                const int32_t* segment) {
  for (size_t u = 0; u < batch.size(); ++u) {
    const double pu = p[u];
    ++users_;
    sum_p_ += pu;
    sum_var_ += pu * (1 - pu);
    const UserSummary& s = batch.summaries[u];
    const double plays = std::accumulate(s.daypart.begin(), s.daypart.end(), 0.0);
    if (plays > 0)
      for (size_t h = 0; h < 24; ++h) daypart_[h] += pu * s.daypart[h] / plays;
    for (const SeenTitle* t = batch.seen_begin(u); t != batch.seen_end(u); ++t) {
      ++viewers_[t->title];
      if (t->weight >= fan_weight_) {
        ++fans_[t->title];
        fan_p_[t->title] += pu;
      }
    }
    const int32_t seg = segment ? segment[u] : -1;
    MARQUEE_CHECK_ARG(seg < int32_t(k_), "segment {} of a user outside the {} segments", seg, k_);
    auto add_to = [&](size_t row) {
      ++seg_users_[row];
      seg_p_[row] += pu;
      seg_aff_[row] += affinity[u];
      if (s.usable) {
        ++seg_usable_[row];
        double* sum = seg_sum_.data() + row * dim_;
        const float* v = batch.vector(u);
        for (size_t j = 0; j < dim_; ++j) sum[j] += v[j];
      }
    };
    if (seg >= 0) add_to(size_t(seg));
    add_to(k_);  // all users
  }
}

AudienceEstimate ProjectionAccumulator::audience(const CalibratedModel& model) const {
  AudienceEstimate a;
  a.users = users_;
  a.expected = sum_p_;
  a.sd = std::sqrt(sum_var_);
  const double n = double(users_);
  a.lo95 = std::clamp(sum_p_ - 1.96 * a.sd, 0.0, n);
  a.hi95 = std::clamp(sum_p_ + 1.96 * a.sd, 0.0, n);
  a.lo80 = std::clamp((sum_p_ + 1) * std::exp(model.log_ratio_q10) - 1, 0.0, n);
  a.hi80 = std::clamp((sum_p_ + 1) * std::exp(model.log_ratio_q90) - 1, 0.0, n);
  return a;
}

std::vector<CohortLift> ProjectionAccumulator::cohorts(size_t min_fans, size_t count,
                                                       const std::vector<uint32_t>& skip) const {
  std::vector<CohortLift> out;
  if (users_ == 0 || sum_p_ <= 0) return out;
  for (uint32_t t = 0; t < titles_; ++t) {
    if (fans_[t] < std::max<size_t>(min_fans, 1) || std::find(skip.begin(), skip.end(), t) != skip.end()) continue;
    CohortLift c;
    c.title = t;
    c.fans = fans_[t];
    c.expected_fans = fan_p_[t];
    c.audience_share = fan_p_[t] / sum_p_;
    c.user_share = double(fans_[t]) / double(users_);
    c.lift = c.audience_share / c.user_share;
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const CohortLift& a, const CohortLift& b) {
    if (a.lift != b.lift) return a.lift > b.lift;
    if (a.fans != b.fans) return a.fans > b.fans;
    return a.title < b.title;
  });
  if (out.size() > count) out.resize(count);
  return out;
}

std::vector<SegmentShare> ProjectionAccumulator::segments(const std::vector<float>& tag_vector,
                                                          size_t emphasis_tags) const {
  std::vector<SegmentShare> out;
  const double* all = seg_sum_.data() + k_ * dim_;
  const double all_n = std::max<double>(1, double(seg_usable_[k_]));
  for (size_t s = 0; s < k_; ++s) {
    SegmentShare r;
    r.segment = int32_t(s);
    r.users = seg_users_[s];
    r.expected = seg_p_[s];
    r.mean_affinity = r.users ? seg_aff_[s] / double(r.users) : 0.0;
    r.user_share = users_ ? double(r.users) / double(users_) : 0.0;
    r.audience_share = sum_p_ > 0 ? seg_p_[s] / sum_p_ : 0.0;
    r.lift = r.user_share > 0 ? r.audience_share / r.user_share : 0.0;
    if (seg_usable_[s] > 0 && tag_vector.size() == dim_) {
      const double* sum = seg_sum_.data() + s * dim_;
      std::vector<std::pair<uint32_t, double>> e, top;
      for (size_t j = 0; j < dim_; ++j) {
        const double over = sum[j] / double(seg_usable_[s]) - all[j] / all_n;
        if (over <= 0) continue;
        top.emplace_back(uint32_t(j), over);
        if (tag_vector[j] > 0) e.emplace_back(uint32_t(j), double(tag_vector[j]) * over);
      }
      auto best_first = [&](std::vector<std::pair<uint32_t, double>>& v) {
        std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
          return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        if (v.size() > emphasis_tags) v.resize(emphasis_tags);
      };
      best_first(e);
      best_first(top);
      r.emphasis = std::move(e);
      r.top_tags = std::move(top);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ComparableTitle> comparable_titles(const TitleMatrix& tags, const std::vector<float>& tag_vector,
                                               size_t count, const std::vector<uint32_t>& viewers,
                                               const std::vector<uint32_t>& skip) {
  MARQUEE_CHECK_ARG(tag_vector.size() == tags.dim(), "title vector of {} dims for {} tags", tag_vector.size(),
                    tags.dim());
  TopKSelector sel(std::max<size_t>(1, std::min(count, tags.num_titles())));
  for (uint32_t t = 0; t < tags.num_titles(); ++t) {
    if (std::find(skip.begin(), skip.end(), t) != skip.end()) continue;
    sel.push(t, float(dot(tags.row(t), tag_vector.data(), tags.dim())));
  }
  std::vector<ScoredTitle> top;
  sel.take_sorted(top);
  std::vector<ComparableTitle> out;
  for (const auto& s : top)
    if (count > 0) out.push_back({s.title, s.score, s.title < viewers.size() ? viewers[s.title] : 0});
  return out;
}

double auc_mann_whitney(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  MARQUEE_CHECK_ARG(scores.size() == labels.size(), "AUC: {} scores for {} labels", scores.size(), labels.size());
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = 0.5 * double(i + 1 + j);  // ranks i+1 .. j, averaged
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]]) {
        rank_sum += avg_rank;
        pos += 1;
      }
    i = j;
  }
  const double neg = double(n) - pos;
  if (pos == 0 || neg == 0) return std::nan("");
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

}  // namespace marquee
