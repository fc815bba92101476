#include "host/io/atomic_file.h"

#include "engine/error.h"

#include <spdlog/spdlog.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace marquee {

size_t remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  if (target.filename().empty()) return 0;
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  size_t removed = 0;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    long long pid = 0;
    auto [p, err] = std::from_chars(first, last, pid);
    if (err != std::errc() || p != last || pid <= 0 || pid == ::getpid()) continue;  // not ours to judge
    // kill(pid, 0): ESRCH means no such process. EPERM means it exists (another user's): keep it.
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    const auto n = fs::remove_all(it->path(), rm);
    if (!rm && n > 0) {
      ++removed;
      spdlog::info("removed {}, left by a run (pid {}) that no longer exists", it->path().string(), pid);
    }
  }
  return removed;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  remove_stale_temps(path_);
  temp_ = path_ + ".tmp." + std::to_string(::getpid());
  file_ = std::fopen(temp_.c_str(), "wb");
  MARQUEE_CHECK_INPUT(file_ != nullptr, "cannot write {}: {}", temp_, std::strerror(errno));
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  MARQUEE_ASSERT(file_ != nullptr);
  if (bytes > 0 && std::fwrite(data, 1, bytes, file_) != bytes)
    MARQUEE_THROW_AS(InputError, "write to {} failed: {}", temp_, std::strerror(errno));
}

void AtomicFile::write(std::string_view data) { write(data.data(), data.size()); }

void AtomicFile::commit() {
  MARQUEE_ASSERT(file_ != nullptr);
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    MARQUEE_THROW_AS(InputError, "flushing {} failed: {}", temp_, std::strerror(errno));
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) MARQUEE_THROW_AS(InputError, "closing {} failed: {}", temp_, std::strerror(errno));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    MARQUEE_THROW_AS(InputError, "renaming {} to {} failed: {}", temp_, path_, std::strerror(errno));
  committed_ = true;
}

void AtomicFile::commit_if(bool has_rows) {
  if (has_rows) return commit();
  if (file_) std::fclose(file_);
  file_ = nullptr;
  std::remove(temp_.c_str());
  committed_ = true;  // nothing left to clean up
  if (std::remove(path_.c_str()) != 0 && errno != ENOENT)
    MARQUEE_THROW_AS(InputError, "removing the stale {} failed: {}", path_, std::strerror(errno));
}

void write_file_atomically(const std::string& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

}  // namespace marquee
