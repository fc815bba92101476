// EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): item-item weights
// in closed form,
//   P = (X^T X + lambda I)^-1,   B = I - P diag(1 / diag(P)),  i.e. B_jt = -P_jt / P_tt, B_tt = 0,
// where X is the binary users x titles matrix of positive engagement. A user's scores are x_u B, so
// the title side of the inner product is column t of B and the user side is x_u itself. The
// titles x titles Gram matrix makes it a model for catalogues up to tens of thousands of titles
// (memory ~ 3 x 4 titles^2 bytes while fitting, 2 x 4 titles^2 after); titles nobody watched score 0.
#include "engine/error.h"
#include "engine/models/families.h"

#include <omp.h>

#include <cmath>
#include <limits>

extern "C" void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
extern "C" void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);

namespace marquee {
namespace {

constexpr size_t kMaxEaseTitles = 60000;  // 4 x 60k^2 bytes = 14 GB for the Gram matrix alone

class EaseModel final : public Model {
 public:
  explicit EaseModel(const ModelParams& p) : Model(p) {
    MARQUEE_CHECK_ARG(std::isfinite(p.ease_lambda) && p.ease_lambda > 0, "EASE lambda must be a finite number > 0; got {}",
                      p.ease_lambda);
  }
  ModelKind kind() const override { return ModelKind::Ease; }

  void fit(const TitleMatrix& tags, const UserProfiles& profiles, const FitBackend& backend) override {
    const size_t n = tags.num_titles();
    MARQUEE_CHECK_ARG(n <= kMaxEaseTitles, "EASE needs a {} x {} Gram matrix; the limit is {} titles", n, n,
                      kMaxEaseTitles);
    // G = X^T X + lambda I, upper triangle (row-major i <= j), accumulated user by user.
    std::vector<float> g(n * n, 0.0f);
    std::vector<uint32_t> liked;
    for (size_t u = 0; u < profiles.size(); ++u) {
      liked.clear();
      for (const SeenTitle* s = profiles.seen_begin(u); s != profiles.seen_end(u); ++s)
        if (s->weight > 0) liked.push_back(s->title);  // seen titles are sorted by title index
      for (size_t a = 0; a < liked.size(); ++a)
        for (size_t b = a; b < liked.size(); ++b) g[size_t(liked[a]) * n + liked[b]] += 1.0f;
    }
    for (size_t t = 0; t < n; ++t) g[t * n + t] += params_.ease_lambda;
    // The n^3 step: on the GPU when the resolver chose it (cuSOLVER), else LAPACK.
    (backend.spd_inverse ? backend.spd_inverse : cpu_spd_inverse)(n, g.data());
    // g now holds P's upper triangle in row-major order; row t of the title side is -P[t, :] / P[t, t].
    std::vector<float> rows(n * n);
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < n; ++t) {
      const float inv = -1.0f / g[t * n + t];
      float* r = rows.data() + t * n;
      for (size_t j = 0; j < n; ++j) r[j] = (j >= t ? g[t * n + j] : g[j * n + t]) * inv;
      r[t] = 0.0f;
    }
    set_weights(n, std::move(rows));
  }

  const TitleMatrix& titles() const override { return titles_; }
  const TitleMatrix& similarity_titles() const override { return similarity_; }

  std::vector<float> user_vectors(const UserProfiles& batch) const override {
    const size_t n = titles_.num_titles();
    std::vector<float> out(batch.size() * n, 0.0f);
    for (size_t u = 0; u < batch.size(); ++u)
      for (const SeenTitle* s = batch.seen_begin(u); s != batch.seen_end(u); ++s) {
        MARQUEE_CHECK_ARG(s->title < n, "title index {} outside the model's {} titles", s->title, n);
        if (s->weight > 0) out[u * n + s->title] = 1.0f;
      }
    return out;
  }

  std::vector<ModelArray> arrays() const override {
    const size_t n = titles_.num_titles();
    return {{"item_weights", {n, n}, titles_.dense()}};
  }

  void restore(const TitleMatrix& tags, const std::vector<ModelArray>& arrays) override {
    const size_t n = tags.num_titles();
    std::vector<float> rows = find_model_array(arrays, "item_weights", {n, n}).data;
    for (float v : rows) MARQUEE_CHECK_INPUT(std::isfinite(v), "the model's item weights hold a non-finite value");
    set_weights(n, std::move(rows));
  }

 private:
  void set_weights(size_t n, std::vector<float> rows) {
    titles_ = TitleMatrix::from_rows(n, n, std::move(rows));
    similarity_ = normalised_rows(titles_);
  }

  TitleMatrix titles_, similarity_;
};

}  // namespace

void cpu_spd_inverse(size_t n, float* a) {
  MARQUEE_CHECK_ARG(n <= size_t(std::numeric_limits<int>::max()), "a {} x {} matrix is past LAPACK's int sizes", n, n);
  // Row-major upper = column-major lower: LAPACK sees the same symmetric matrix.
  const int dim = int(n);
  int info = 0;
  spotrf_("L", &dim, a, &dim, &info);
  MARQUEE_CHECK_INPUT(info == 0, "EASE: the Gram matrix is not positive definite (LAPACK info {})", info);
  spotri_("L", &dim, a, &dim, &info);
  MARQUEE_CHECK_INPUT(info == 0, "EASE: the Gram matrix could not be inverted (LAPACK info {})", info);
}

std::unique_ptr<Model> make_ease_model(const ModelParams& params) { return std::make_unique<EaseModel>(params); }

}  // namespace marquee
