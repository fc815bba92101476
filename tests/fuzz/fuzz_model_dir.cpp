// The model folder loader (host/io/model_dir.h, load_model_dir) against the fixed catalogue. A valid
// hybrid model folder is generated once (fuzz_common.h); each input replaces its manifest.json and
// one of its float .npy arrays in a fresh copy:
//
//   byte 0      flags: bit 0 set = after the manifest is written, the harness rewrites each listed
//               file's "bytes" and "sha256" to match the file in the folder (so the fuzzer gets past
//               the checksums into the array and shape checks); bits 1.. pick the .npy replaced
//   bytes 1..   manifest.json, then the byte 0x1E, then the .npy's bytes (no 0x1E: the .npy stays)
#include "fuzz_common.h"

#include <algorithm>
#include <sstream>

using namespace marquee;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::FuzzData& d = fuzz::fuzz_data();
  static const std::vector<std::string> arrays = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(d.model_dir)) {
      const std::string n = e.path().filename().string();
      if (n.size() > 4 && n.substr(n.size() - 4) == ".npy" && n != "title_ids.npy" && n != "tag_ids.npy")
        names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    return names;
  }();
  if (size == 0 || arrays.empty()) return 0;
  const uint8_t flags = data[0];
  const std::vector<std::string> parts = fuzz::split_input(data + 1, size - 1, '\x1e', 2);

  static const std::string dir = fuzz::scratch_dir() + "/model";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::copy(d.model_dir, dir, fs::copy_options::recursive);
  fuzz::write_file(dir + "/manifest.json", parts[0].data(), parts[0].size());
  if (parts.size() > 1) {
    const std::string& npy = arrays[(flags >> 1) % arrays.size()];
    fuzz::write_file(dir + "/" + npy, parts[1].data(), parts[1].size());
  }
  if (flags & 1) {
    // Make the manifest's sizes and checksums agree with the folder's files.
    try {
      nlohmann::json m = nlohmann::json::parse(parts[0]);
      if (m.is_object() && m.contains("files") && m["files"].is_object()) {
        for (auto& [name, info] : m["files"].items()) {
          const fs::path p = fs::path(dir) / name;
          if (!info.is_object() || name.find("..") != std::string::npos || name.find('/') != std::string::npos ||
              !fs::is_regular_file(p, ec))
            continue;
          const std::string bytes = read_all(p);
          info["bytes"] = bytes.size();
          info["sha256"] = sha256_hex(bytes);
        }
        const std::string text = m.dump(2);
        fuzz::write_file(dir + "/manifest.json", text.data(), text.size());
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  fuzz::expected([&] {
    LoadedModel lm = load_model_dir(dir, d.cat, d.titles);
    // A model that loads must rank: its title side and one user's fold-in.
    const TitleMatrix& t = lm.model->titles();
    if (t.num_titles() != d.cat.num_titles()) __builtin_trap();
    UserProfiles one = slice_profiles(d.all, 0, 1);
    const std::vector<float> u = lm.model->user_vectors(one);
    if (u.size() != t.dim()) __builtin_trap();
  });
  return 0;
}
