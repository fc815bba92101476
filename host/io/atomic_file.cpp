#include "host/io/atomic_file.h"

#include "engine/error.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace marquee {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
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

void write_file_atomically(const std::string& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

}  // namespace marquee
