#include "host/io/output_dir.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

namespace marquee {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kManifest = "_manifest.json";
constexpr const char* kSuccess = "_SUCCESS";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A JSON file of ours, or null when it is missing or not JSON (a torn file cannot exist: all are
// written atomically, but a person may have edited one).
json read_json_or_null(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return nullptr;
  return json::parse(read_text(path), nullptr, false);
}

// Every "<name>.tmp.<pid>" in `dir` whose process is gone (AtomicFile's rule, for every name).
void remove_dead_temps(const std::string& dir) {
  std::set<std::string> targets;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    const size_t at = n.rfind(".tmp.");
    if (at != std::string::npos && at > 0) targets.insert(n.substr(0, at));
  }
  for (const auto& t : targets) remove_stale_temps(dir + "/" + t);
}

// Fields of `a` and `b` that differ, for the message refusing another run's output.
std::string differing_keys(const json& a, const json& b) {
  std::string out;
  for (const auto& [key, value] : a.items())
    if (!b.contains(key) || b[key] != value) out += (out.empty() ? "" : ", ") + key;
  for (const auto& [key, value] : b.items())
    if (!a.contains(key)) out += (out.empty() ? "" : ", ") + key;
  return out;
}

}  // namespace

bool is_output_dir_path(const std::string& out) {
  std::error_code ec;
  return !out.empty() && (out.back() == '/' || fs::is_directory(out, ec));
}

PartRange part_range(size_t users, size_t parts, size_t part) {
  MARQUEE_CHECK_ARG(parts >= 1 && part < parts, "part {} of {} parts does not exist", part, parts);
  // 128-bit products: part * users overflows 64 bits only beyond 4e9 users x 4e9 parts, but cheaply safe.
  const auto bound = [&](size_t p) { return size_t((unsigned __int128)p * users / parts); };
  return {bound(part), bound(part + 1) - bound(part)};
}

json part_record_json(const PartRecord& r) {
  return {{"part", r.part},   {"file", r.file},   {"first_user", r.first_user}, {"users", r.users},
          {"rows", r.rows},   {"bytes", r.bytes}, {"unscored", r.unscored},     {"sha256", r.sha256}};
}

FileDigest digest_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  MARQUEE_CHECK_INPUT(f != nullptr, "cannot read {}: {}", path, std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  MARQUEE_CHECK_INPUT(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "SHA-256 failed (OpenSSL)");
  FileDigest d;
  std::vector<char> buf(1 << 20);
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    d.bytes += n;
    for (size_t i = 0; i < n; ++i) d.lines += buf[i] == '\n';
  }
  MARQUEE_CHECK_INPUT(!std::ferror(f.get()), "reading {} failed", path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  for (unsigned i = 0; i < len; ++i) d.sha256 += fmt::format("{:02x}", digest[i]);
  return d;
}

OutputDir::OutputDir(std::string dir, json run, size_t parts, std::string ext, bool sweep)
    : dir_(std::move(dir)), run_(std::move(run)), parts_(parts), ext_(std::move(ext)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  MARQUEE_CHECK_ARG(parts_ >= 1 && parts_ <= 99999, "--partitions must be between 1 and 99999; got {}", parts_);
  std::error_code ec;
  fs::create_directories(dir_ + "/_parts", ec);
  MARQUEE_CHECK_INPUT(!ec, "cannot create the output folder {}: {}", dir_, ec.message());
  if (sweep) {
    remove_dead_temps(dir_);
    remove_dead_temps(dir_ + "/_parts");
  }

  if (fs::exists(dir_ + "/" + kSuccess, ec)) {
    const json manifest = read_json_or_null(dir_ + "/" + kManifest);
    const json old_run = manifest.is_object() && manifest.contains("run") ? manifest["run"] : json();
    MARQUEE_CHECK_ARG(old_run == run_,
                      "--out {}/ holds the complete output of another run (differs in: {}). Remove it or choose "
                      "another --out: a finished output is never overwritten",
                      dir_, old_run.is_object() ? differing_keys(old_run, run_) : std::string("its manifest"));
    complete_ = true;
    for (size_t p = 0; p < parts_ && complete_; ++p) complete_ = verified(p);
    if (complete_) return;
    // A part was changed or lost after the run finished: no longer complete until it is redone.
    spdlog::warn("{}/: complete before, but a part no longer matches the manifest; redoing it", dir_);
    fs::remove(dir_ + "/" + kSuccess, ec);
  }
  // An unfinished directory is taken over: parts of this run are kept when verified, and files of
  // parts this run will not write (another --partitions) go, so the folder ends holding this run only.
  std::set<std::string> expected;
  for (size_t p = 0; p < parts_; ++p) expected.insert(name(p));
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    const bool part = n.rfind("part-", 0) == 0 && n.find(".tmp.") == std::string::npos;
    const bool unscored = n.rfind("_unscored-", 0) == 0 && n.find(".tmp.") == std::string::npos;
    if ((part && !expected.count(n)) || (unscored && !expected.count("part-" + n.substr(10, 5) + "." + ext_))) {
      std::error_code rm;
      fs::remove(it->path(), rm);
      spdlog::info("removed {}: not a part of this run ({} parts)", it->path().string(), parts_);
    }
  }
  for (fs::directory_iterator it(dir_ + "/_parts", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();  // part-00003.json
    if (n.rfind("part-", 0) == 0 && n.find(".tmp.") == std::string::npos &&
        !expected.count(n.substr(0, n.size() - 5) + "." + ext_)) {
      std::error_code rm;
      fs::remove(it->path(), rm);
    }
  }
}

std::string OutputDir::name(size_t part) const { return fmt::format("part-{:05d}.{}", part, ext_); }
std::string OutputDir::part_path(size_t part) const { return dir_ + "/" + name(part); }
std::string OutputDir::unscored_path(size_t part) const { return fmt::format("{}/_unscored-{:05d}.csv", dir_, part); }
std::string OutputDir::sidecar_path(size_t part) const { return fmt::format("{}/_parts/part-{:05d}.json", dir_, part); }

bool OutputDir::verified(size_t part, PartRecord* record, bool rehash) const {
  const json side = read_json_or_null(sidecar_path(part));
  if (!side.is_object() || side.value("run", json()) != run_ || !side.contains("part")) return false;
  const json& r = side["part"];
  std::error_code ec;
  const std::string path = part_path(part);
  if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) != r.value("bytes", uint64_t(0))) return false;
  FileDigest d{r.value("sha256", std::string()), r.value("bytes", uint64_t(0)), 0};
  const uint64_t header = ext_ == "csv" ? 1 : 0;
  d.lines = r.value("rows", uint64_t(0)) + header;
  if (rehash) d = digest_file(path);
  if (d.sha256 != r.value("sha256", std::string()) || d.lines != r.value("rows", uint64_t(0)) + header) {
    spdlog::warn("{}: its bytes no longer match the sha256 recorded when it was written; redoing it", path);
    return false;
  }
  if (record) {
    record->part = part;
    record->file = name(part);
    record->first_user = r.value("first_user", uint64_t(0));
    record->users = r.value("users", uint64_t(0));
    record->rows = r.value("rows", uint64_t(0));
    record->bytes = d.bytes;
    record->unscored = r.value("unscored", uint64_t(0));
    record->sha256 = d.sha256;
  }
  return true;
}

PartRecord OutputDir::record(size_t part, PartRange range, uint64_t unscored) {
  const FileDigest d = digest_file(part_path(part));
  PartRecord r;
  r.part = part;
  r.file = name(part);
  r.first_user = range.first;
  r.users = range.count;
  r.rows = d.lines - (ext_ == "csv" ? 1 : 0);
  r.bytes = d.bytes;
  r.unscored = unscored;
  r.sha256 = d.sha256;
  write_file_atomically(sidecar_path(part), json{{"run", run_}, {"part", part_record_json(r)}}.dump(2) + "\n");
  return r;
}

json OutputDir::finish() {
  json parts = json::array();
  uint64_t rows = 0, users = 0, unscored = 0;
  for (size_t p = 0; p < parts_; ++p) {
    PartRecord r;
    MARQUEE_CHECK_INPUT(verified(p, &r, false), "{}: missing or does not match its sidecar {}; run again to redo it",
                        part_path(p), sidecar_path(p));
    parts.push_back(part_record_json(r));
    rows += r.rows, users += r.users, unscored += r.unscored;
  }
  json manifest = {{"format", "marquee-results"},
                   {"format_version", kOutputDirFormatVersion},
                   {"run", run_},
                   {"users", users},
                   {"rows", rows},
                   {"unscored", unscored},
                   {"parts", parts}};
  write_file_atomically(dir_ + "/" + kManifest, manifest.dump(2) + "\n");
  write_file_atomically(dir_ + "/" + kSuccess, "");
  complete_ = true;
  return manifest;
}

}  // namespace marquee
