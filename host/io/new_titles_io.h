// The new-titles file of `marquee project --new-titles FILE` (docs/projection.md, docs/formats.md).
#pragma once

#include "engine/catalog.h"
#include "engine/projection.h"
#include "host/io/rejects.h"

#include <string>
#include <vector>

namespace marquee {

/// Reads new titles from a title_tags-shaped file (`title_id,tag,weight`, optional `name`), CSV or
/// JSON Lines. Bad rows (malformed, weight outside (0, 1], duplicate (title, tag), a title already
/// in the catalogue) and unknown tags are rejected with file:line (ignored with a warning; an
/// InputError under strict). A title left with no known tag, or a file with no titles, is an InputError.
std::vector<NewTitle> load_new_titles(const std::string& path, const Catalog& catalog, RejectLog& rejects);

}  // namespace marquee
