// marquee._marquee: the extension module of the Python package (python/marquee/ wraps it;
// docs/python.md). Each area binds itself: errors.cpp, catalog_data.cpp, models.cpp, knn.cpp, jobs.cpp.
#include "common.h"

PYBIND11_MODULE(_marquee, m) {
  namespace mp = marquee::python;
  m.doc() = "Marquee's engine: catalogue, events, profiles, models, exact top-K (see the marquee package).";
  m.attr("__version__") = MARQUEE_VERSION;
  mp::bind_errors(m);
  mp::bind_catalog_data(m);
  mp::bind_models(m);
  mp::bind_knn(m);
  mp::bind_jobs(m);
  mp::bind_scale(m);
}
