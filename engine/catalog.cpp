#include "engine/catalog.h"

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

bool Catalog::add_assignment(TagAssignment assignment) {
  const uint64_t key = (uint64_t{assignment.title} << 32) | assignment.tag;
  if (!assigned_.insert(key).second) return false;
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
