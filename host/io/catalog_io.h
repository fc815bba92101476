// Loads a catalogue directory: tags, titles and title_tags, each as .csv, .tsv or .jsonl, plain or
// gzip/zstd compressed (docs/formats.md).
#pragma once

#include "engine/catalog.h"
#include "host/io/record_reader.h"
#include "host/io/rejects.h"

#include <optional>
#include <string>
#include <utility>

namespace marquee {

/// Finds DIR/NAME.csv, .tsv, .jsonl or .ndjson, each also with .gz or .zst after it (the first of
/// them in that order); throws InputError naming what was looked for.
std::string find_table(const std::string& dir, const std::string& name);

/// Loads the three catalogue files. Bad rows go to `rejects`; a catalogue with no titles or no tags
/// is an InputError. `delimiter` (0: by each file's name) is that of its CSV files (--catalog-delimiter).
Catalog load_catalog(const std::string& dir, RejectLog& rejects, char delimiter = 0);

/// The smallest tag weight kept: below it a weight is noise that float storage would round away.
constexpr double kMinTagWeight = 1e-6;

/// The (tag, weight) of a title_tags-shaped row — title_tags.csv, artwork.csv, new titles — by the
/// rules of title_tags.csv: the tag must be in the taxonomy, the weight in [kMinTagWeight, 1]. Otherwise the row
/// is rejected (file:line, reason; `unknown_tag_note` follows the unknown tag's name) and nothing
/// is returned.
std::optional<std::pair<uint32_t, float>> parse_tag_weight(const Catalog& catalog, const Record& r, size_t tag_field,
                                                          size_t weight_field, const std::string& path,
                                                          RejectLog& rejects,
                                                          const char* unknown_tag_note = "(not in tags)");

}  // namespace marquee
