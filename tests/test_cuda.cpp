// GPU tests (CTest label "gpu"): they run on a machine with a CUDA device and skip cleanly without.
#include "engine/backend.h"
#include "engine/error.h"
#include "host/cuda/self_test.h"

#include <gtest/gtest.h>

using namespace marquee;

namespace {
bool have_device() { return cuda::query_devices().device_count > 0; }
}  // namespace

TEST(CudaBackend, DeviceQueryNeverThrowsAndExplainsAnAbsence) {
  const cuda::DeviceReport r = cuda::query_devices();
  if (r.device_count == 0) EXPECT_FALSE(r.error.empty());
  else EXPECT_EQ(r.devices.size(), size_t(r.device_count));
}

TEST(CudaBackend, ProbeKernelRunsOnTheDevice) {
  if (!have_device()) GTEST_SKIP() << "no CUDA device: " << cuda::query_devices().error;
  const cuda::SelfTestResult r = cuda::self_test(0);
  EXPECT_TRUE(r.ran);
  EXPECT_TRUE(r.passed) << r.message;
}

TEST(CudaBackend, AskingForCudaWithoutADeviceIsABackendError) {
  if (have_device()) GTEST_SKIP() << "a device is present";
  Catalog c;
  c.add_tag({"x", "g"});
  c.add_title({"a", "", 10, 0});
  c.add_assignment({0, 0, 1.0f});
  const TitleMatrix m = TitleMatrix::build(c);
  try {
    choose_scorer(Backend::Cuda, m, {});
    FAIL() << "expected BackendError";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend cuda:"), std::string::npos) << e.what();
  }
  // auto falls back to the CPU and says why.
  const ScorerChoice auto_choice = choose_scorer(Backend::Auto, m, {});
  EXPECT_NE(auto_choice.scorer->describe().find("cpu"), std::string::npos);
  EXPECT_NE(auto_choice.reason.find("auto:"), std::string::npos);
}
