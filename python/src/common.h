// What the binding files share: the objects Python holds (a catalogue, events, profiles, a model),
// numpy conversions, and the id lookups. Bindings are thin: every result comes from the engine or a
// job; what is here only converts arguments and results (docs/python.md).
#pragma once

#include "engine/catalog.h"
#include "engine/model.h"
#include "engine/profiles.h"
#include "engine/scorer.h"
#include "engine/title_matrix.h"
#include "host/io/events_io.h"
#include "host/jobs/workspace.h"

#include <nlohmann/json.hpp>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace marquee::python {

namespace py = pybind11;

/// marquee.Catalog: the catalogue and its tag vectors (open_catalog's Workspace, without profiles).
struct CatalogHandle {
  Workspace ws;
  std::string dir;
  const Catalog& catalog() const { return ws.catalog; }
  const TitleMatrix& titles() const { return ws.titles; }
};
using CatalogPtr = std::shared_ptr<CatalogHandle>;

/// marquee.Events: one events file as load_events read it.
struct EventsHandle {
  CatalogPtr catalog;
  std::string path;
  LoadedEvents loaded;
};

/// marquee.Profiles: every user's profile, in memory.
struct ProfilesHandle {
  CatalogPtr catalog;
  std::string source;  // the events or profiles file it came from
  UserProfiles p;
  ProfileBuildStats stats;

  /// Index of `id` (a hash map built on first use); throws ArgumentError for an unknown id.
  size_t index_of(const std::string& id) const;

 private:
  mutable std::once_flag index_once_;
  mutable std::unordered_map<std::string, size_t> index_;
};
using ProfilesPtr = std::shared_ptr<ProfilesHandle>;

/// marquee.Model: a fitted model, the catalogue it belongs to, and the profiles it was trained on
/// (when it was trained here; `recommend` folds those users in unless given others).
struct ModelHandle {
  CatalogPtr catalog;
  std::shared_ptr<Model> model;
  nlohmann::json manifest;  // of the folder it was loaded from or saved to; null otherwise
  nlohmann::json record = nlohmann::json::object();  // "validation" and "training" sections
  std::string version;
  ProfilesPtr profiles;

  /// The scorer of `backend` over model->titles(), built once per backend and shared by calls
  /// (searches are serialised by `scorer_mutex`).
  std::mutex scorer_mutex;
  std::unique_ptr<Scorer> scorer;
  std::string scorer_backend;
};
using ModelPtr = std::shared_ptr<ModelHandle>;

// ---- conversions --------------------------------------------------------------------------------

/// nlohmann::json -> Python objects (through the json module: the results are small).
py::object to_python(const nlohmann::json& j);

/// A numpy array owning `v` (moved; no copy) with `shape`.
template <class T>
py::array_t<T> owned_array(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  if (v.empty()) v.reserve(1);  // a non-null pointer for numpy
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(std::move(shape), heap->data(), owner);
}

/// A read-only numpy view of `data` (rows x cols, row-major) kept alive by `base` (no copy).
py::array_t<float> readonly_view(const float* data, size_t rows, size_t cols, py::handle base);

/// (titles int64 [n, k], scores float32 [n, k]) of a search; rows with fewer than k results are
/// padded with title -1 and score -inf.
py::tuple topk_arrays(TopKResult& result, size_t n, size_t k);

/// Dense indices of `which`: a str id, an int index, or a sequence / integer array of either
/// (unknown ids and indices outside the range are ArgumentErrors).
std::vector<size_t> resolve_users(const ProfilesHandle& p, py::handle which);
std::vector<size_t> resolve_titles(const Catalog& c, py::handle which);

/// Engagement options from Python: half_life_days (0..36500 days, as the CLI's guard) and as_of
/// (None, epoch seconds, or an ISO-8601 string, as --as-of).
EngagementOptions engagement_options(double half_life_days, py::handle as_of);

/// Titles most like each of `which` in `space` (the row itself excluded), by the CPU scorer as
/// `marquee similar` ranks them: (titles, scores) arrays.
py::tuple similar_in(const TitleMatrix& space, const Catalog& catalog, py::handle which, int64_t k);

/// A path argument: str or os.PathLike (os.fspath), as a string.
std::string fspath(py::handle path);

/// A checked K: 1 <= k <= limit (ArgumentError naming `what` otherwise).
size_t check_k(int64_t k, size_t limit, const char* what);

// ---- the binding files ----------------------------------------------------------------------------
void bind_errors(py::module_& m);
void bind_catalog_data(py::module_& m);
void bind_models(py::module_& m);
void bind_knn(py::module_& m);
void bind_jobs(py::module_& m);
void bind_scale(py::module_& m);

}  // namespace marquee::python
