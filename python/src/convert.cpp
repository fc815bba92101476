// Arguments and results between Python and the engine: JSON, numpy arrays, id lookups.
#include "common.h"

#include "engine/error.h"

#include <cmath>
#include <limits>

namespace marquee::python {

py::object to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(py::str(j.dump()));
}

py::array_t<float> readonly_view(const float* data, size_t rows, size_t cols, py::handle base) {
  py::array_t<float> a({py::ssize_t(rows), py::ssize_t(cols)},
                       {py::ssize_t(cols * sizeof(float)), py::ssize_t(sizeof(float))}, data, base);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

py::tuple topk_arrays(TopKResult& r, size_t n, size_t k) {
  std::vector<int64_t> titles(n * k, -1);
  for (size_t u = 0; u < n; ++u) {
    for (size_t i = 0; i < r.counts[u]; ++i) titles[u * k + i] = r.titles[u * k + i];
    for (size_t i = r.counts[u]; i < k; ++i) r.scores[u * k + i] = -std::numeric_limits<float>::infinity();
  }
  const std::vector<py::ssize_t> shape{py::ssize_t(n), py::ssize_t(k)};
  return py::make_tuple(owned_array(std::move(titles), shape), owned_array(std::move(r.scores), shape));
}

namespace {

// Indices of `which` among `count` items; `find(str)` maps an id (ArgumentError when unknown).
template <class Find>
std::vector<size_t> resolve(py::handle which, size_t count, const char* what, Find&& find) {
  auto one = [&](py::handle item) -> size_t {
    if (py::isinstance<py::str>(item)) return find(item.cast<std::string>());
    if (py::isinstance<py::bool_>(item)) MARQUEE_THROW_AS(ArgumentError, "a {} is an id or an index, not a bool", what);
    PyObject* index = PyNumber_Index(item.ptr());  // ints and numpy integers, never floats
    if (!index) {
      PyErr_Clear();
      MARQUEE_THROW_AS(ArgumentError, "a {} is a string id or an integer index; got {}", what,
                       std::string(py::str(py::type::handle_of(item).attr("__name__"))));
    }
    int overflow = 0;
    const long long i = PyLong_AsLongLongAndOverflow(index, &overflow);
    Py_DECREF(index);
    MARQUEE_CHECK_ARG(overflow == 0, "{} index out of range", what);
    MARQUEE_CHECK_ARG(i >= 0 && size_t(i) < count, "{} index {} is outside [0, {})", what, i, count);
    return size_t(i);
  };
  std::vector<size_t> out;
  if (py::isinstance<py::str>(which) || (!py::isinstance<py::iterable>(which) && !py::isinstance<py::array>(which))) {
    out.push_back(one(which));
    return out;
  }
  if (py::isinstance<py::array>(which)) {
    py::array a = py::reinterpret_borrow<py::array>(which);
    const char kind = a.dtype().kind();
    if (kind == 'i' || kind == 'u') {
      MARQUEE_CHECK_ARG(a.ndim() <= 1, "{} indices must be a 1-D array; got {} dimensions", what, a.ndim());
      auto ids = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
      out.reserve(size_t(ids.size()));
      for (py::ssize_t j = 0; j < ids.size(); ++j) {
        const int64_t i = ids.data()[j];
        MARQUEE_CHECK_ARG(i >= 0 && size_t(i) < count, "{} index {} is outside [0, {})", what, i, count);
        out.push_back(size_t(i));
      }
      return out;
    }
  }
  for (py::handle item : py::reinterpret_borrow<py::iterable>(which)) out.push_back(one(item));
  return out;
}

}  // namespace

size_t ProfilesHandle::index_of(const std::string& id) const {
  std::call_once(index_once_, [this] {
    index_.reserve(p.size());
    for (size_t u = 0; u < p.size(); ++u) index_.emplace(p.user_ids[u], u);
  });
  const auto it = index_.find(id);
  MARQUEE_CHECK_ARG(it != index_.end(), "unknown user_id '{}'", id);
  return it->second;
}

std::vector<size_t> resolve_users(const ProfilesHandle& p, py::handle which) {
  return resolve(which, p.p.size(), "user", [&](const std::string& id) { return p.index_of(id); });
}

std::vector<size_t> resolve_titles(const Catalog& c, py::handle which) {
  return resolve(which, c.num_titles(), "title", [&](const std::string& id) -> size_t {
    const auto t = c.find_title(id);
    MARQUEE_CHECK_ARG(t.has_value(), "unknown title_id '{}'", id);
    return *t;
  });
}

std::string fspath(py::handle path) {
  if (py::isinstance<py::str>(path)) return path.cast<std::string>();
  MARQUEE_CHECK_ARG(py::hasattr(path, "__fspath__"), "a path must be a str or os.PathLike; got {}",
                    std::string(py::str(py::type::handle_of(path).attr("__name__"))));
  return py::module_::import("os").attr("fspath")(path).cast<std::string>();
}

size_t check_k(int64_t k, size_t limit, const char* what) {
  MARQUEE_CHECK_ARG(k >= 1 && uint64_t(k) <= limit, "k must be between 1 and {} ({}); got {}", limit, what, k);
  return size_t(k);
}

}  // namespace marquee::python

#include "host/io/timestamp.h"

namespace marquee::python {

EngagementOptions engagement_options(double half_life_days, py::handle as_of) {
  EngagementOptions e;
  MARQUEE_CHECK_ARG(std::isfinite(half_life_days) && half_life_days >= 0 && half_life_days <= 36500,
                    "half_life_days must be between 0 and 36500; got {}", half_life_days);
  e.half_life_days = half_life_days;
  if (as_of.is_none()) return e;
  // Text or an integer: read as --as-of reads its text, so both keep its range checks.
  std::string text;
  if (py::isinstance<py::str>(as_of)) {
    text = as_of.cast<std::string>();
  } else {
    PyObject* index = PyNumber_Index(as_of.ptr());
    if (!index) {
      PyErr_Clear();
      MARQUEE_THROW_AS(ArgumentError, "as_of must be None, epoch seconds (int) or an ISO-8601 string");
    }
    text = py::str(py::handle(index)).cast<std::string>();
    Py_DECREF(index);
  }
  Timestamp t;
  MARQUEE_CHECK_ARG(parse_timestamp(text, t) && t.epoch > 0,
                    "as_of '{}' is not a time (epoch seconds or ISO-8601, 1970..2199)", text);
  e.as_of = t.epoch;
  return e;
}

}  // namespace marquee::python
