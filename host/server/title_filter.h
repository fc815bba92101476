// Which titles a ranking route may return (docs/serving.md, "Filters"): a tag expression such as
// "genre:comedy AND NOT rating:18+", an allow list and a deny list of title ids. The routes turn the
// titles that fail into exclusions of the search itself, so the top-K is selected among the titles
// that pass (a filter that removes 95 % of the catalogue still returns k titles when k pass).
#pragma once

#include "engine/catalog.h"

#include <cstdint>
#include <string>
#include <vector>

namespace marquee::server {

/// The titles of each tag (CSR), built once per snapshot: the atoms of a tag expression.
class TagTitles {
 public:
  explicit TagTitles(const Catalog& catalog);
  const uint32_t* begin(uint32_t tag) const { return titles_.data() + offsets_[tag]; }
  const uint32_t* end(uint32_t tag) const { return titles_.data() + offsets_[tag + 1]; }

 private:
  std::vector<size_t> offsets_;
  std::vector<uint32_t> titles_;
};

/// Evaluates a tag expression for every title: 1 where it holds. Grammar (keywords upper case):
///   expr := term (OR term)* ; term := factor (AND factor)* ; factor := NOT factor | ( expr ) | TAG
/// where TAG is a tag name as in tags.csv (no spaces or parentheses). Throws ArgumentError naming
/// the problem and its position: an unknown tag, a missing operand or parenthesis, more than 4096
/// characters or 64 levels of nesting.
std::vector<uint8_t> evaluate_tag_expression(const std::string& expression, const Catalog& catalog,
                                             const TagTitles& tag_titles);

/// The titles that may be returned, as sorted exclusions merged into `exclude` (sorted, unique):
/// those failing `passes` (empty: all pass), not in `allow` (empty: all allowed), or in `deny`.
void add_filter_exclusions(std::vector<uint32_t>& exclude, size_t num_titles, const std::vector<uint8_t>& passes,
                           const std::vector<uint32_t>& allow, const std::vector<uint32_t>& deny);

}  // namespace marquee::server
