// `marquee devices`: what the CUDA runtime reports; --self-test runs a probe kernel on device 0.
#include "host/cli/commands.h"
#include "host/cuda/entry_points.h"
#include "host/cuda/self_test.h"

#include <fmt/format.h>

#include <cstddef>
#include <memory>

namespace marquee::cli {

void add_devices(CLI::App& app, int& exit_code) {
  auto self_test = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("devices", "list CUDA devices this build can use");
  cmd->add_flag("--self-test", *self_test, "run the probe kernel on device 0");

  cmd->callback([self_test, &exit_code] {
    const cuda::DeviceReport r = cuda::query_devices();
    fmt::print("CUDA backend compiled in: {}\n", r.compiled_in ? "yes" : "no");
    fmt::print("devices: {}{}\n", r.device_count, r.device_count == 0 ? " (" + r.error + ")" : "");
    for (size_t i = 0; i < r.devices.size(); ++i) fmt::print("  [{}] {}\n", i, r.devices[i]);
    if (*self_test) {
      const cuda::SelfTestResult st = cuda::self_test(0);
      fmt::print("self-test: {}: {}\n", !st.ran ? "skipped" : st.passed ? "passed" : "FAILED", st.message);
      if (st.ran && !st.passed) exit_code = kExitBackend;
    }
  });
}

}  // namespace marquee::cli
