// The model factory, shared helpers, and the tags model (the catalogue's own vectors: nothing to fit).
#include "engine/model.h"

#include "engine/error.h"
#include "engine/models/families.h"

#include <cmath>

namespace marquee {

std::vector<float> Model::user_factors(const UserProfiles&) const {
  throw ArgumentError(fmt::format("the {} model has no behaviour factors (behaviour and hybrid models have)",
                                  model_kind_name(kind())));
}

const ModelArray& find_model_array(const std::vector<ModelArray>& arrays, const std::string& name,
                                   const std::vector<size_t>& shape) {
  for (const auto& a : arrays) {
    if (a.name != name) continue;
    size_t n = 1;
    for (size_t s : shape) n *= s;
    MARQUEE_CHECK_INPUT(a.shape == shape && a.data.size() == n, "model array '{}' has shape [{}], expected [{}]",
                        name, fmt::join(a.shape, ", "), fmt::join(shape, ", "));
    return a;
  }
  MARQUEE_THROW_AS(InputError, "the model has no array '{}'", name);
}

TitleMatrix normalised_rows(const TitleMatrix& m) {
  std::vector<float> rows(m.dense());
  const size_t d = m.dim();
  for (size_t t = 0; t < m.num_titles(); ++t) {
    float* r = rows.data() + t * d;
    double norm = 0;
    for (size_t j = 0; j < d; ++j) norm += double(r[j]) * r[j];
    if (norm <= 0) continue;
    const float inv = float(1.0 / std::sqrt(norm));
    for (size_t j = 0; j < d; ++j) r[j] *= inv;
  }
  return TitleMatrix::from_rows(m.num_titles(), d, std::move(rows));
}

namespace {

/// tags: the user's engagement-weighted tag profile against the titles' IDF tag vectors (cosine).
class TagsModel final : public Model {
 public:
  explicit TagsModel(const ModelParams& p) : Model(p) {}
  ModelKind kind() const override { return ModelKind::Tags; }
  void fit(const TitleMatrix& tags, const UserProfiles&, const FitBackend&) override { titles_ = tags; }
  const TitleMatrix& titles() const override { return titles_; }
  std::vector<float> user_vectors(const UserProfiles& batch) const override {
    MARQUEE_CHECK_ARG(batch.dim == titles_.dim(), "profiles of {} tags for a model of {} tags", batch.dim,
                      titles_.dim());
    return batch.vectors;
  }
  const TitleMatrix& similarity_titles() const override { return titles_; }
  std::vector<ModelArray> arrays() const override { return {}; }
  void restore(const TitleMatrix& tags, const std::vector<ModelArray>&) override { titles_ = tags; }

 private:
  TitleMatrix titles_;
};

}  // namespace

std::unique_ptr<Model> make_model(ModelKind kind, const ModelParams& params) {
  switch (kind) {
    case ModelKind::Tags: return std::make_unique<TagsModel>(params);
    case ModelKind::Behaviour:
    case ModelKind::Hybrid: return make_als_model(kind, params);
    case ModelKind::Ease: return make_ease_model(params);
  }
  MARQUEE_THROW_AS(ArgumentError, "unknown model kind");
}

}  // namespace marquee
