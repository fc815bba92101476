// The catalogue: the expert tag taxonomy, the titles, and the tags assigned to each title.
// String ids from files are mapped to dense indices in file order; every other structure in the
// engine speaks indices. Index order is also the deterministic tie-break order for ranking.
#pragma once

#include "engine/id_map.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace marquee {

struct Tag {
  std::string name;
  std::string category;  // genre, mood, theme, era, cast, setting, trait ...
};

struct Title {
  std::string id;
  std::string name;
  double duration_s = 0;
  int release_year = 0;  // 0 when unknown
};

/// One expert assignment of a tag to a title, weight in (0, 1].
struct TagAssignment {
  uint32_t title = 0;
  uint32_t tag = 0;
  float weight = 0;
};

class Catalog {
 public:
  /// Adds a tag; returns its index, or nullopt if the name is already present.
  std::optional<uint32_t> add_tag(Tag tag);
  /// Adds a title; returns its index, or nullopt if the id is already present.
  std::optional<uint32_t> add_title(Title title);
  /// Adds an assignment; returns false if (title, tag) was already assigned.
  bool add_assignment(TagAssignment assignment);

  std::optional<uint32_t> find_tag(std::string_view name) const;
  std::optional<uint32_t> find_title(std::string_view id) const;
  /// The title ids' map (IdMap::prefetch, find with a hash computed once).
  const IdMap& title_ids() const { return title_index_; }

  size_t num_tags() const { return tags_.size(); }
  size_t num_titles() const { return titles_.size(); }
  const std::vector<Tag>& tags() const { return tags_; }
  const std::vector<Title>& titles() const { return titles_; }
  const std::vector<TagAssignment>& assignments() const { return assignments_; }
  const Tag& tag(uint32_t index) const { return tags_.at(index); }
  const Title& title(uint32_t index) const { return titles_.at(index); }

  /// Hash of the title ids and tag names in index order. Profiles remember it so that they are never
  /// scored against a catalogue whose indices mean something else.
  uint64_t fingerprint() const;

 private:
  std::vector<Tag> tags_;
  std::vector<Title> titles_;
  std::vector<TagAssignment> assignments_;
  IdMap tag_index_;    // name -> index, as tags_
  IdMap title_index_;  // id -> index, as titles_
  // title << 32 | tag of every assignment in an open-addressing table, at most half full (~0:
  // empty; no index reaches 2^32 - 1): with std::unordered_set, hundreds of thousands of
  // assignments were a third of loading a catalogue.
  std::vector<uint64_t> assigned_;
};

}  // namespace marquee
