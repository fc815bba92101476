// Bad input never crashes Marquee and is never lost silently: each rejected row is logged with
// file:line and reason (the first few on the terminal), counted by reason, and streamed to a rejects
// file (CSV: file,line,reason,row). Under --strict the first rejection is an InputError instead.
#pragma once

#include "host/io/atomic_file.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace marquee {

class RejectLog {
 public:
  /// `rejects_path` empty: count and log only. `strict`: the first rejection throws InputError.
  RejectLog(std::string rejects_path, bool strict, size_t max_logged = 10);

  void reject(const std::string& file, size_t line, const std::string& reason, std::string_view row);

  size_t count() const { return count_; }
  bool strict() const { return strict_; }
  const std::map<std::string, size_t>& by_reason() const { return by_reason_; }
  const std::string& path() const { return path_; }
  /// One line: "3 rows rejected (2 unknown title_id, 1 unparseable timestamp) -> FILE".
  std::string summary() const;
  /// Commits the rejects file (header only when nothing was rejected, so no stale file misleads).
  void finish();

 private:
  std::string path_;
  bool strict_;
  size_t max_logged_;
  size_t count_ = 0;
  std::map<std::string, size_t> by_reason_;
  std::unique_ptr<AtomicFile> file_;
};

/// Quotes one CSV field when needed (RFC 4180, via libcsv).
std::string csv_field(std::string_view value);

}  // namespace marquee
