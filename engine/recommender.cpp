#include "engine/recommender.h"

#include "engine/enum_names.h"

#include "engine/error.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

extern "C" void sposv_(const char* uplo, const int* n, const int* nrhs, float* a, const int* lda, float* b,
                       const int* ldb, int* info);

namespace marquee {

namespace {
constexpr EnumName<ModelKind> kModelNames[] = {{ModelKind::Tags, "tags"},
                                               {ModelKind::Behaviour, "behaviour"},
                                               {ModelKind::Behaviour, "behavior", true},
                                               {ModelKind::Hybrid, "hybrid"},
                                               {ModelKind::Ease, "ease"}};
}  // namespace

ModelKind parse_model_kind(const std::string& text) { return parse_enum(kModelNames, text, "model"); }
const char* model_kind_name(ModelKind kind) { return enum_name(kModelNames, kind); }

std::vector<Interaction> interactions_of(const UserProfiles& p, size_t first_user) {
  std::vector<Interaction> out;
  out.reserve(p.seen.size());
  for (size_t u = 0; u < p.size(); ++u)
    for (const SeenTitle* s = p.seen_begin(u); s != p.seen_end(u); ++s)
      out.push_back({uint32_t(first_user + u), s->title, s->weight});
  return out;
}

namespace {

// Ridge regression W (tags x factors) = (T^T T + mu I)^-1 T^T Y over titles with viewers.
std::vector<float> fit_tag_map(const TitleMatrix& tags, const AlsModel& als, float mu) {
  const size_t d = tags.dim(), f = als.factors;
  std::vector<float> tt(d * d, 0.0f), ty(d * f, 0.0f);
  for (size_t t = 0; t < tags.num_titles(); ++t) {
    if (!als.title_seen[t]) continue;
    const uint64_t b = tags.row_ptr()[t], e = tags.row_ptr()[t + 1];
    for (uint64_t p = b; p < e; ++p) {
      const uint32_t i = tags.col_idx()[p];
      const float vi = tags.values()[p];
      for (uint64_t q = b; q < e; ++q) tt[size_t(i) * d + tags.col_idx()[q]] += vi * tags.values()[q];
      for (size_t j = 0; j < f; ++j) ty[size_t(i) * f + j] += vi * als.title(t)[j];
    }
  }
  for (size_t i = 0; i < d; ++i) tt[i * d + i] += mu;
  // Column-major solve of a symmetric system with f right-hand sides: pass ty transposed.
  std::vector<float> rhs(d * f);
  for (size_t i = 0; i < d; ++i)
    for (size_t j = 0; j < f; ++j) rhs[j * d + i] = ty[i * f + j];
  const int n = int(d), nrhs = int(f);
  int info = 0;
  sposv_("U", &n, &nrhs, tt.data(), &n, rhs.data(), &n, &info);
  MARQUEE_ASSERT(info == 0);
  std::vector<float> w(d * f);
  for (size_t i = 0; i < d; ++i)
    for (size_t j = 0; j < f; ++j) w[i * f + j] = rhs[j * d + i];
  return w;
}

}  // namespace

std::vector<float> factors_from_tags(const float* tag_vector, size_t tag_dim, const RecommenderModel& m) {
  const size_t f = m.als.factors;
  MARQUEE_CHECK_ARG(m.tag_to_factors.size() == tag_dim * f, "tag vector of {} dims for a map of {} tags", tag_dim,
                    m.tag_to_factors.size() / std::max<size_t>(f, 1));
  std::vector<float> y(f, 0.0f);
  for (size_t i = 0; i < tag_dim; ++i)
    if (tag_vector[i] != 0.0f)
      for (size_t j = 0; j < f; ++j) y[j] += tag_vector[i] * m.tag_to_factors[i * f + j];
  return y;
}

RecommenderModel fit_recommender(const TitleMatrix& tags, const UserProfiles& profiles, const AlsOptions& als,
                                 const HybridWeights& weights, const AlsTrainer& trainer) {
  RecommenderModel m;
  m.weights = weights;
  const std::vector<Interaction> inter = interactions_of(profiles);
  m.als = trainer ? trainer(profiles.size(), tags.num_titles(), inter, als)
                  : train_als(profiles.size(), tags.num_titles(), inter, als);
  m.tag_to_factors = fit_tag_map(tags, m.als, 1.0f);
  for (size_t t = 0; t < tags.num_titles(); ++t) {
    if (m.als.title_seen[t]) continue;
    const std::vector<float> y = factors_from_tags(tags.row(t), tags.dim(), m);
    std::copy(y.begin(), y.end(), m.als.title_factors.begin() + t * m.als.factors);
  }
  std::vector<double> viewers(tags.num_titles(), 0.0);
  for (const auto& i : inter)
    if (i.weight > 0) viewers[i.title] += 1;
  const double top = std::log1p(*std::max_element(viewers.begin(), viewers.end()));
  m.popularity.resize(tags.num_titles());
  for (size_t t = 0; t < viewers.size(); ++t) m.popularity[t] = top > 0 ? float(std::log1p(viewers[t]) / top) : 0.0f;
  return m;
}

TitleMatrix model_titles(ModelKind kind, const TitleMatrix& tags, const RecommenderModel& m) {
  MARQUEE_CHECK_ARG(kind != ModelKind::Ease, "EASE has no ALS factors: build it with make_model (engine/model.h)");
  if (kind == ModelKind::Tags) return tags;
  const size_t n = tags.num_titles(), f = m.als.factors;
  if (kind == ModelKind::Behaviour) return TitleMatrix::from_rows(n, f, m.als.title_factors);
  const size_t d = f + tags.dim() + 1;
  const float sb = std::sqrt(m.weights.behaviour), st = std::sqrt(m.weights.tags), sp = std::sqrt(m.weights.popularity);
  std::vector<float> rows(n * d);
  for (size_t t = 0; t < n; ++t) {
    float* r = rows.data() + t * d;
    for (size_t j = 0; j < f; ++j) r[j] = sb * m.als.title(t)[j];
    for (size_t j = 0; j < tags.dim(); ++j) r[f + j] = st * tags.row(t)[j];
    r[d - 1] = sp * m.popularity[t];
  }
  return TitleMatrix::from_rows(n, d, std::move(rows));
}

std::vector<float> model_users(ModelKind kind, const UserProfiles& batch, size_t first_user, const RecommenderModel& m) {
  MARQUEE_CHECK_ARG(kind != ModelKind::Ease, "EASE has no ALS factors: build it with make_model (engine/model.h)");
  if (kind == ModelKind::Tags) return batch.vectors;
  const size_t f = m.als.factors;
  MARQUEE_CHECK_ARG(first_user + batch.size() <= m.als.users, "users [{}, {}) outside the model's {} users",
                    first_user, first_user + batch.size(), m.als.users);
  if (kind == ModelKind::Behaviour)
    return std::vector<float>(m.als.user_factors.begin() + first_user * f,
                              m.als.user_factors.begin() + (first_user + batch.size()) * f);
  const size_t d = f + batch.dim + 1;
  const float sb = std::sqrt(m.weights.behaviour), st = std::sqrt(m.weights.tags), sp = std::sqrt(m.weights.popularity);
  std::vector<float> rows(batch.size() * d);
  for (size_t u = 0; u < batch.size(); ++u) {
    float* r = rows.data() + u * d;
    const float* x = m.als.user(first_user + u);
    for (size_t j = 0; j < f; ++j) r[j] = sb * x[j];
    for (size_t j = 0; j < batch.dim; ++j) r[f + j] = st * batch.vector(u)[j];
    r[d - 1] = batch.summaries[u].usable ? sp : 0.0f;  // no signal: no popularity prior either
  }
  return rows;
}

}  // namespace marquee
