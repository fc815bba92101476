#include "host/io/npy.h"

#include "engine/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <regex>

namespace marquee {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

std::string with_header(const std::string& dict, const char* data, size_t bytes) {
  std::string header = dict;
  // magic (6) + version (2) + length (2) + header, padded with spaces to 64 bytes, ending in '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += char(1);
  out += char(0);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(data, bytes);
  return out;
}

std::string shape_text(const std::vector<size_t>& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

}  // namespace

std::string npy_float32(const std::vector<size_t>& shape, const float* data) {
  static_assert(sizeof(float) == 4, "float32");
  size_t n = 1;
  for (size_t s : shape) n *= s;
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  return with_header(dict, reinterpret_cast<const char*>(data), n * sizeof(float));
}

std::string npy_strings(const std::vector<std::string>& strings) {
  size_t width = 1;
  for (const auto& s : strings) width = std::max(width, s.size());
  std::string data(strings.size() * width, '\0');
  for (size_t i = 0; i < strings.size(); ++i) std::memcpy(&data[i * width], strings[i].data(), strings[i].size());
  const std::string dict =
      fmt::format("{{'descr': '|S{}', 'fortran_order': False, 'shape': ({},), }}", width, strings.size());
  return with_header(dict, data.data(), data.size());
}

void parse_npy_float32(const std::string& bytes, const std::string& what, std::vector<size_t>& shape,
                       std::vector<float>& data) {
  MARQUEE_CHECK_INPUT(bytes.size() >= 10 && bytes.compare(0, 6, kMagic, 6) == 0, "{}: not a .npy file", what);
  MARQUEE_CHECK_INPUT(bytes[6] == 1 && bytes[7] == 0, "{}: .npy format version {}.{} (expected 1.0)", what,
                      int(uint8_t(bytes[6])), int(uint8_t(bytes[7])));
  const size_t header_len = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
  MARQUEE_CHECK_INPUT(bytes.size() >= 10 + header_len, "{}: truncated .npy header", what);
  const std::string header = bytes.substr(10, header_len);
  static const std::regex kDict(R"(^\{'descr': '<f4', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \} *\n$)");
  std::smatch m;
  MARQUEE_CHECK_INPUT(std::regex_match(header, m, kDict), "{}: not a little-endian float32 C-order .npy array", what);
  shape.clear();
  size_t n = 1;
  const std::string dims = m[1];
  for (size_t pos = 0; pos < dims.size();) {
    while (pos < dims.size() && (dims[pos] == ' ' || dims[pos] == ',')) ++pos;
    if (pos >= dims.size()) break;
    size_t end = pos;
    while (end < dims.size() && dims[end] >= '0' && dims[end] <= '9') ++end;
    MARQUEE_CHECK_INPUT(end > pos && end - pos < 16, "{}: bad .npy shape '{}'", what, dims);
    shape.push_back(std::stoull(dims.substr(pos, end - pos)));
    pos = end;
  }
  // The element count may not exceed what the file can hold: a product that overflows would
  // otherwise wrap to a size that matches the data (found by tests/fuzz/fuzz_npy). A zero
  // dimension makes an empty array; dimensions whose product overflows are refused even then.
  bool zero = false, overflow = false;
  for (size_t d : shape) {
    if (d == 0) zero = true;
    else if (__builtin_mul_overflow(n, d, &n)) overflow = true;
  }
  if (zero) n = 0;
  MARQUEE_CHECK_INPUT(!overflow && n <= bytes.size() / sizeof(float),
                      "{}: .npy shape '{}' holds more values than the file's {} bytes", what, dims, bytes.size());
  const size_t body = bytes.size() - 10 - header_len;
  MARQUEE_CHECK_INPUT(body == n * sizeof(float), "{}: {} bytes of data for shape {} (expected {}): truncated or corrupt",
                      what, body, shape_text(shape), n * sizeof(float));
  data.resize(n);
  if (n) std::memcpy(data.data(), bytes.data() + 10 + header_len, n * sizeof(float));
}

}  // namespace marquee
