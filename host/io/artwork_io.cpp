#include "host/io/artwork_io.h"

#include "host/io/catalog_io.h"
#include "host/io/record_reader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

namespace marquee {

Artwork load_artwork(const std::string& path, const Catalog& catalog, const TitleMatrix& titles, RejectLog& rejects) {
  const auto t0 = std::chrono::steady_clock::now();
  RecordReader reader(path, {"title_id", "artwork_id", "tag", "weight"});
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", path, c);
  ArtworkBuilder builder(catalog.num_titles(), catalog.num_tags());
  Record r;
  size_t rows = 0;
  std::string last_id;  // a title's rows usually come together: one catalogue lookup for them all
  std::optional<uint32_t> last_title;
  while (reader.next(r)) {
    ++rows;
    if (!r.error.empty()) {
      rejects.reject(path, r.line, r.error, r.raw);
      continue;
    }
    // The rules of title_tags.csv (host/io/catalog_io.cpp), row for row.
    if (!last_title || r.fields[0] != last_id) {
      last_id = r.fields[0];
      last_title = catalog.find_title(last_id);
    }
    const std::optional<uint32_t> title = last_title;
    if (!title) {
      rejects.reject(path, r.line, "unknown title_id '" + r.fields[0] + "'", r.raw);
      continue;
    }
    const auto tw = parse_tag_weight(catalog, r, 2, 3, path, rejects);
    if (!tw) continue;
    if (!builder.add(*title, r.fields[1], tw->first, tw->second))
      rejects.reject(
          path, r.line,
          "duplicate tag '" + r.fields[2] + "' for artwork '" + r.fields[1] + "' of title '" + r.fields[0] + "'",
          r.raw);
  }
  rejects.check_rate(path, reader.rows());
  Artwork artwork = builder.build(titles);
  if (artwork.num_variants() == 0)
    spdlog::warn("artwork {}: no usable rows ({} read): every title keeps its default artwork", path, rows);
  else
    spdlog::info(
        "artwork {}: {} variants of {} titles ({} titles without variants keep their default artwork) in {:.3f} s",
        path, artwork.num_variants(), artwork.titles_with_variants(),
        catalog.num_titles() - artwork.titles_with_variants(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return artwork;
}

void print_artwork_explanation(std::FILE* to, const Artwork& artwork, const Catalog& catalog, const float* user,
                               uint32_t title, size_t top_tags) {
  const ArtworkExplanation ex = explain_artwork(artwork, user, title, top_tags);
  if (ex.chosen == kNoArtwork) {
    fmt::print(to, "  artwork: default (the title has no variants in the artwork file)\n");
    return;
  }
  std::string others;
  for (const auto& c : ex.candidates)
    if (c.variant != ex.chosen)
      others += fmt::format("{}{} {:.4f}", others.empty() ? "" : ", ", artwork.artwork_id(c.variant), c.score);
  float score = 0;
  for (const auto& c : ex.candidates)
    if (c.variant == ex.chosen) score = c.score;
  fmt::print(to, "  artwork: variant {} (score {:.4f}{})\n", artwork.artwork_id(ex.chosen), score,
             others.empty() ? ", the title's only variant" : fmt::format(" vs {}; margin {:.4f}", others, ex.margin));
  if (ex.tie_break) fmt::print(to, "    tied with another variant: the one listed first in the artwork file wins\n");
  if (ex.tags.empty())
    fmt::print(
        to,
        "    none of this variant's tags is in the user's profile: every variant scores 0, the first listed wins\n");
  for (const auto& c : ex.tags)
    fmt::print(to, "    variant tag {:<24} {:<8} +{:.4f} ({:.0f}% of the variant's score)\n", catalog.tag(c.tag).name,
               catalog.tag(c.tag).category, c.contribution, score > 0 ? 100.0 * c.contribution / score : 0.0);
}

nlohmann::json artwork_explanation_json(const Artwork& artwork, const Catalog& catalog, const float* user,
                                        uint32_t title, size_t top_tags) {
  const ArtworkExplanation ex = explain_artwork(artwork, user, title, top_tags);
  nlohmann::json j;
  j["artwork_id"] = ex.chosen == kNoArtwork ? nlohmann::json(nullptr) : nlohmann::json(artwork.artwork_id(ex.chosen));
  j["rule"] = ex.chosen == kNoArtwork ? "default: the title has no variants"
              : ex.tie_break          ? "largest inner product with the user's tag profile; tie: first listed wins"
                                      : "largest inner product with the user's tag profile";
  j["margin"] = ex.margin;
  j["variants"] = nlohmann::json::array();
  for (const auto& c : ex.candidates)
    j["variants"].push_back(
        {{"artwork_id", artwork.artwork_id(c.variant)}, {"score", c.score}, {"chosen", c.variant == ex.chosen}});
  j["tags"] = nlohmann::json::array();
  for (const auto& c : ex.tags)
    j["tags"].push_back({{"tag", catalog.tag(c.tag).name},
                         {"category", catalog.tag(c.tag).category},
                         {"contribution", c.contribution}});
  return j;
}

}  // namespace marquee
