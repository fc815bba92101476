// The .npy reader (host/io/npy.h, parse_npy_float32), in memory: the input is the file's bytes.
// What parses must survive a round trip through the writer (npy_float32) unchanged.
#include "fuzz_common.h"

#include "host/io/npy.h"

#include <cstdio>
#include <cstring>

using namespace marquee;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::vector<size_t> shape;
  std::vector<float> values;
  bool parsed = false;
  fuzz::expected([&] {
    parse_npy_float32(bytes, "fuzz.npy", shape, values);
    parsed = true;
  });
  if (!parsed) return 0;
  // The shape must describe the data: no product of dimensions that wraps around.
  size_t n = 1;
  for (size_t s : shape)
    if (__builtin_mul_overflow(n, s, &n)) {
      std::fprintf(stderr, "fuzz_npy: accepted a shape whose element count overflows size_t\n");
      __builtin_trap();
    }
  if (n != values.size()) __builtin_trap();
  const std::string again = npy_float32(shape, values.data());
  std::vector<size_t> shape2;
  std::vector<float> values2;
  parse_npy_float32(again, "round trip", shape2, values2);  // what we write must read back
  if (shape2 != shape || values2.size() != values.size() ||
      (!values.empty() && std::memcmp(values2.data(), values.data(), values.size() * sizeof(float)) != 0))
    __builtin_trap();
  return 0;
}
