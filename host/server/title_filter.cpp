#include "host/server/title_filter.h"

#include "engine/error.h"

#include <algorithm>
#include <cctype>

namespace marquee::server {

TagTitles::TagTitles(const Catalog& catalog) : offsets_(catalog.num_tags() + 1, 0) {
  for (const TagAssignment& a : catalog.assignments()) ++offsets_[a.tag + 1];
  for (size_t t = 0; t < catalog.num_tags(); ++t) offsets_[t + 1] += offsets_[t];
  titles_.resize(offsets_.back());
  std::vector<size_t> next(offsets_.begin(), offsets_.end() - 1);
  for (const TagAssignment& a : catalog.assignments()) titles_[next[a.tag]++] = a.title;
}

namespace {

constexpr size_t kMaxExpressionChars = 4096;
constexpr int kMaxDepth = 64;

// Recursive descent over the tokens; each node's value is a 0/1 byte per title.
class Parser {
 public:
  Parser(const std::string& text, const Catalog& catalog, const TagTitles& tags)
      : text_(text), catalog_(catalog), tags_(tags), n_(catalog.num_titles()) {
    next();
  }

  std::vector<uint8_t> parse() {
    std::vector<uint8_t> v = expr(0);
    if (!token_.empty()) fail("expected AND, OR or the end", token_start_);
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    MARQUEE_THROW_AS(ArgumentError, "filter: {} at character {} of '{}'", what, at + 1, text_);
  }

  void next() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    token_start_ = pos_;
    if (pos_ == text_.size()) return token_.clear();
    if (text_[pos_] == '(' || text_[pos_] == ')') {
      token_ = text_.substr(pos_++, 1);
      return;
    }
    const size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != '(' &&
           text_[pos_] != ')')
      ++pos_;
    token_ = text_.substr(start, pos_ - start);
  }

  std::vector<uint8_t> expr(int depth) {
    std::vector<uint8_t> v = term(depth);
    while (token_ == "OR") {
      next();
      const std::vector<uint8_t> r = term(depth);
      for (size_t t = 0; t < n_; ++t) v[t] |= r[t];
    }
    return v;
  }

  std::vector<uint8_t> term(int depth) {
    std::vector<uint8_t> v = factor(depth);
    while (token_ == "AND") {
      next();
      const std::vector<uint8_t> r = factor(depth);
      for (size_t t = 0; t < n_; ++t) v[t] &= r[t];
    }
    return v;
  }

  std::vector<uint8_t> factor(int depth) {
    if (depth > kMaxDepth) fail(fmt::format("more than {} levels of nesting", kMaxDepth), token_start_);
    if (token_.empty()) fail("expected a tag, NOT or '('", token_start_);
    if (token_ == "NOT") {
      next();
      std::vector<uint8_t> v = factor(depth + 1);
      for (auto& b : v) b ^= 1;
      return v;
    }
    if (token_ == "(") {
      const size_t open = token_start_;
      next();
      std::vector<uint8_t> v = expr(depth + 1);
      if (token_ != ")") fail("'(' is never closed", open);
      next();
      return v;
    }
    if (token_ == ")" || token_ == "AND" || token_ == "OR") fail(fmt::format("expected a tag before '{}'", token_), token_start_);
    const auto tag = catalog_.find_tag(token_);
    if (!tag) fail(fmt::format("unknown tag '{}'", token_), token_start_);
    std::vector<uint8_t> v(n_, 0);
    for (const uint32_t* t = tags_.begin(*tag); t != tags_.end(*tag); ++t) v[*t] = 1;
    next();
    return v;
  }

  const std::string& text_;
  const Catalog& catalog_;
  const TagTitles& tags_;
  const size_t n_;
  size_t pos_ = 0, token_start_ = 0;
  std::string token_;
};

}  // namespace

std::vector<uint8_t> evaluate_tag_expression(const std::string& expression, const Catalog& catalog,
                                             const TagTitles& tag_titles) {
  MARQUEE_CHECK_ARG(expression.size() <= kMaxExpressionChars, "filter: {} characters; the limit is {}",
                    expression.size(), kMaxExpressionChars);
  return Parser(expression, catalog, tag_titles).parse();
}

void add_filter_exclusions(std::vector<uint32_t>& exclude, size_t num_titles, const std::vector<uint8_t>& passes,
                           const std::vector<uint32_t>& allow, const std::vector<uint32_t>& deny) {
  if (passes.empty() && allow.empty() && deny.empty()) return;
  std::vector<uint8_t> keep = passes.empty() ? std::vector<uint8_t>(num_titles, 1) : passes;
  if (!allow.empty()) {
    std::vector<uint8_t> allowed(num_titles, 0);
    for (uint32_t t : allow) allowed[t] = 1;
    for (size_t t = 0; t < num_titles; ++t) keep[t] &= allowed[t];
  }
  for (uint32_t t : deny) keep[t] = 0;
  std::vector<uint32_t> out;
  out.reserve(num_titles);
  auto ex = exclude.begin();
  for (uint32_t t = 0; t < num_titles; ++t) {
    while (ex != exclude.end() && *ex < t) ++ex;
    if (!keep[t] || (ex != exclude.end() && *ex == t)) out.push_back(t);
  }
  exclude = std::move(out);
}

}  // namespace marquee::server
