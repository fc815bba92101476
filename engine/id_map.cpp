#include "engine/id_map.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace marquee {

namespace {
// A full-avalanche 64-bit mix (xor-shift, multiply, xor-shift): every input bit moves the slot bits
// (low) and the tag bits (high) alike.
inline uint64_t mix(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  return x;
}
}  // namespace

uint64_t hash_id(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x243f6a8885a308d3ull ^ (uint64_t(n) * 0x9e3779b97f4a7c15ull);  // the length first: "a" != "a\0"
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix(h ^ w);
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = mix(h ^ w);
  }
  return h;
}

IdMap::Key IdMap::key_of(std::string_view id, uint64_t hash) {
  Key k;
  // The tag: 24 bits of the hash and the length (255: 255 bytes or more), so that equal tags mean
  // equal lengths below 255 and an inline id compares in full by its 16 bytes.
  k.tag = uint32_t(hash >> 40) << 8 | uint32_t(std::min<size_t>(id.size(), 255));
  std::memcpy(k.bytes, id.data(), std::min(id.size(), sizeof k.bytes));
  return k;
}

bool IdMap::matches(const Slot& s, const Key& k, std::string_view id) const {
  if (s.tag != k.tag || std::memcmp(s.bytes, k.bytes, sizeof k.bytes) != 0) return false;
  return id.size() <= sizeof k.bytes || ids_[s.index_plus_1 - 1] == id;  // longer ids: the rest too
}

std::optional<uint32_t> IdMap::find(std::string_view id, uint64_t hash) const {
  if (slots_.empty()) return std::nullopt;
  const Key k = key_of(id, hash);
  const size_t mask = slots_.size() - 1;
  for (size_t i = size_t(hash) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.index_plus_1 == 0) return std::nullopt;
    if (matches(s, k, id)) return s.index_plus_1 - 1;
  }
}

std::pair<uint32_t, bool> IdMap::insert(std::string_view id, uint64_t hash) {
  if (2 * (ids_.size() + 1) > slots_.size()) rehash(std::max<size_t>(16, 2 * slots_.size()));
  const Key k = key_of(id, hash);
  const size_t mask = slots_.size() - 1;
  size_t i = size_t(hash) & mask;
  for (;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.index_plus_1 == 0) break;
    if (matches(s, k, id)) return {s.index_plus_1 - 1, false};
  }
  if (ids_.size() >= kMaxIds) throw std::length_error("IdMap: more than 2^32 - 2 ids");
  ids_.emplace_back(id);
  place(i, uint32_t(ids_.size()), k);
  return {uint32_t(ids_.size() - 1), true};
}

void IdMap::place(size_t i, uint32_t index_plus_1, const Key& k) {
  Slot& s = slots_[i];
  s.index_plus_1 = index_plus_1;
  s.tag = k.tag;
  std::memcpy(s.bytes, k.bytes, sizeof k.bytes);
}

void IdMap::reserve(size_t n) {
  size_t slots = 16;
  while (slots < 2 * n) slots *= 2;
  if (slots > slots_.size()) rehash(slots);
  ids_.reserve(n);
}

void IdMap::rehash(size_t slots) {
  slots_.assign(slots, Slot{});
  const size_t mask = slots - 1;
  for (size_t k = 0; k < ids_.size(); ++k) {
    const uint64_t hash = hash_id(ids_[k]);
    size_t i = size_t(hash) & mask;
    while (slots_[i].index_plus_1 != 0) i = (i + 1) & mask;
    place(i, uint32_t(k + 1), key_of(ids_[k], hash));
  }
}

void IdMap::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  ids_.clear();
}

std::vector<std::string> IdMap::release() {
  std::vector<std::string> out = std::move(ids_);
  ids_.clear();
  slots_.clear();
  return out;
}

}  // namespace marquee
