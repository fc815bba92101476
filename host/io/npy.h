// NumPy .npy files (format 1.0): little-endian float32 arrays, and fixed-width byte strings for id
// maps. Headers are padded to 64 bytes so that numpy can memory-map the data
// (np.load(path, mmap_mode="r")). Only what Marquee writes is read back; anything else is an
// InputError naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace marquee {

/// The bytes of a .npy file holding `data` (row-major float32) with `shape`.
std::string npy_float32(const std::vector<size_t>& shape, const float* data);
/// The bytes of a .npy file holding `strings` as a 1-D array of fixed-width bytes ('|S<n>').
std::string npy_strings(const std::vector<std::string>& strings);

/// Parses a float32 .npy file's bytes into its shape and data; `what` names it in errors.
void parse_npy_float32(const std::string& bytes, const std::string& what, std::vector<size_t>& shape,
                       std::vector<float>& data);

}  // namespace marquee
