// marquee.knn: the scorers' exact inner-product top-K with exclusions over any float32 matrices (the
// FAISS-shaped entry point), on the backend the resolver picks; marquee.devices.
#include "common.h"

#include "engine/backend.h"
#include "engine/error.h"
#include "host/backend/resolver.h"
#include "host/cuda/entry_points.h"

#include <algorithm>

namespace marquee::python {

namespace {

using FloatMatrix = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IndexArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

// Appends one row's excluded titles, sorted and without repeats (the scorers' precondition).
void append_row(Exclusions& ex, const int64_t* t, size_t n, size_t num_titles, size_t row) {
  const size_t first = ex.titles.size();
  for (size_t i = 0; i < n; ++i) {
    MARQUEE_CHECK_ARG(t[i] >= 0 && uint64_t(t[i]) < num_titles,
                      "exclude: row {} lists title {}, outside [0, {})", row, t[i], num_titles);
    ex.titles.push_back(uint32_t(t[i]));
  }
  std::sort(ex.titles.begin() + first, ex.titles.end());
  ex.titles.erase(std::unique(ex.titles.begin() + first, ex.titles.end()), ex.titles.end());
  ex.offsets.push_back(ex.titles.size());
}

// An integer array of `h` (ints only: a float index is a mistake, not something to round).
IndexArray index_array(const py::object& asarray, py::handle h, const char* what) {
  py::array a = asarray(h);
  const char kind = a.dtype().kind();
  MARQUEE_CHECK_ARG(a.size() == 0 || kind == 'i' || kind == 'u', "exclude {}: title indices must be integers; got {}",
                    what, std::string(py::str(a.dtype())));
  return IndexArray::ensure(a);
}

// `exclude`: a list of n integer arrays (one per query row; None or empty: nothing), or CSR as a
// tuple (offsets [n + 1], indices).
Exclusions exclusions_of(py::handle exclude, size_t n, size_t num_titles) {
  Exclusions ex;
  const py::object asarray = py::module_::import("numpy").attr("asarray");
  if (py::isinstance<py::tuple>(exclude)) {
    py::tuple csr = py::reinterpret_borrow<py::tuple>(exclude);
    MARQUEE_CHECK_ARG(csr.size() == 2, "exclude as a tuple is CSR (offsets, indices); per-query arrays go in a list");
    {
      IndexArray offsets = index_array(asarray, csr[0], "offsets"), indices = index_array(asarray, csr[1], "indices");
      MARQUEE_CHECK_ARG(offsets && indices && offsets.ndim() == 1 && indices.ndim() == 1,
                        "exclude as CSR is (offsets, indices), two 1-D integer arrays");
      MARQUEE_CHECK_ARG(size_t(offsets.size()) == n + 1, "exclude CSR offsets have {} entries; {} queries need {}",
                        offsets.size(), n, n + 1);
      const int64_t* o = offsets.data();
      MARQUEE_CHECK_ARG(o[0] == 0 && o[n] == indices.size(), "exclude CSR offsets must run from 0 to {}; got {}..{}",
                        indices.size(), o[0], o[n]);
      for (size_t r = 0; r < n; ++r) {
        MARQUEE_CHECK_ARG(o[r] <= o[r + 1], "exclude CSR offsets fall at row {}", r);
        append_row(ex, indices.data() + o[r], size_t(o[r + 1] - o[r]), num_titles, r);
      }
      return ex;
    }
  }
  MARQUEE_CHECK_ARG(py::isinstance<py::sequence>(exclude) && !py::isinstance<py::str>(exclude),
                    "exclude must be None, a list of integer arrays (one per query) or a CSR (offsets, indices)");
  MARQUEE_CHECK_ARG(py::len(exclude) == n, "exclude has {} rows but there are {} queries", py::len(exclude), n);
  size_t r = 0;
  for (py::handle row : py::reinterpret_borrow<py::sequence>(exclude)) {
    if (row.is_none()) {
      ex.offsets.push_back(ex.titles.size());
    } else {
      IndexArray a = index_array(asarray, row, "row");
      MARQUEE_CHECK_ARG(a.ndim() <= 1, "exclude row {} must be 1-D; got {} dimensions", r, a.ndim());
      append_row(ex, a.data(), size_t(a.size()), num_titles, r);
    }
    ++r;
  }
  return ex;
}

py::tuple knn(const FloatMatrix& queries, const FloatMatrix& titles, int64_t k, py::handle exclude,
              const std::string& backend, int threads, const std::string& precision, int device) {
  MARQUEE_CHECK_ARG(queries.ndim() == 2 && titles.ndim() == 2,
                    "queries and titles must be 2-D (rows x dim); got {} and {} dimensions", queries.ndim(),
                    titles.ndim());
  const size_t n = size_t(queries.shape(0)), dim = size_t(queries.shape(1));
  const size_t m = size_t(titles.shape(0));
  MARQUEE_CHECK_ARG(size_t(titles.shape(1)) == dim, "queries have dimension {} but titles have {}", dim,
                    titles.shape(1));
  MARQUEE_CHECK_ARG(dim >= 1 && m >= 1, "titles must have at least one row and one column; got {} x {}", m, dim);
  MARQUEE_CHECK_ARG(threads >= 0 && threads <= 1024, "threads must be between 0 (all cores) and 1024; got {}",
                    threads);
  const size_t kk = check_k(k, m, "the number of titles");
  const Backend b = parse_backend(backend);
  ScorerOptions options;
  options.cpu.threads = threads;
  options.cuda.device = device;
  options.cuda.precision = parse_gpu_precision(precision);
  // bf16 has a CPU twin (AVX-512 BF16); tf32/fp16 are GPU precisions and the CPU stays fp32.
  if (precision == "bf16") options.cpu.precision = CpuPrecision::Bf16;
  Exclusions ex;
  const bool with_exclusions = !exclude.is_none();
  if (with_exclusions) ex = exclusions_of(exclude, n, m);
  TopKResult r;
  {
    py::gil_scoped_release nogil;
    const TitleMatrix matrix = TitleMatrix::from_rows(m, dim, std::vector<float>(titles.data(), titles.data() + m * dim));
    ScorerChoice choice = choose_scorer(b, matrix, options);
    choice.scorer->search(UserBatchView{n, dim, queries.data(), with_exclusions ? &ex : nullptr}, kk, r);
  }
  return topk_arrays(r, n, kk);
}

py::dict devices() {
  const cuda::DeviceReport r = cuda::query_devices();
  return py::dict(py::arg("compiled_in") = r.compiled_in, py::arg("device_count") = r.device_count,
                  py::arg("error") = r.error, py::arg("devices") = r.devices,
                  py::arg("scoring") = cuda::scoring_available());
}

}  // namespace

void bind_knn(py::module_& m) {
  m.def("knn", &knn, py::arg("queries"), py::arg("titles"), py::arg("k"), py::arg("exclude") = py::none(),
        py::arg("backend") = "auto", py::arg("threads") = 0, py::arg("precision") = "fp32", py::arg("device") = 0,
        R"doc(Exact inner-product top-k: for each row of `queries` (n x d), the k rows of `titles` (m x d)
with the highest dot product, best first; equal scores rank the lower index first.

Returns (indices int64 [n, k], scores float32 [n, k]). Rows with fewer than k candidates left
(exclusions, NaN scores) are padded with -1 / -inf. `exclude`: None, a list of n integer arrays
(title indices to skip for that query), or CSR as a tuple (offsets [n + 1], indices). `backend`:
auto|cpu|cuda (auto: the GPU when this build and machine have one). `precision`: fp32 (exact),
bf16 (both backends; on the CPU it needs AVX-512 BF16), tf32|fp16 (GPU only). Arrays that are not C-contiguous
float32 are converted (a copy); `titles` is always copied into the scorer.)doc");
  m.def("devices", &devices, "What the CUDA runtime reports (as `marquee devices`).");
}

}  // namespace marquee::python
