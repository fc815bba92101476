// marquee.Catalog, marquee.Events, marquee.Profiles: the catalogue loader, the events reader and the
// profile builder of the jobs (host/io, host/jobs/workspace), their results as numpy arrays.
#include "common.h"

#include "engine/error.h"
#include "host/io/profile_io.h"
#include "host/io/rejects.h"

namespace marquee::python {

namespace {

CatalogPtr load_catalog_handle(const std::string& dir, const std::string& rejects_path, bool strict,
                               double max_reject_rate) {
  MARQUEE_CHECK_ARG(max_reject_rate >= 0 && max_reject_rate <= 1, "max_reject_rate must be in [0, 1]; got {}",
                    max_reject_rate);
  auto h = std::make_shared<CatalogHandle>();
  h->dir = dir;
  py::gil_scoped_release nogil;
  RejectLog rejects(rejects_path, strict, max_reject_rate);
  h->ws = open_catalog(dir, rejects);
  rejects.finish();
  return h;
}

std::shared_ptr<EventsHandle> read_events(const CatalogPtr& catalog, const std::string& path,
                                          const std::string& rejects_path, bool strict, double max_reject_rate,
                                          py::handle as_of) {
  MARQUEE_CHECK_ARG(max_reject_rate >= 0 && max_reject_rate <= 1, "max_reject_rate must be in [0, 1]; got {}",
                    max_reject_rate);
  const EngagementOptions e = engagement_options(0, as_of);
  auto h = std::make_shared<EventsHandle>();
  h->catalog = catalog;
  h->path = path;
  py::gil_scoped_release nogil;
  RejectLog rejects(rejects_path, strict, max_reject_rate);
  h->loaded = load_events(path, catalog->catalog(), rejects, e.as_of);
  rejects.finish();
  return h;
}

// From an events file: build_profiles_from_file, as `marquee profile` (duplicates become rejects).
ProfilesPtr build_from_file(const CatalogPtr& catalog, const std::string& path, double half_life_days,
                            py::handle as_of, const std::string& backend, const std::string& rejects_path,
                            bool strict, double max_reject_rate) {
  MARQUEE_CHECK_ARG(max_reject_rate >= 0 && max_reject_rate <= 1, "max_reject_rate must be in [0, 1]; got {}",
                    max_reject_rate);
  const EngagementOptions e = engagement_options(half_life_days, as_of);
  const Backend b = parse_backend(backend);
  auto h = std::make_shared<ProfilesHandle>();
  h->catalog = catalog;
  h->source = path;
  py::gil_scoped_release nogil;
  RejectLog rejects(rejects_path, strict, max_reject_rate);
  size_t rows = 0;
  h->p = build_profiles_from_file(catalog->catalog(), catalog->titles(), path, e, rejects, &rows, &h->stats, b);
  rejects.finish();
  return h;
}

// From events already read: the engine's build_profiles on a copy (the CPU builder).
ProfilesPtr build_from_events(const EventsHandle& events, double half_life_days, py::handle as_of) {
  const EngagementOptions e = engagement_options(half_life_days, as_of);
  auto h = std::make_shared<ProfilesHandle>();
  h->catalog = events.catalog;
  h->source = events.path;
  py::gil_scoped_release nogil;
  h->p = build_profiles(events.catalog->catalog(), events.catalog->titles(), events.loaded.events,
                        events.loaded.user_ids, e, &h->stats);
  return h;
}

ProfilesPtr load_profiles(py::handle path_arg, const CatalogPtr& catalog) {
  const std::string path = fspath(path_arg);
  auto h = std::make_shared<ProfilesHandle>();
  h->catalog = catalog;
  h->source = path;
  py::gil_scoped_release nogil;
  ProfileReader reader(path);
  reader.check_catalog(catalog->catalog().fingerprint(), catalog->catalog().num_titles(), catalog->titles().dim());
  h->p = reader.read(0, reader.users());
  return h;
}

py::dict events_arrays(const EventsHandle& h) {
  const std::vector<Event>& ev = h.loaded.events;
  const size_t n = ev.size();
  std::vector<int64_t> ts(n), user(n), title(n);
  std::vector<float> pos(n), seek(n);
  std::vector<uint8_t> type(n), hour(n);
  std::vector<int64_t> line(n);
  for (size_t i = 0; i < n; ++i) {
    ts[i] = ev[i].ts, user[i] = ev[i].user, title[i] = ev[i].title, pos[i] = ev[i].position_s;
    seek[i] = ev[i].seek_to_s, type[i] = uint8_t(ev[i].type), hour[i] = ev[i].local_hour, line[i] = ev[i].line;
  }
  const std::vector<py::ssize_t> shape{py::ssize_t(n)};
  py::dict d;
  d["ts"] = owned_array(std::move(ts), shape);
  d["user"] = owned_array(std::move(user), shape);
  d["title"] = owned_array(std::move(title), shape);
  d["type"] = owned_array(std::move(type), shape);
  d["position_s"] = owned_array(std::move(pos), shape);
  d["seek_to_s"] = owned_array(std::move(seek), shape);
  d["local_hour"] = owned_array(std::move(hour), shape);
  d["line"] = owned_array(std::move(line), shape);
  return d;
}

py::tuple seen_of(const ProfilesHandle& h, py::handle user) {
  const std::vector<size_t> u = resolve_users(h, user);
  MARQUEE_CHECK_ARG(u.size() == 1, "seen() takes one user; got {}", u.size());
  std::vector<int64_t> titles;
  std::vector<float> weights;
  std::vector<uint8_t> completed;
  for (const SeenTitle* s = h.p.seen_begin(u[0]); s != h.p.seen_end(u[0]); ++s) {
    titles.push_back(s->title);
    weights.push_back(s->weight);
    completed.push_back(s->completed);
  }
  const std::vector<py::ssize_t> shape{py::ssize_t(titles.size())};
  return py::make_tuple(owned_array(std::move(titles), shape), owned_array(std::move(weights), shape),
                        owned_array(std::move(completed), shape).attr("astype")("bool"));
}

}  // namespace

py::tuple similar_in(const TitleMatrix& space, const Catalog& catalog, py::handle which, int64_t k) {
  const std::vector<size_t> titles = resolve_titles(catalog, which);
  MARQUEE_CHECK_ARG(space.num_titles() >= 2, "similar needs at least 2 titles; the catalogue has {}",
                    space.num_titles());
  const size_t kk = check_k(k, space.num_titles() - 1, "the other titles");
  const size_t n = titles.size(), dim = space.dim();
  TopKResult r;
  {
    py::gil_scoped_release nogil;
    std::vector<float> rows(n * dim);
    Exclusions self;
    for (size_t i = 0; i < n; ++i) {
      std::copy(space.row(titles[i]), space.row(titles[i]) + dim, rows.begin() + i * dim);
      self.titles.push_back(uint32_t(titles[i]));
      self.offsets.push_back(self.titles.size());
    }
    auto scorer = make_cpu_scorer(space);
    scorer->search(UserBatchView{n, dim, rows.data(), &self}, kk, r);
  }
  return topk_arrays(r, n, kk);
}

void bind_catalog_data(py::module_& m) {
  py::class_<CatalogHandle, CatalogPtr>(m, "Catalog", py::dynamic_attr(),
                                        "A catalogue folder (tags, titles, title_tags) and its tag vectors.")
      .def_static("_load", &load_catalog_handle, py::arg("dir"), py::arg("rejects_path"), py::arg("strict"),
                  py::arg("max_reject_rate"))
      .def_readonly("dir", &CatalogHandle::dir)
      .def_property_readonly("num_titles", [](const CatalogHandle& c) { return c.catalog().num_titles(); })
      .def_property_readonly("num_tags", [](const CatalogHandle& c) { return c.catalog().num_tags(); })
      .def("__len__", [](const CatalogHandle& c) { return c.catalog().num_titles(); })
      .def_property_readonly("title_ids",
                             [](const CatalogHandle& c) {
                               py::list out;
                               for (const Title& t : c.catalog().titles()) out.append(t.id);
                               return out;
                             })
      .def_property_readonly("title_names",
                             [](const CatalogHandle& c) {
                               py::list out;
                               for (const Title& t : c.catalog().titles()) out.append(t.name);
                               return out;
                             })
      .def_property_readonly("tag_names",
                             [](const CatalogHandle& c) {
                               py::list out;
                               for (const Tag& t : c.catalog().tags()) out.append(t.name);
                               return out;
                             })
      .def_property_readonly("fingerprint", [](const CatalogHandle& c) { return c.catalog().fingerprint(); })
      .def("title_index", [](const CatalogHandle& c, py::handle ids) {
            const std::vector<size_t> t = resolve_titles(c.catalog(), ids);
            return owned_array(std::vector<int64_t>(t.begin(), t.end()), {py::ssize_t(t.size())});
          }, py::arg("title_ids"), "Dense indices (int64 array) of title ids.")
      .def_property_readonly("tag_vectors",
                             [](py::object self) {
                               const CatalogHandle& c = self.cast<const CatalogHandle&>();
                               return readonly_view(c.titles().dense().data(), c.titles().num_titles(),
                                                    c.titles().dim(), self);
                             },
                             "IDF-weighted, L2-normalised title vectors in tag space (titles x tags, float32, "
                             "read-only view).")
      .def("similar", [](const CatalogHandle& c, py::handle titles, int64_t k) {
            return similar_in(c.titles(), c.catalog(), titles, k);
          }, py::arg("title_ids"), py::arg("k") = 10,
          "Titles most like each given title by tag cosine (as `marquee similar`): (titles, scores).");

  py::class_<EventsHandle, std::shared_ptr<EventsHandle>>(m, "Events", py::dynamic_attr(),
                                                          "Playback events of one file, ids mapped to indices.")
      .def_static("_read", &read_events, py::arg("catalog"), py::arg("path"), py::arg("rejects_path"),
                  py::arg("strict"), py::arg("max_reject_rate"), py::arg("as_of"))
      .def_readonly("path", &EventsHandle::path)
      .def_readonly("catalog", &EventsHandle::catalog)
      .def("__len__", [](const EventsHandle& e) { return e.loaded.events.size(); })
      .def_property_readonly("rows", [](const EventsHandle& e) { return e.loaded.rows; },
                             "Data rows read (accepted and rejected).")
      .def_property_readonly("user_ids", [](const EventsHandle& e) { return e.loaded.user_ids; })
      .def("arrays", &events_arrays,
           "The events as numpy arrays: ts, user, title, type, position_s, seek_to_s, local_hour, line.");

  py::class_<ProfilesHandle, ProfilesPtr>(m, "Profiles", py::dynamic_attr(),
                                          "Every user's profile: tag-space vector, seen titles, summaries.")
      .def_static("_build_from_file", &build_from_file, py::arg("catalog"), py::arg("path"),
                  py::arg("half_life_days"), py::arg("as_of"), py::arg("backend"), py::arg("rejects_path"),
                  py::arg("strict"), py::arg("max_reject_rate"))
      .def_static("_build_from_events", &build_from_events, py::arg("events"), py::arg("half_life_days"),
                  py::arg("as_of"))
      .def_static("load", &load_profiles, py::arg("path"), py::arg("catalog"),
                  "Reads a profiles file (`marquee profile`), checked against the catalogue.")
      .def("save", [](const ProfilesHandle& h, py::handle path_arg) {
            const std::string path = fspath(path_arg);
            py::gil_scoped_release nogil;
            write_profiles(path, h.p, h.catalog->catalog().num_titles(), h.catalog->catalog().fingerprint());
          }, py::arg("path"), "Writes the profiles file (the layout `marquee profile` writes), atomically.")
      .def_readonly("catalog", &ProfilesHandle::catalog)
      .def_readonly("source", &ProfilesHandle::source)
      .def("__len__", [](const ProfilesHandle& h) { return h.p.size(); })
      .def_property_readonly("dim", [](const ProfilesHandle& h) { return h.p.dim; })
      .def_property_readonly("user_ids", [](const ProfilesHandle& h) { return h.p.user_ids; })
      .def_property_readonly("vectors",
                             [](py::object self) {
                               const ProfilesHandle& h = self.cast<const ProfilesHandle&>();
                               return readonly_view(h.p.vectors.data(), h.p.size(), h.p.dim, self);
                             },
                             "Users x tags, float32, L2-normalised (read-only view).")
      .def_property_readonly("usable",
                             [](const ProfilesHandle& h) {
                               std::vector<uint8_t> u(h.p.size());
                               for (size_t i = 0; i < u.size(); ++i) u[i] = h.p.summaries[i].usable;
                               return owned_array(std::move(u), {py::ssize_t(h.p.size())}).attr("astype")("bool");
                             },
                             "Users with usable signal (the others get no recommendations).")
      .def_property_readonly("duplicates", [](const ProfilesHandle& h) { return h.stats.duplicates.size(); },
                             "Exact duplicate events dropped while building.")
      .def("user_index", [](const ProfilesHandle& h, py::handle users) {
            const std::vector<size_t> u = resolve_users(h, users);
            return owned_array(std::vector<int64_t>(u.begin(), u.end()), {py::ssize_t(u.size())});
          }, py::arg("user_ids"), "Dense indices (int64 array) of user ids.")
      .def("seen", &seen_of, py::arg("user"),
           "A user's seen titles: (titles int64, engagement weights float32, completed bool).");
}

}  // namespace marquee::python
