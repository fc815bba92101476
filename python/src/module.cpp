// marquee._marquee: the extension module of the Python package (python/marquee/ wraps it;
// docs/python.md). Each area binds itself: errors.cpp, catalog_data.cpp, models.cpp, knn.cpp, jobs.cpp.
#include "common.h"
#include "engine/blas_cores.h"

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
  // At import, before any work: the widest OpenBLAS kernels this CPU runs (engine/blas_cores.h).
  // numpy in this process shares the library, so it gets them too.
  using namespace pybind11::literals;
  const marquee::BlasCores blas = marquee::tune_blas_cores();
  m.def(
      "blas_cores", [blas] { return pybind11::dict("before"_a = blas.before, "after"_a = blas.after, "reason"_a = blas.reason); },
      "OpenBLAS's kernels at import and now, and why they changed or not.");
}
