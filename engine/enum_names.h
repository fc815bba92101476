// One table per enum gives both directions: the name printed in logs and files, and the parser of
// a flag's text with one error message shape ("unknown backend 'gpu': expected auto, cpu or cuda").
// Aliases parse but are never printed nor listed.
#pragma once

#include "engine/error.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace marquee {

template <class E>
struct EnumName {
  E value;
  const char* name;
  bool alias = false;  // accepted by parse_enum, not printed by enum_name, not listed as expected
};

/// The canonical name of `value` in `table` ("?" when the table lacks it).
template <class E, size_t N>
const char* enum_name(const EnumName<E> (&table)[N], E value) {
  for (const auto& e : table)
    if (e.value == value && !e.alias) return e.name;
  return "?";
}

/// "a, b or c": the canonical names of `table`, for messages.
template <class E, size_t N>
std::string enum_choices(const EnumName<E> (&table)[N]) {
  std::string names[N];
  size_t count = 0;
  for (const auto& e : table)
    if (!e.alias) names[count++] = e.name;
  std::string out;
  for (size_t i = 0; i < count; ++i) out += (i == 0 ? "" : i + 1 == count ? " or " : ", ") + names[i];
  return out;
}

/// The value named `text` (aliases included), or nothing.
template <class E, size_t N>
std::optional<E> find_enum(const EnumName<E> (&table)[N], std::string_view text) {
  for (const auto& e : table)
    if (text == e.name) return e.value;
  return std::nullopt;
}

/// The value named `text`; throws ArgumentError "unknown <what> '<text>': expected <choices>".
template <class E, size_t N>
E parse_enum(const EnumName<E> (&table)[N], const std::string& text, const char* what) {
  if (const auto v = find_enum(table, text)) return *v;
  MARQUEE_THROW_AS(ArgumentError, "unknown {} '{}': expected {}", what, text, enum_choices(table));
}

}  // namespace marquee
