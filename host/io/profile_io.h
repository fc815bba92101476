// The profiles file: user vectors, seen titles with engagement weights, and engagement summaries,
// written by `marquee profile` and read back in batches by `marquee score` so that scoring hundreds
// of millions of users needs memory for one batch only. Layout: docs/formats.md ("Profiles file").
#pragma once

#include "engine/profiles.h"

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace marquee {

struct ProfileFileInfo {
  uint32_t version = 0;
  uint32_t dim = 0;
  uint64_t users = 0;
  uint64_t titles = 0;
  uint64_t seen_total = 0;
  uint64_t catalog_fingerprint = 0;
};

/// Writes all of `profiles` to `path` atomically.
void write_profiles(const std::string& path, const UserProfiles& profiles, size_t num_titles,
                    uint64_t catalog_fingerprint);

/// Writes a profiles file in pieces, for more users than fit in memory at once (the bounded-memory
/// build, docs/scale.md): the totals are given up front, so every section's place is known and
/// each append() writes its users' slice of every section; commit() checks the totals, writes the
/// header with the section CRCs and renames the file into place. The bytes equal write_profiles of
/// all the appended users at once.
class ProfileStreamWriter {
 public:
  ProfileStreamWriter(const std::string& path, size_t dim, uint64_t users, uint64_t seen_total, uint64_t id_bytes,
                      size_t num_titles, uint64_t catalog_fingerprint);
  ~ProfileStreamWriter();
  ProfileStreamWriter(const ProfileStreamWriter&) = delete;
  ProfileStreamWriter& operator=(const ProfileStreamWriter&) = delete;
  /// Users [u, u + count) of `p`, after those appended before.
  void append(const UserProfiles& p, size_t u, size_t count);
  void commit();

 private:
  struct Impl;
  Impl* impl_;
};

class ProfileReader {
 public:
  /// Opens and validates the header, the section sizes and every section's CRC-32 (one streaming
  /// pass over the file); throws InputError for a file that is not a Marquee profiles file, has
  /// another version, is truncated, or fails a checksum (naming the section).
  explicit ProfileReader(std::string path);

  const ProfileFileInfo& info() const { return info_; }
  const std::string& path() const { return path_; }
  size_t users() const { return size_t(info_.users); }

  /// Throws InputError unless the file was built from a catalogue with this fingerprint and shape.
  void check_catalog(uint64_t fingerprint, size_t num_titles, size_t dim) const;

  /// Reads users [first, first + count). Throws InputError naming the user for a non-finite vector
  /// value, a seen weight outside [-1, 1], an id that is not UTF-8, or offsets that do not add up.
  UserProfiles read(size_t first, size_t count);
  /// Index of the user with this id (linear scan of the ids section).
  std::optional<size_t> find_user(const std::string& user_id);

 private:
  void read_at(uint64_t offset, void* data, size_t bytes);
  void verify_sections(const uint32_t* stored_crcs);
  /// The id offsets of users [first, first + count], checked to rise and stay inside the file.
  std::vector<uint64_t> read_id_offsets(size_t first, size_t count);
  uint64_t read_u64(uint64_t section, size_t index);

  std::string path_;
  std::ifstream in_;
  ProfileFileInfo info_;
  uint64_t off_vectors_ = 0, off_seen_offsets_ = 0, off_seen_ = 0, off_summaries_ = 0, off_id_offsets_ = 0,
           off_ids_ = 0, file_size_ = 0;
};

/// Bytes of the ids section of a profiles file (for ProfileStreamWriter's totals).
uint64_t profile_id_bytes(const ProfileReader& reader);

}  // namespace marquee
