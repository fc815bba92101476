// Runs the probe kernel on a device and checks its output (`marquee devices --self-test`).
#pragma once

#include <string>

namespace marquee::cuda {

struct SelfTestResult {
  bool ran = false;     // false: no device (or no CUDA in this build)
  bool passed = false;
  std::string message;
};

SelfTestResult self_test(int device = 0);

}  // namespace marquee::cuda
