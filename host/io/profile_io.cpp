#include "host/io/profile_io.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"
#include "host/io/record_reader.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include <zlib.h>

namespace marquee {
namespace {

constexpr char kMagic[8] = {'M', 'R', 'Q', 'P', 'R', 'O', 'F', '1'};
// 2: a CRC-32 per section and one over the header (version 1 had none: 24 of 30 random bit flips
// went unnoticed).
constexpr uint32_t kVersion = 2;

constexpr int kSections = 6;
constexpr const char* kSectionNames[kSections] = {"vectors", "seen_offsets", "seen", "summaries", "id_offsets", "ids"};

// Fixed 256-byte header block; all integers little-endian (the file is read on the machine kind that
// wrote it: x86-64 or aarch64, both little-endian).
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t dim;
  uint64_t users;
  uint64_t titles;
  uint64_t seen_total;
  uint64_t catalog_fingerprint;
  uint64_t off_vectors;
  uint64_t off_seen_offsets;
  uint64_t off_seen;
  uint64_t off_summaries;
  uint64_t off_id_offsets;
  uint64_t off_ids;
  uint64_t file_size;
  uint32_t section_crc[kSections];  // zlib CRC-32 of each section, in the order of kSectionNames
};
static_assert(sizeof(Header) == 8 + 4 + 4 + 8 * 11 + 4 * kSections, "no padding in the header");

// The header is followed by a CRC-32 of the whole block and zeros to 256 bytes.
constexpr size_t kHeaderBytes = 256;
static_assert(sizeof(Header) == 128, "the header is 128 bytes");

uint32_t crc32_of(uint32_t crc, const void* data, size_t bytes) {
  return uint32_t(crc32_z(crc, static_cast<const Bytef*>(data), bytes));
}

struct HeaderBlock {
  Header h;
  uint32_t crc;  // over h and zero[]
  uint8_t zero[kHeaderBytes - sizeof(Header) - 4];

  uint32_t computed_crc() const { return crc32_of(crc32_of(0, &h, sizeof h), zero, sizeof zero); }
};
static_assert(sizeof(HeaderBlock) == kHeaderBytes, "the header block is 256 bytes");
static_assert(sizeof(SeenTitle) == 12 && std::is_trivially_copyable_v<SeenTitle>, "SeenTitle is stored raw");
static_assert(sizeof(UserSummary) == 120 && std::is_trivially_copyable_v<UserSummary>, "UserSummary is stored raw");

}  // namespace

void write_profiles(const std::string& path, const UserProfiles& p, size_t num_titles, uint64_t fingerprint) {
  const uint64_t n = p.size();
  MARQUEE_ASSERT(p.vectors.size() == n * p.dim && p.seen_offsets.size() == n + 1 && p.summaries.size() == n);
  std::vector<uint64_t> id_offsets(n + 1, 0);
  for (size_t u = 0; u < n; ++u) id_offsets[u + 1] = id_offsets[u] + p.user_ids[u].size();

  HeaderBlock block{};
  Header& h = block.h;
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.dim = uint32_t(p.dim);
  h.users = n;
  h.titles = num_titles;
  h.seen_total = p.seen.size();
  h.catalog_fingerprint = fingerprint;
  h.off_vectors = kHeaderBytes;
  h.off_seen_offsets = h.off_vectors + n * p.dim * sizeof(float);
  h.off_seen = h.off_seen_offsets + (n + 1) * sizeof(uint64_t);
  h.off_summaries = h.off_seen + p.seen.size() * sizeof(SeenTitle);
  h.off_id_offsets = h.off_summaries + n * sizeof(UserSummary);
  h.off_ids = h.off_id_offsets + (n + 1) * sizeof(uint64_t);
  h.file_size = h.off_ids + id_offsets[n];

  h.section_crc[0] = crc32_of(0, p.vectors.data(), p.vectors.size() * sizeof(float));
  h.section_crc[1] = crc32_of(0, p.seen_offsets.data(), p.seen_offsets.size() * sizeof(uint64_t));
  h.section_crc[2] = crc32_of(0, p.seen.data(), p.seen.size() * sizeof(SeenTitle));
  h.section_crc[3] = crc32_of(0, p.summaries.data(), p.summaries.size() * sizeof(UserSummary));
  h.section_crc[4] = crc32_of(0, id_offsets.data(), id_offsets.size() * sizeof(uint64_t));
  uint32_t ids_crc = 0;
  for (const auto& id : p.user_ids) ids_crc = crc32_of(ids_crc, id.data(), id.size());
  h.section_crc[5] = ids_crc;
  block.crc = block.computed_crc();

  AtomicFile f(path);
  f.write(&block, sizeof block);
  f.write(p.vectors.data(), p.vectors.size() * sizeof(float));
  f.write(p.seen_offsets.data(), p.seen_offsets.size() * sizeof(uint64_t));
  f.write(p.seen.data(), p.seen.size() * sizeof(SeenTitle));
  f.write(p.summaries.data(), p.summaries.size() * sizeof(UserSummary));
  f.write(id_offsets.data(), id_offsets.size() * sizeof(uint64_t));
  for (const auto& id : p.user_ids) f.write(id);
  f.commit();
}

ProfileReader::ProfileReader(std::string path) : path_(std::move(path)) {
  in_.open(path_, std::ios::binary);
  MARQUEE_CHECK_INPUT(in_.is_open(), "cannot open profiles file {}: {}", path_, std::strerror(errno));
  const uint64_t actual_size = std::filesystem::file_size(path_);
  HeaderBlock block{};
  const Header& h = block.h;
  MARQUEE_CHECK_INPUT(actual_size >= sizeof block, "{} is not a Marquee profiles file (too short)", path_);
  read_at(0, &block, sizeof block);
  MARQUEE_CHECK_INPUT(std::memcmp(h.magic, kMagic, sizeof kMagic) == 0, "{} is not a Marquee profiles file", path_);
  MARQUEE_CHECK_INPUT(h.version == kVersion,
                      "{} has profiles format version {}; this build reads version {}: rebuild it with `marquee "
                      "profile`",
                      path_, h.version, kVersion);
  MARQUEE_CHECK_INPUT(block.crc == block.computed_crc(),
                      "{}: the header fails its checksum: the file is damaged; rebuild it with `marquee profile`",
                      path_);
  const uint64_t n = h.users;
  const bool consistent =
      h.off_vectors == kHeaderBytes && h.off_seen_offsets == h.off_vectors + n * h.dim * sizeof(float) &&
      h.off_seen == h.off_seen_offsets + (n + 1) * sizeof(uint64_t) &&
      h.off_summaries == h.off_seen + h.seen_total * sizeof(SeenTitle) &&
      h.off_id_offsets == h.off_summaries + n * sizeof(UserSummary) &&
      h.off_ids == h.off_id_offsets + (n + 1) * sizeof(uint64_t) && h.file_size == actual_size;
  MARQUEE_CHECK_INPUT(consistent, "{} is truncated or corrupt (header says {} bytes, file has {})", path_, h.file_size,
                      actual_size);
  info_ = {h.version, h.dim, h.users, h.titles, h.seen_total, h.catalog_fingerprint};
  off_vectors_ = h.off_vectors;
  off_seen_offsets_ = h.off_seen_offsets;
  off_seen_ = h.off_seen;
  off_summaries_ = h.off_summaries;
  off_id_offsets_ = h.off_id_offsets;
  off_ids_ = h.off_ids;
  file_size_ = h.file_size;
  verify_sections(h.section_crc);
}

// One streaming pass over the file (4 MiB at a time) before anything is read: a damaged byte
// anywhere is refused up front, naming the section, instead of changing recommendations.
void ProfileReader::verify_sections(const uint32_t* stored) {
  const uint64_t bounds[kSections + 1] = {off_vectors_, off_seen_offsets_, off_seen_, off_summaries_,
                                           off_id_offsets_, off_ids_, file_size_};
  std::vector<char> buf(size_t(4) << 20);
  for (int s = 0; s < kSections; ++s) {
    uint32_t crc = 0;
    for (uint64_t at = bounds[s]; at < bounds[s + 1];) {
      const size_t bytes = size_t(std::min<uint64_t>(buf.size(), bounds[s + 1] - at));
      read_at(at, buf.data(), bytes);
      crc = crc32_of(crc, buf.data(), bytes);
      at += bytes;
    }
    MARQUEE_CHECK_INPUT(crc == stored[s],
                        "{}: the {} section fails its checksum (stored {:08x}, computed {:08x}): the file is damaged; "
                        "rebuild it with `marquee profile`",
                        path_, kSectionNames[s], stored[s], crc);
  }
}

void ProfileReader::check_catalog(uint64_t fingerprint, size_t num_titles, size_t dim) const {
  MARQUEE_CHECK_INPUT(info_.catalog_fingerprint == fingerprint && info_.titles == num_titles && info_.dim == dim,
                      "{} was built from a different catalogue ({} titles x {} tags, fingerprint {:016x}); this "
                      "catalogue has {} titles x {} tags, fingerprint {:016x}: rebuild it with `marquee profile`",
                      path_, info_.titles, info_.dim, info_.catalog_fingerprint, num_titles, dim, fingerprint);
}

void ProfileReader::read_at(uint64_t offset, void* data, size_t bytes) {
  if (bytes == 0) return;
  in_.clear();
  in_.seekg(std::streamoff(offset));
  in_.read(static_cast<char*>(data), std::streamsize(bytes));
  MARQUEE_CHECK_INPUT(in_.good(), "{}: read of {} bytes at offset {} failed (truncated file?)", path_, bytes, offset);
}

uint64_t ProfileReader::read_u64(uint64_t section, size_t index) {
  uint64_t v = 0;
  read_at(section + index * sizeof(uint64_t), &v, sizeof v);
  return v;
}

UserProfiles ProfileReader::read(size_t first, size_t count) {
  MARQUEE_CHECK_ARG(first <= users() && count <= users() - first, "users [{}, {}) outside the {} in {}", first,
                    first + count, users(), path_);
  UserProfiles p;
  p.dim = info_.dim;
  p.vectors.resize(count * p.dim);
  read_at(off_vectors_ + first * p.dim * sizeof(float), p.vectors.data(), p.vectors.size() * sizeof(float));

  std::vector<uint64_t> seen_off(count + 1);
  read_at(off_seen_offsets_ + first * sizeof(uint64_t), seen_off.data(), seen_off.size() * sizeof(uint64_t));
  const uint64_t s0 = seen_off[0];
  MARQUEE_CHECK_INPUT(s0 <= seen_off[count] && seen_off[count] <= info_.seen_total, "{}: corrupt seen offsets", path_);
  p.seen.resize(seen_off[count] - s0);
  read_at(off_seen_ + s0 * sizeof(SeenTitle), p.seen.data(), p.seen.size() * sizeof(SeenTitle));
  p.seen_offsets.resize(count + 1);
  for (size_t i = 0; i <= count; ++i) {
    MARQUEE_CHECK_INPUT(i == 0 || seen_off[i] >= seen_off[i - 1], "{}: corrupt seen offsets", path_);
    p.seen_offsets[i] = seen_off[i] - s0;
  }
  for (const auto& s : p.seen)
    MARQUEE_CHECK_INPUT(s.title < info_.titles, "{}: seen title index {} outside the catalogue", path_, s.title);

  p.summaries.resize(count);
  read_at(off_summaries_ + first * sizeof(UserSummary), p.summaries.data(), count * sizeof(UserSummary));

  const std::vector<uint64_t> id_off = read_id_offsets(first, count);
  std::string blob(id_off[count] - id_off[0], '\0');
  read_at(off_ids_ + id_off[0], blob.data(), blob.size());
  p.user_ids.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    p.user_ids.push_back(blob.substr(id_off[i] - id_off[0], id_off[i + 1] - id_off[i]));
    // Ids go into JSON (score --format jsonl, project): one that is not UTF-8 would abort the run at the end.
    MARQUEE_CHECK_INPUT(invalid_utf8_at(p.user_ids.back()) == std::string::npos,
                        "{}: user {} has an id that is not valid UTF-8: the file is damaged or was written by an "
                        "older Marquee; rebuild it with `marquee profile`",
                        path_, first + i);
  }
  // A NaN would drop the user silently (no rows, not in unscored.csv) and an inf would score "inf".
  for (size_t u = 0; u < count; ++u) {
    const float* v = p.vector(u);
    for (size_t j = 0; j < p.dim; ++j)
      MARQUEE_CHECK_INPUT(std::isfinite(v[j]),
                          "{}: user '{}' (row {}) has a non-finite vector value ({} in dimension {}): the file is "
                          "damaged; rebuild it with `marquee profile`",
                          path_, p.user_ids[u], first + u, v[j], j);
    for (uint64_t k = p.seen_offsets[u]; k < p.seen_offsets[u + 1]; ++k)
      MARQUEE_CHECK_INPUT(std::isfinite(p.seen[k].weight) && std::abs(p.seen[k].weight) <= 1.0f,
                          "{}: user '{}' (row {}) has a seen-title weight {} outside [-1, 1]: the file is damaged; "
                          "rebuild it with `marquee profile`",
                          path_, p.user_ids[u], first + u, p.seen[k].weight);
  }
  return p;
}

std::vector<uint64_t> ProfileReader::read_id_offsets(size_t first, size_t count) {
  std::vector<uint64_t> id_off(count + 1);
  read_at(off_id_offsets_ + first * sizeof(uint64_t), id_off.data(), id_off.size() * sizeof(uint64_t));
  // Every offset checked before any is used: a corrupt one must be an InputError naming the file,
  // not "basic_string::_M_create" from a length of 2^64 - 3.
  for (size_t i = 0; i < count; ++i)
    MARQUEE_CHECK_INPUT(id_off[i + 1] >= id_off[i], "{}: corrupt id offsets (user {})", path_, first + i);
  MARQUEE_CHECK_INPUT(id_off[count] <= file_size_ - off_ids_, "{}: corrupt id offsets (past the end of the file)",
                      path_);
  return id_off;
}

std::optional<size_t> ProfileReader::find_user(const std::string& user_id) {
  constexpr size_t kChunk = 1 << 16;
  for (size_t first = 0; first < users(); first += kChunk) {
    const size_t count = std::min(kChunk, users() - first);
    const std::vector<uint64_t> id_off = read_id_offsets(first, count);
    std::string blob(id_off[count] - id_off[0], '\0');
    read_at(off_ids_ + id_off[0], blob.data(), blob.size());
    for (size_t i = 0; i < count; ++i)
      if (blob.compare(id_off[i] - id_off[0], id_off[i + 1] - id_off[i], user_id) == 0) return first + i;
  }
  return std::nullopt;
}

// ---- ProfileStreamWriter ---------------------------------------------------------------------

struct ProfileStreamWriter::Impl {
  AtomicFile file;
  HeaderBlock block{};
  uint64_t users_done = 0, seen_done = 0, ids_done = 0;
  uint64_t id_bytes = 0;
  uint32_t crc[kSections] = {};
  explicit Impl(const std::string& path) : file(path) {}

  void put(uint64_t offset, const void* data, size_t bytes, int section) {
    if (bytes == 0) return;
    std::FILE* f = file.handle();
    if (std::fseek(f, long(offset), SEEK_SET) != 0 || std::fwrite(data, 1, bytes, f) != bytes)
      MARQUEE_THROW_AS(InputError, "write to {} failed: {}", file.temp_path(), std::strerror(errno));
    crc[section] = crc32_of(crc[section], data, bytes);
  }
};

ProfileStreamWriter::ProfileStreamWriter(const std::string& path, size_t dim, uint64_t users, uint64_t seen_total,
                                         uint64_t id_bytes, size_t num_titles, uint64_t fingerprint)
    : impl_(new Impl(path)) {
  Header& h = impl_->block.h;
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.dim = uint32_t(dim);
  h.users = users;
  h.titles = num_titles;
  h.seen_total = seen_total;
  h.catalog_fingerprint = fingerprint;
  h.off_vectors = kHeaderBytes;
  h.off_seen_offsets = h.off_vectors + users * dim * sizeof(float);
  h.off_seen = h.off_seen_offsets + (users + 1) * sizeof(uint64_t);
  h.off_summaries = h.off_seen + seen_total * sizeof(SeenTitle);
  h.off_id_offsets = h.off_summaries + users * sizeof(UserSummary);
  h.off_ids = h.off_id_offsets + (users + 1) * sizeof(uint64_t);
  h.file_size = h.off_ids + id_bytes;
  impl_->id_bytes = id_bytes;
  const uint64_t zero = 0;  // the first offset of both offset sections
  impl_->put(h.off_seen_offsets, &zero, sizeof zero, 1);
  impl_->put(h.off_id_offsets, &zero, sizeof zero, 4);
}

ProfileStreamWriter::~ProfileStreamWriter() { delete impl_; }

void ProfileStreamWriter::append(const UserProfiles& p, size_t u, size_t count) {
  Impl& w = *impl_;
  const Header& h = w.block.h;
  MARQUEE_ASSERT(p.dim == h.dim && u + count <= p.size() && w.users_done + count <= h.users);
  const uint64_t s0 = p.seen_offsets[u], s1 = p.seen_offsets[u + count];
  MARQUEE_ASSERT(w.seen_done + (s1 - s0) <= h.seen_total);
  std::vector<uint64_t> offsets(count);
  for (size_t i = 0; i < count; ++i) offsets[i] = w.seen_done + p.seen_offsets[u + i + 1] - s0;
  std::vector<uint64_t> id_offsets(count);
  std::string ids;
  for (size_t i = 0; i < count; ++i) {
    ids += p.user_ids[u + i];
    id_offsets[i] = w.ids_done + ids.size();
  }
  MARQUEE_ASSERT(w.ids_done + ids.size() <= w.id_bytes);
  w.put(h.off_vectors + w.users_done * h.dim * sizeof(float), p.vector(u), count * h.dim * sizeof(float), 0);
  w.put(h.off_seen_offsets + (w.users_done + 1) * sizeof(uint64_t), offsets.data(), count * sizeof(uint64_t), 1);
  w.put(h.off_seen + w.seen_done * sizeof(SeenTitle), p.seen.data() + s0, (s1 - s0) * sizeof(SeenTitle), 2);
  w.put(h.off_summaries + w.users_done * sizeof(UserSummary), p.summaries.data() + u, count * sizeof(UserSummary), 3);
  w.put(h.off_id_offsets + (w.users_done + 1) * sizeof(uint64_t), id_offsets.data(), count * sizeof(uint64_t), 4);
  w.put(h.off_ids + w.ids_done, ids.data(), ids.size(), 5);
  w.users_done += count;
  w.seen_done += s1 - s0;
  w.ids_done += ids.size();
}

void ProfileStreamWriter::commit() {
  Impl& w = *impl_;
  Header& h = w.block.h;
  MARQUEE_CHECK_INPUT(w.users_done == h.users && w.seen_done == h.seen_total && w.ids_done == w.id_bytes,
                      "{}: {} of {} users appended; the profiles file is incomplete", w.file.path(), w.users_done,
                      h.users);
  for (int i = 0; i < kSections; ++i) h.section_crc[i] = w.crc[i];
  w.block.crc = w.block.computed_crc();
  std::FILE* f = w.file.handle();
  if (std::fseek(f, 0, SEEK_SET) != 0 || std::fwrite(&w.block, 1, sizeof w.block, f) != sizeof w.block)
    MARQUEE_THROW_AS(InputError, "write to {} failed: {}", w.file.temp_path(), std::strerror(errno));
  w.file.commit();
}

uint64_t profile_id_bytes(const ProfileReader& reader) {
  const ProfileFileInfo& i = reader.info();
  const uint64_t off_ids = kHeaderBytes + i.users * i.dim * sizeof(float) + (i.users + 1) * sizeof(uint64_t) +
                           i.seen_total * sizeof(SeenTitle) + i.users * sizeof(UserSummary) +
                           (i.users + 1) * sizeof(uint64_t);
  return std::filesystem::file_size(reader.path()) - off_ids;
}

}  // namespace marquee
