// Escaping text for HTML pages Marquee writes (reports) or serves (the server's `/` page).
#pragma once

#include <string>

namespace marquee {

/// `text` with &, <, > and " as entities: safe inside elements and double-quoted attributes.
inline std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace marquee
