// One interface for every recommendation model (the shape of implicit's RecommenderBase and FAISS's
// Index): fit on profiles, then rank as an inner product of user_vectors() and titles(), so every
// model runs on the same exact top-K paths (CPU and GPU scorers), in the nightly job and the server.
//
// A model keeps only title-side state. Users are always folded in from their own engagement (their
// seen titles and tag profile) when they are scored: the exact ALS user half-step for behaviour and
// hybrid, the interaction row for EASE, the tag profile for tags. So a model trained last week
// scores today's users, unseen ones included, and its size does not grow with users.
//
// Families (docs/models.md):
//   tags       user tag profile . title tag vector (cosine)
//   behaviour  implicit ALS (Hu et al. 2008, with Rendle et al. 2021's unobserved weight and
//              frequency-scaled regularisation); titles nobody watched get factors from their tags
//   hybrid     [sqrt(wb) x_u, sqrt(wt) tags_u, sqrt(wp)] . [sqrt(wb) y_t, sqrt(wt) tags_t, sqrt(wp) pop_t]
//   ease       EASE^R (Steck 2019): closed-form item-item weights B, score = x_u . B[:, t]
#pragma once

#include "engine/als.h"
#include "engine/profiles.h"
#include "engine/recommender.h"
#include "engine/title_matrix.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace marquee {

/// Every family's hyperparameters; each family reads its own part.
struct ModelParams {
  AlsOptions als;            // behaviour, hybrid
  HybridWeights weights;     // hybrid
  float ease_lambda = 200;   // ease: L2 penalty on the item-item weights
};

/// Inverts a symmetric positive definite n x n matrix in place. In: the upper triangle in row-major
/// order (= the lower triangle column-major, as LAPACK sees it); out: the inverse's upper triangle,
/// the same way (the other triangle is left undefined). Throws InputError when the matrix is not
/// positive definite.
using SpdInverse = std::function<void(size_t n, float* a)>;

/// The CPU SpdInverse: LAPACK spotrf + spotri (OpenBLAS, every core).
void cpu_spd_inverse(size_t n, float* a);

/// Where the heavy steps of fitting run, chosen once at the edge (host/backend/resolver.h,
/// choose_fit_backend). Empty members mean the CPU; a model uses the members it needs.
struct FitBackend {
  AlsTrainer als;           // behaviour, hybrid: the ALS trainer
  SpdInverse spd_inverse;   // ease: (X^T X + lambda I)^-1
  FitBackend() = default;
  FitBackend(AlsTrainer trainer) : als(std::move(trainer)) {}  // NOLINT: an ALS trainer alone is a backend
};

/// A float32 array a model saves (row-major; shape {n} or {rows, cols}).
struct ModelArray {
  std::string name;
  std::vector<size_t> shape;
  std::vector<float> data;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual ModelKind kind() const = 0;
  const ModelParams& params() const { return params_; }

  /// Fits on the profiles' engagement against the catalogue's tag vectors. `backend` says where the
  /// heavy steps run (ALS training, EASE's inverse), as the backend resolver chose (empty: the CPU).
  virtual void fit(const TitleMatrix& tags, const UserProfiles& profiles, const FitBackend& backend = {}) = 0;

  /// The title side of the inner product (num_titles x dim()).
  virtual const TitleMatrix& titles() const = 0;
  size_t dim() const { return titles().dim(); }

  /// The user side for every user of `batch` (batch.size() x dim()), folded in from their own
  /// seen titles and tag profile. A user without usable signal gets a zero vector.
  virtual std::vector<float> user_vectors(const UserProfiles& batch) const = 0;

  /// Title vectors for "titles like this one" (L2-normalised, so inner product = cosine).
  virtual const TitleMatrix& similarity_titles() const = 0;

  /// What save writes (float32 arrays) and restore reads back, against the same catalogue's tags.
  virtual std::vector<ModelArray> arrays() const = 0;
  virtual void restore(const TitleMatrix& tags, const std::vector<ModelArray>& arrays) = 0;

  /// Behaviour and hybrid: the ALS title factors and the tags -> factors map that places titles
  /// nobody watched (cold start, projection). Null for the other families.
  virtual const RecommenderModel* factor_model() const { return nullptr; }
  /// Behaviour and hybrid: every user's ALS factors, folded in (batch.size() x factors). Other
  /// families throw ArgumentError.
  virtual std::vector<float> user_factors(const UserProfiles& batch) const;

  /// Where batches of users are folded in (behaviour, hybrid; others ignore it), as the backend
  /// resolver chose (choose_als_row_solver): empty, the default, means the CPU. Single users (the
  /// server's fold-in per request) always run on the caller's thread.
  void set_fold_in_solver(AlsRowSolver solver) { fold_in_solver_ = std::move(solver); }

 protected:
  explicit Model(const ModelParams& params) : params_(params) {}
  ModelParams params_;
  AlsRowSolver fold_in_solver_;
};

/// A fresh (unfitted) model of `kind` with `params`. Throws ArgumentError for bad parameters.
std::unique_ptr<Model> make_model(ModelKind kind, const ModelParams& params = {});

/// The array named `name` in `arrays` with `shape`; throws InputError naming what was expected.
const ModelArray& find_model_array(const std::vector<ModelArray>& arrays, const std::string& name,
                                   const std::vector<size_t>& shape);

/// An L2-normalised copy of `m`'s rows (zero rows stay zero).
TitleMatrix normalised_rows(const TitleMatrix& m);

}  // namespace marquee
