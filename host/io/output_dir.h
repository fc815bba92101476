// A directory output (`score --out DIR/`, docs/scale.md): part files that each cover a fixed slice
// of users, written atomically; a sidecar per part (DIR/_parts/part-NNNNN.json) with its rows, size
// and sha256, written after the part; `_manifest.json`; and `_SUCCESS`, written last.
//
// A run killed at any moment and started again keeps every part whose sidecar belongs to the same
// run and whose file still has the recorded size, rows and sha256, and redoes the others. The
// "run" is a JSON object of everything that decides the output (inputs, k, format, model, number
// of parts); a complete directory (_SUCCESS) of another run is refused, never overwritten.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace marquee {

constexpr int kOutputDirFormatVersion = 1;

/// `--out DIR/` (a trailing slash) or an existing directory: the output is a directory.
bool is_output_dir_path(const std::string& out);

/// Part `part` of `parts` covers users [first, first + count) in profile order: equal slices
/// (floor(part * users / parts) to floor((part + 1) * users / parts)), so part sizes differ by at
/// most one user and the concatenation of the parts is every user once, in order.
struct PartRange {
  size_t first = 0, count = 0;
};
PartRange part_range(size_t users, size_t parts, size_t part);

/// What a part's sidecar and the manifest record.
struct PartRecord {
  size_t part = 0;
  std::string file;  // name inside the directory
  uint64_t first_user = 0, users = 0, rows = 0, bytes = 0, unscored = 0;
  std::string sha256;
};
nlohmann::json part_record_json(const PartRecord& r);

/// Hex SHA-256 and the number of '\n' of a file, streamed (OpenSSL).
struct FileDigest {
  std::string sha256;
  uint64_t bytes = 0, lines = 0;
};
FileDigest digest_file(const std::string& path);

class OutputDir {
 public:
  /// Creates `dir` if needed, removes temporary files of dead runs inside it, refuses a complete
  /// output of another run (ArgumentError), and, for an incomplete one, removes part files that
  /// are not among this run's `parts` names. `ext`: "csv" or "jsonl".
  /// `sweep`: remove every dead run's temporary file in the folder (one writer per folder); a
  /// task writing one part among many (marquee.dask) passes false and leaves that to the driver.
  OutputDir(std::string dir, nlohmann::json run, size_t parts, std::string ext, bool sweep = true);

  const std::string& dir() const { return dir_; }
  size_t parts() const { return parts_; }
  /// DIR/part-00003.csv, DIR/_unscored-00003.csv (only with rows), DIR/_parts/part-00003.json.
  std::string part_path(size_t part) const;
  std::string unscored_path(size_t part) const;
  std::string sidecar_path(size_t part) const;
  std::string rejects_path() const { return dir_ + "/_rejects.csv"; }

  /// The part's record when its sidecar belongs to this run and its file has the recorded size,
  /// '\n' count and sha256 (`rehash`: reads the whole file; else the size only, for parts this
  /// process has just hashed); otherwise false (the part must be redone).
  bool verified(size_t part, PartRecord* record = nullptr, bool rehash = true) const;
  /// After the part file (and its unscored file) were committed: hashes the file and writes its
  /// sidecar atomically. Returns the record.
  PartRecord record(size_t part, PartRange range, uint64_t unscored);
  /// True when _SUCCESS was present for this run and every part verified (nothing to do).
  bool complete() const { return complete_; }
  /// When every part has its sidecar and file (of the recorded size): writes _manifest.json, then
  /// _SUCCESS (both atomic). Throws InputError naming the first part that is missing.
  nlohmann::json finish();

 private:
  std::string name(size_t part) const;
  std::string dir_;
  nlohmann::json run_;
  size_t parts_ = 0;
  std::string ext_;
  bool complete_ = false;
};

}  // namespace marquee
