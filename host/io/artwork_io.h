// Loads artwork.csv (`title_id,artwork_id,tag,weight`, or JSON Lines with the same fields;
// docs/formats.md): one row per (artwork variant, tag). Bad rows go to the RejectLog like every other
// input's: malformed, unknown title, unknown tag, weight outside (0, 1], a duplicate (variant, tag).
#pragma once

#include "engine/artwork.h"
#include "engine/catalog.h"
#include "engine/title_matrix.h"
#include "host/io/rejects.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace marquee {

/// Reads `path` against the catalogue and builds the variant vectors with `titles`' IDF weights
/// (TitleMatrix::build of the same catalogue). A missing file or column is an InputError; a file
/// with no usable rows is not (every title keeps its default artwork; logged).
Artwork load_artwork(const std::string& path, const Catalog& catalog, const TitleMatrix& titles, RejectLog& rejects);

/// `marquee explain --artwork`: the variant `user` sees for `title`, every variant's score, the
/// margin over the runner-up, and the tags that drove the choice; for people (text) and as JSON.
void print_artwork_explanation(std::FILE* to, const Artwork& artwork, const Catalog& catalog, const float* user,
                               uint32_t title, size_t top_tags);
nlohmann::json artwork_explanation_json(const Artwork& artwork, const Catalog& catalog, const float* user,
                                        uint32_t title, size_t top_tags);

}  // namespace marquee
