#include "engine/catalog.h"

#include <algorithm>

namespace marquee {

std::optional<uint32_t> Catalog::add_tag(Tag tag) {
  const auto index = static_cast<uint32_t>(tags_.size());
  if (!tag_index_.insert(tag.name).second) return std::nullopt;
  tags_.push_back(std::move(tag));
  return index;
}

std::optional<uint32_t> Catalog::add_title(Title title) {
  const auto index = static_cast<uint32_t>(titles_.size());
  if (!title_index_.insert(title.id).second) return std::nullopt;
  titles_.push_back(std::move(title));
  return index;
}

namespace {
constexpr uint64_t kNoKey = ~uint64_t{0};

uint64_t assignment_key(const TagAssignment& a) { return (uint64_t{a.title} << 32) | a.tag; }

size_t slot_of(uint64_t key, size_t mask) {
  key ^= key >> 29;  // spread title and tag over the low bits
  key *= 0xbf58476d1ce4e5b9ull;
  return size_t(key ^ (key >> 32)) & mask;
}

// The slot holding `key`, or the empty one where it goes.
size_t probe(const std::vector<uint64_t>& table, uint64_t key) {
  const size_t mask = table.size() - 1;
  size_t i = slot_of(key, mask);
  while (table[i] != kNoKey && table[i] != key) i = (i + 1) & mask;
  return i;
}
}  // namespace

bool Catalog::add_assignment(TagAssignment assignment) {
  const uint64_t key = assignment_key(assignment);
  if (2 * (assignments_.size() + 1) > assigned_.size()) {
    assigned_.assign(std::max<size_t>(64, 2 * assigned_.size()), kNoKey);
    for (const TagAssignment& a : assignments_) assigned_[probe(assigned_, assignment_key(a))] = assignment_key(a);
  }
  const size_t i = probe(assigned_, key);
  if (assigned_[i] == key) return false;
  assigned_[i] = key;
  assignments_.push_back(assignment);
  return true;
}

std::optional<uint32_t> Catalog::find_tag(std::string_view name) const {
  return tag_index_.find(name);
}

std::optional<uint32_t> Catalog::find_title(std::string_view id) const {
  return title_index_.find(id);
}

namespace {
// FNV-1a, 64-bit: stable across platforms and runs (std::hash is not).
void fnv1a(uint64_t& h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= 0xff;  // separator, so ("ab","c") != ("a","bc")
  h *= 1099511628211ull;
}
}  // namespace

uint64_t Catalog::fingerprint() const {
  uint64_t h = 14695981039346656037ull;
  for (const auto& t : titles_) fnv1a(h, t.id);
  fnv1a(h, "#tags");
  for (const auto& t : tags_) fnv1a(h, t.name);
  return h;
}

}  // namespace marquee
