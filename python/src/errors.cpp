// Errors as Python exceptions, mapped once here as host/cli/main.cpp maps them to exit codes:
//   ArgumentError -> ValueError             (exit 2: a caller mistake)
//   InputError    -> marquee.InputError     (exit 3: unusable input; the message keeps file:line)
//   BackendError  -> marquee.BackendError   (exit 4; a RuntimeError)
//   other marquee::Error -> RuntimeError    (an internal invariant)
// marquee.Error is the base of marquee.InputError and marquee.BackendError. And the log: spdlog to
// stderr, "warn" by default in the package (the CLI's progress lines are for terminals).
#include "common.h"

#include "engine/error.h"

#include <spdlog/sinks/stdout_color_sinks.h>  // declares the stderr sinks too
#include <spdlog/spdlog.h>

namespace marquee::python {

namespace {
// Owned by the module (added to it below); never released, as Python's own exception types.
PyObject* g_error = nullptr;
PyObject* g_input_error = nullptr;
PyObject* g_backend_error = nullptr;

void set_log_level(const std::string& level) {
  const auto l = spdlog::level::from_str(level);
  MARQUEE_CHECK_ARG(l != spdlog::level::off || level == "off",
                    "log level must be trace|debug|info|warn|error|off; got '{}'", level);
  spdlog::set_level(l);
}
}  // namespace

void bind_errors(py::module_& m) {
  g_error = PyErr_NewExceptionWithDoc("marquee.Error", "Base of the errors Marquee raises besides ValueError.",
                                      PyExc_Exception, nullptr);
  g_input_error = PyErr_NewExceptionWithDoc(
      "marquee.InputError", "Input data is unusable (missing file or column, a bad row under strict=True, ...); "
      "the message names the file and line.", g_error, nullptr);
  py::tuple backend_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_RuntimeError));
  g_backend_error = PyErr_NewExceptionWithDoc("marquee.BackendError",
                                              "A backend (CUDA runtime, cuBLAS) failed or is unavailable.",
                                              backend_bases.ptr(), nullptr);
  if (!g_error || !g_input_error || !g_backend_error) throw py::error_already_set();
  m.add_object("Error", py::handle(g_error));
  m.add_object("InputError", py::handle(g_input_error));
  m.add_object("BackendError", py::handle(g_backend_error));

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ArgumentError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const InputError& e) {
      PyErr_SetString(g_input_error, e.what());
    } catch (const BackendError& e) {
      PyErr_SetString(g_backend_error, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  if (!spdlog::get("marquee")) {
    auto logger = spdlog::stderr_color_mt("marquee");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%^[%H:%M:%S %l]%$ %v");
  }
  spdlog::set_level(spdlog::level::warn);
  m.def("set_log_level", &set_log_level, py::arg("level"),
        "The engine's log level on stderr: trace|debug|info|warn|error|off (default warn; the CLI's is info).");
}

}  // namespace marquee::python
