// Outputs are written atomically: to a temporary file beside the target, renamed over it on
// commit(). A reader never sees half a file, and a failed run leaves the previous output intact.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace marquee {

class AtomicFile {
 public:
  /// Opens `<path>.tmp.<pid>` for writing (after remove_stale_temps(path)); throws InputError when
  /// the directory is not writable.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view data);
  void write(const void* data, size_t bytes);
  /// Flushes, fsyncs and renames over the target. Throws on any I/O error.
  void commit();
  /// A side file (rejects, unscored users): commits it when `has_rows`, and otherwise drops the
  /// temporary file and removes an old file of that name, so that an earlier run's rows cannot be
  /// taken for this run's.
  void commit_if(bool has_rows);

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }
  std::FILE* handle() { return file_; }

 private:
  std::string path_;
  std::string temp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

/// Removes what killed runs left beside `path`: `<path>.tmp.<pid>` (file or folder) whose process
/// no longer exists on this machine. A live process's file is never touched, nor any other name.
/// Returns how many were removed (each is logged). Called before every atomic write.
size_t remove_stale_temps(const std::string& path);

/// Writes `content` to `path` atomically.
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace marquee
