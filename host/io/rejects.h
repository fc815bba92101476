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

/// The jobs' default --max-reject-rate (docs/operations.md): a file with more than half of its rows
/// rejected is the wrong file (another catalogue's events, a changed layout), not a bad night.
constexpr double kDefaultMaxRejectRate = 0.5;

class RejectLog {
 public:
  /// `rejects_path` empty: count and log only. `strict`: the first rejection throws InputError.
  /// `only_with_rows`: the file is written only when a row was rejected (an old one is removed);
  /// for the `<out>.rejects.csv` the jobs derive. A path the user named is always written.
  /// `max_reject_rate` in [0, 1]: check_rate() fails a file whose rejected share of rows exceeds it
  /// (1, the default here: no limit; the jobs pass --max-reject-rate, kDefaultMaxRejectRate unless given).
  RejectLog(std::string rejects_path, bool strict, double max_reject_rate = 1.0, size_t max_logged = 10,
            bool only_with_rows = false);

  void reject(const std::string& file, size_t line, const std::string& reason, std::string_view row);

  size_t count() const { return count_; }
  bool strict() const { return strict_; }
  const std::map<std::string, size_t>& by_reason() const { return by_reason_; }
  const std::string& path() const { return path_; }
  /// One line: "3 rows rejected (2 unknown title_id, 1 unparseable timestamp) -> FILE".
  std::string summary() const;
  /// "2 unknown title_id, 1 unparseable timestamp": every rejected row, counted by reason.
  std::string reasons() const;
  /// Commits the rejects file (header only when nothing was rejected, so no stale file misleads;
  /// with only_with_rows, no file at all then).
  void finish();

  /// Records that `rows` data rows of `file` were read and checks the reject rate: more than
  /// max_reject_rate() of them rejected commits the rejects file (for the operator to read) and
  /// throws InputError naming the file, the counts and the limit. Called by every reader at the end
  /// of its file; `check_rate(file)` again after later rejections (duplicates) with the same rows.
  void check_rate(const std::string& file, size_t rows);
  void check_rate(const std::string& file);
  size_t rejected_in(const std::string& file) const;
  double max_reject_rate() const { return max_rate_; }

 private:
  std::string path_;
  bool strict_;
  double max_rate_;
  size_t max_logged_;
  bool only_with_rows_;
  size_t count_ = 0;
  std::map<std::string, size_t> by_reason_;
  std::map<std::string, size_t> by_file_;  // rejected rows per file
  std::map<std::string, size_t> rows_;     // data rows read per file (check_rate)
  std::unique_ptr<AtomicFile> file_;
};

/// Quotes one CSV field when needed (RFC 4180, via libcsv).
std::string csv_field(std::string_view value);

}  // namespace marquee
