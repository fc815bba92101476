// The profiles file reader (host/io/profile_io.h, ProfileReader): the input is the whole
// profiles.bin. Opens it, checks it against the fixed catalogue, reads every user (in batches, as
// `score` does) and looks a user up by id. Seeds: profiles files written by `marquee profile`.
//
// The file carries CRC-32s (one over the header block, one per section) that random mutations never
// match, so each input is read twice: as it is (the checksum checks), and with its checksums
// recomputed by the harness from the offsets in its header (everything behind them). The layout
// mirrored here is host/io/profile_io.cpp's (format version 2): a 256-byte header block, section
// offsets at bytes 48..103, section CRCs at 104..127, the block's CRC at 128.
#include "fuzz_common.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

using namespace marquee;

namespace {

uint64_t u64_at(const std::string& b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

uint32_t crc(uint32_t c, const char* p, size_t n) { return uint32_t(crc32_z(c, reinterpret_cast<const Bytef*>(p), n)); }

/// `bytes` with its section and header checksums recomputed (when its offsets lie in the file).
std::string with_checksums(std::string b) {
  if (b.size() < 256) return b;
  uint64_t bounds[7];
  for (int i = 0; i < 7; ++i) bounds[i] = u64_at(b, 48 + 8 * i);  // off_vectors .. off_ids, file_size
  bounds[6] = b.size();
  for (int s = 0; s < 6; ++s) {
    uint32_t c = 0;
    if (bounds[s] <= bounds[s + 1] && bounds[s + 1] <= b.size()) c = crc(0, b.data() + bounds[s], bounds[s + 1] - bounds[s]);
    std::memcpy(&b[104 + 4 * s], &c, 4);
  }
  const uint32_t block = crc(crc(0, b.data(), 128), b.data() + 132, 124);
  std::memcpy(&b[128], &block, 4);
  return b;
}

void read_all(const std::string& path) {
  const fuzz::FuzzData& d = fuzz::fuzz_data();
  fuzz::expected([&] {
    ProfileReader reader(path);
    fuzz::expected([&] { reader.check_catalog(d.cat.fingerprint(), d.cat.num_titles(), d.titles.dim()); });
    const size_t n = reader.users();
    for (size_t first = 0; first < n; first += 16) {
      const size_t count = std::min<size_t>(16, n - first);
      UserProfiles p = reader.read(first, count);
      if (p.size() != count || p.seen_offsets.size() != count + 1 || p.vectors.size() != count * p.dim)
        __builtin_trap();
      for (float v : p.vectors)
        if (!std::isfinite(v)) __builtin_trap();  // documented: non-finite values are refused
      for (const SeenTitle& s : p.seen)
        if (!(s.weight >= -1 && s.weight <= 1)) __builtin_trap();
    }
    (void)reader.find_user("u1");
    (void)reader.find_user(std::string("\xff", 1));
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)fuzz::fuzz_data();
  read_all(fuzz::scratch_file("profiles.bin", data, size));
  const std::string fixed = with_checksums(std::string(reinterpret_cast<const char*>(data), size));
  if (fixed.size() >= 256) {
    const std::string path = fuzz::scratch_dir() + "/profiles_fixed.bin";
    fuzz::write_file(path, fixed.data(), fixed.size());
    read_all(path);
  }
  return 0;
}
