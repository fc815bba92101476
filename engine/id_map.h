// String ids -> dense indices in order of first appearance: the catalogue's titles and tags, the
// users of an events file. An open-addressing table (linear probing, at most half full) over the
// map's own list of ids, looked up by string_view: no std::string is built per lookup. A slot holds
// an id's first 16 bytes and a tag (24 bits of the hash and the length), so a lookup of an id of up
// to 16 bytes touches one slot and nothing else: with std::unordered_map<std::string, ...> the
// title and user lookups were a hot spot of `marquee profile` (docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marquee {

/// A 64-bit hash of `s`, 8 bytes a step (the same in every run; never written to a file).
uint64_t hash_id(std::string_view s);

class IdMap {
 public:
  static constexpr size_t kMaxIds = 0xFFFFFFFEu;  // an index and index + 1 fit 32 bits

  /// The index of `id`: its old one, or ids().size() when it is new (then added); `second` is true
  /// when it was added. Throws std::length_error for a new id past kMaxIds.
  std::pair<uint32_t, bool> insert(std::string_view id) { return insert(id, hash_id(id)); }
  /// As insert(id), with `hash` == hash_id(id) computed by the caller (once for several maps).
  std::pair<uint32_t, bool> insert(std::string_view id, uint64_t hash);
  std::optional<uint32_t> find(std::string_view id) const { return find(id, hash_id(id)); }
  std::optional<uint32_t> find(std::string_view id, uint64_t hash) const;
  /// Starts loading the slot where a lookup of `hash` begins: a caller with other work to do before
  /// find() hides the cache miss of a large table behind it.
  void prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[size_t(hash) & (slots_.size() - 1)]);
  }

  size_t size() const { return ids_.size(); }
  /// index -> id, in order of first appearance.
  const std::vector<std::string>& ids() const { return ids_; }
  /// Hands over the ids and leaves the map empty.
  std::vector<std::string> release();
  /// Room for `n` ids without rehashing.
  void reserve(size_t n);
  /// Forgets every id, keeping the table's memory for the next ones.
  void clear();

 private:
  struct Key {
    uint32_t tag = 0;
    char bytes[16] = {};  // the id's first 16 bytes, zero-padded
  };
  struct Slot {
    uint32_t index_plus_1 = 0;  // 0: empty
    uint32_t tag = 0;
    char bytes[16] = {};
  };
  static Key key_of(std::string_view id, uint64_t hash);
  bool matches(const Slot& s, const Key& k, std::string_view id) const;
  void place(size_t i, uint32_t index_plus_1, const Key& k);
  void rehash(size_t slots);
  std::vector<Slot> slots_;  // a power of two, at most half full
  std::vector<std::string> ids_;
};

}  // namespace marquee
