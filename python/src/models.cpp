// marquee.Model and marquee.train: `marquee train`'s search and refit (host/jobs/train_job.h), the
// model folder (host/io/model_dir.h), and ranking with a model the way `marquee score` ranks:
// users folded in from their own profiles, exclusions by policy, the scorer of the resolved backend.
#include "common.h"

#include "engine/error.h"
#include "engine/explain.h"
#include "host/backend/resolver.h"
#include "host/io/model_dir.h"
#include "host/io/rejects.h"
#include "host/jobs/train_job.h"

namespace marquee::python {

namespace {

// `data` is an events path or a Profiles; profiles are copied into a workspace of their own, since
// prepare_training_data reads them from a Workspace.
ModelPtr train(const CatalogPtr& catalog, py::handle data, const std::string& model, double time_budget,
               size_t holdout, size_t validation_users, uint64_t seed, int threads, const std::string& backend,
               double half_life_days, py::handle as_of, const std::string& rejects_path, bool strict,
               double max_reject_rate) {
  // The checks run_train_job and the CLI flags make.
  MARQUEE_CHECK_ARG(time_budget > 0 && time_budget < 1e7, "time_budget must be between 0 and 10^7 seconds; got {}",
                    time_budget);
  MARQUEE_CHECK_ARG(holdout >= 1 && holdout <= 100, "holdout must be between 1 and 100; got {}", holdout);
  MARQUEE_CHECK_ARG(validation_users >= 1 && validation_users <= 10'000'000,
                    "validation_users must be between 1 and 10^7; got {}", validation_users);
  MARQUEE_CHECK_ARG(threads >= 0 && threads <= 1024, "threads must be between 0 (all cores) and 1024; got {}",
                    threads);
  MARQUEE_CHECK_ARG(max_reject_rate >= 0 && max_reject_rate <= 1, "max_reject_rate must be in [0, 1]; got {}",
                    max_reject_rate);
  TrainOptions o;
  o.families = parse_model_families(model);
  o.time_budget_s = time_budget;
  o.holdout = holdout;
  o.max_validation_users = validation_users;
  o.base.als.threads = threads;
  o.base.als.seed = seed;
  o.seed = seed;
  o.backend = parse_backend(backend);
  o.quiet = true;
  InputOptions input;
  input.catalog_dir = catalog->dir;
  input.engagement = engagement_options(half_life_days, as_of);
  ProfilesPtr given;
  if (py::isinstance<ProfilesHandle>(data)) {
    given = data.cast<ProfilesPtr>();
    MARQUEE_CHECK_ARG(given->catalog->catalog().fingerprint() == catalog->catalog().fingerprint(),
                      "the profiles were built against another catalogue ({}) than this one ({})",
                      given->catalog->dir, catalog->dir);
    input.profiles_path = given->source.empty() ? "<profiles in memory>" : given->source;
  } else if (py::isinstance<py::str>(data) || py::hasattr(data, "__fspath__")) {
    input.events_path = fspath(data);
  } else {
    MARQUEE_THROW_AS(ArgumentError, "train needs an events file path or a Profiles; got {}",
                     std::string(py::str(py::type::handle_of(data).attr("__name__"))));
  }
  auto h = std::make_shared<ModelHandle>();
  h->catalog = catalog;
  o.keep_profile_vectors = true;  // h->profiles below scores with them
  py::gil_scoped_release nogil;
  RejectLog rejects(rejects_path, strict, max_reject_rate);
  TrainingData d;
  if (given) {
    Workspace ws;
    ws.catalog = catalog->catalog();
    ws.titles = catalog->titles();
    ws.profiles = std::make_unique<MemoryProfiles>(given->p);
    d = prepare_training_data(ws, input, o, rejects);
  } else {
    d = prepare_training_data(catalog->ws, input, o, rejects);
  }
  rejects.finish();
  TrainedModel trained = train_model(catalog->titles(), d.train, d.heldout, d.all, o, nullptr);
  h->model = std::move(trained.model);
  h->record = trained.record;
  h->record["training"] = d.info;
  if (given) {
    h->profiles = given;
  } else {
    h->profiles = std::make_shared<ProfilesHandle>();
    h->profiles->catalog = catalog;
    h->profiles->source = input.events_path;
    h->profiles->p = std::move(d.all);
  }
  return h;
}

ModelPtr load_model(py::handle dir_arg, const CatalogPtr& catalog, const ProfilesPtr& profiles) {
  const std::string dir = fspath(dir_arg);
  auto h = std::make_shared<ModelHandle>();
  h->catalog = catalog;
  h->profiles = profiles;
  py::gil_scoped_release nogil;
  LoadedModel loaded = load_model_dir(dir, catalog->catalog(), catalog->titles());
  h->model = std::move(loaded.model);
  h->manifest = std::move(loaded.manifest);
  h->version = loaded.version;
  for (const char* key : {"validation", "training"})
    if (h->manifest.contains(key)) h->record[key] = h->manifest[key];
  return h;
}

void save_model(ModelHandle& h, py::handle dir_arg) {
  const std::string dir = fspath(dir_arg);
  nlohmann::json manifest;
  {
    py::gil_scoped_release nogil;
    ModelRecord record;
    record.extra = h.record;
    manifest = save_model_dir(dir, *h.model, h.catalog->catalog(), record);
  }
  h.manifest = manifest;
  h.version = manifest.value("version", "");
}

// The profiles to fold users in from: `profiles`, else those the model was trained with.
const ProfilesHandle& profiles_for(const ModelHandle& h, const ProfilesPtr& profiles) {
  const ProfilesPtr& p = profiles ? profiles : h.profiles;
  MARQUEE_CHECK_ARG(p != nullptr,
                    "this model holds no users (it was loaded): pass profiles=Profiles.build(...) or Profiles.load(...)");
  MARQUEE_CHECK_ARG(p->catalog->catalog().fingerprint() == h.catalog->catalog().fingerprint(),
                    "the profiles were built against another catalogue ({}) than the model's ({})", p->catalog->dir,
                    h.catalog->dir);
  return *p;
}

// Top-K of users `which` of `p`, as the score job ranks one batch (search_batch and
// list_unscored_and_show in host/jobs/score_job.cpp): users without usable signal get no titles.
py::tuple recommend(ModelHandle& h, py::handle users, int64_t k, const std::string& exclude,
                    const ProfilesPtr& profiles, const std::string& backend) {
  const ProfilesHandle& p = profiles_for(h, profiles);
  const std::vector<size_t> which = resolve_users(p, users);
  const size_t kk = check_k(k, h.model->titles().num_titles(), "the catalogue size");
  const ExcludePolicy policy = parse_exclude_policy(exclude);
  const Backend b = parse_backend(backend);
  const size_t n = which.size();
  TopKResult r;
  {
    py::gil_scoped_release nogil;
    const UserProfiles batch = select_users(p.p, which);
    const Exclusions ex = Exclusions::from_profiles(batch, policy);
    const std::vector<float> vectors = h.model->user_vectors(batch);
    std::lock_guard<std::mutex> lock(h.scorer_mutex);
    if (!h.scorer || h.scorer_backend != backend) {
      h.scorer.reset();
      h.scorer = choose_scorer(b, h.model->titles()).scorer;
      h.scorer_backend = backend;
    }
    h.scorer->search(UserBatchView{n, h.model->dim(), vectors.data(), &ex}, kk, r);
    for (size_t u = 0; u < n; ++u)
      if (!batch.summaries[u].usable) r.counts[u] = 0;
  }
  return topk_arrays(r, n, kk);
}

py::array_t<float> fold_in(const ModelHandle& h, py::handle users, const ProfilesPtr& profiles) {
  const ProfilesHandle& p = profiles_for(h, profiles);
  const std::vector<size_t> which = resolve_users(p, users);
  std::vector<float> v;
  {
    py::gil_scoped_release nogil;
    v = h.model->user_vectors(select_users(p.p, which));
  }
  return owned_array(std::move(v), {py::ssize_t(which.size()), py::ssize_t(h.model->dim())});
}

py::dict explain(const ModelHandle& h, py::handle user, py::handle title, const ProfilesPtr& profiles,
                 size_t top_titles) {
  const ProfilesHandle& p = profiles_for(h, profiles);
  const std::vector<size_t> u = resolve_users(p, user);
  const std::vector<size_t> t = resolve_titles(h.catalog->catalog(), title);
  MARQUEE_CHECK_ARG(u.size() == 1 && t.size() == 1, "explain takes one user and one title");
  ModelExplanation ex;
  {
    py::gil_scoped_release nogil;
    ex = explain_model(*h.model, select_users(p.p, u), uint32_t(t[0]), top_titles);
  }
  py::list because;
  for (const BecauseWatched& b : ex.because)
    because.append(py::dict(py::arg("title") = b.title, py::arg("title_id") = h.catalog->catalog().title(b.title).id,
                            py::arg("similarity") = b.similarity, py::arg("weight") = b.weight));
  return py::dict(py::arg("score") = ex.score, py::arg("rank") = ex.rank, py::arg("candidates") = ex.candidates,
                  py::arg("because") = because);
}

}  // namespace

void bind_models(py::module_& m) {
  m.def("_train", &train, py::arg("catalog"), py::arg("data"), py::arg("model"), py::arg("time_budget"),
        py::arg("holdout"), py::arg("validation_users"), py::arg("seed"), py::arg("threads"), py::arg("backend"),
        py::arg("half_life_days"), py::arg("as_of"), py::arg("rejects_path"), py::arg("strict"),
        py::arg("max_reject_rate"));

  py::class_<ModelHandle, ModelPtr>(m, "Model", py::dynamic_attr(),
                                    "A fitted model (tags, behaviour, hybrid or ease) and its catalogue.")
      .def_static("load", &load_model, py::arg("dir"), py::arg("catalog"), py::arg("profiles") = ProfilesPtr(),
                  "Loads a model folder (`marquee train`) against the catalogue; `profiles` are the users "
                  "recommend() folds in by default.")
      .def("save", &save_model, py::arg("dir"), "Writes the model folder (as `marquee train --out`), atomically.")
      .def_property_readonly("family", [](const ModelHandle& h) { return model_kind_name(h.model->kind()); })
      .def_property_readonly("version", [](const ModelHandle& h) { return h.version; },
                             "\"<family>-<hash>\" once loaded or saved; \"\" before.")
      .def_property_readonly("params", [](const ModelHandle& h) { return to_python(model_params_json(h.model->params())); })
      .def_property_readonly("manifest", [](const ModelHandle& h) { return to_python(h.manifest); })
      .def_property_readonly("validation",
                             [](const ModelHandle& h) {
                               return to_python(h.record.contains("validation") ? h.record["validation"]
                                                                                : nlohmann::json());
                             },
                             "The validation table of the search that chose this model (a dict), or None.")
      .def_property_readonly("dim", [](const ModelHandle& h) { return h.model->dim(); })
      .def_readonly("catalog", &ModelHandle::catalog)
      .def_readwrite("profiles", &ModelHandle::profiles, "The users recommend() folds in by default (or None).")
      .def_property_readonly("title_vectors",
                             [](py::object self) {
                               const ModelHandle& h = self.cast<const ModelHandle&>();
                               const TitleMatrix& t = h.model->titles();
                               return readonly_view(t.dense().data(), t.num_titles(), t.dim(), self);
                             },
                             "The title side of the inner product (titles x dim, read-only view).")
      .def_property_readonly("similarity_vectors",
                             [](py::object self) {
                               const ModelHandle& h = self.cast<const ModelHandle&>();
                               const TitleMatrix& t = h.model->similarity_titles();
                               return readonly_view(t.dense().data(), t.num_titles(), t.dim(), self);
                             },
                             "L2-normalised title vectors for similar() (read-only view).")
      .def("recommend", &recommend, py::arg("users"), py::arg("k") = 10, py::arg("exclude") = "watched",
           py::arg("profiles") = ProfilesPtr(), py::arg("backend") = "auto",
           "Top-k titles per user as `marquee score` ranks them: (titles int64 [n, k], scores float32 [n, k]); "
           "rows with fewer than k titles (users without usable signal: none) are padded with -1 / -inf.")
      .def("fold_in", &fold_in, py::arg("users"), py::arg("profiles") = ProfilesPtr(),
           "The users' vectors in the model's space (n x dim float32), folded in from their profiles.")
      .def("similar", [](const ModelHandle& h, py::handle titles, int64_t k) {
            return similar_in(h.model->similarity_titles(), h.catalog->catalog(), titles, k);
          }, py::arg("title_ids"), py::arg("k") = 10,
          "Titles most like each given title in the model's similarity space (as `marquee similar --model-dir`).")
      .def("explain", &explain, py::arg("user"), py::arg("title"), py::arg("profiles") = ProfilesPtr(),
           py::arg("top_titles") = 3,
           "The model's score of a title for a user, its rank among the user's unwatched titles, and the "
           "watched titles most like it (as `marquee explain --model-dir`).");
}

}  // namespace marquee::python
