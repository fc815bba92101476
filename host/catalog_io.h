// Loads a catalogue directory: tags, titles and title_tags, each as .csv or .jsonl (docs/formats.md).
#pragma once

#include "engine/catalog.h"
#include "host/rejects.h"

#include <string>

namespace marquee {

/// Finds DIR/NAME.csv, DIR/NAME.jsonl or DIR/NAME.ndjson; throws InputError naming what was looked for.
std::string find_table(const std::string& dir, const std::string& name);

/// Loads the three catalogue files. Bad rows go to `rejects`; a catalogue with no titles or no tags
/// is an InputError.
Catalog load_catalog(const std::string& dir, RejectLog& rejects);

}  // namespace marquee
