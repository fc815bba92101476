// Flags and helpers that several subcommands share: the input flags (--catalog, --events or
// --profiles, --half-life-days, --rejects, --strict), the model flags of score and daypart, and how a
// title is named in what a person reads.
#pragma once

#include "engine/catalog.h"
#include "engine/recommender.h"
#include "host/jobs/common.h"
#include "host/jobs/workspace.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace marquee::cli {

/// --delimiter, --columns and --catalog-delimiter: how the input files are laid out when not as
/// docs/formats.md names them. Every subcommand that reads events has them (through InputFlags, or
/// on its own).
struct LayoutFlags {
  std::string delimiter;          // of the events file: "tab", "\t", ",", "comma", ";", "|", ...; empty: by its name
  std::string columns;            // "ts=timestamp,user_id=member_id"
  std::string catalog_delimiter;  // of the catalogue's CSV files, the same way

  void add(CLI::App* app);
  /// After parsing: the layout of the inputs. Throws ArgumentError for a delimiter or mapping that
  /// cannot be used, saying what was expected.
  InputLayout finish() const;
};

/// "tab" / "\t" / a tab, "comma", "semicolon", "pipe", or one printable character -> the delimiter.
char parse_delimiter(const std::string& text, const char* flag);
/// "ts=timestamp,user_id=member_id" -> {ts: timestamp, user_id: member_id}; our names must be
/// columns of an events file (event_columns()), each mapped once, each file column used once.
std::map<std::string, std::string> parse_column_map(const std::string& spec);

struct InputFlags {
  InputOptions input;
  LayoutFlags layout;
  double half_life_days = 0;
  std::string as_of;
  CommonOptions common;

  /// --catalog, --events (or, with `events_or_profiles`, one of --events / --profiles),
  /// --half-life-days, --as-of, --rejects, --strict, --max-reject-rate, --delimiter, --columns,
  /// --catalog-delimiter.
  void add(CLI::App* app, bool events_or_profiles);
  /// After parsing: copies --half-life-days and --as-of into the engagement options and the layout
  /// into the input options, and checks that an input was given.
  void finish(CLI::App* app);
};

/// --max-reject-rate into `common` (docs/operations.md), for subcommands without InputFlags.
void add_reject_rate_flag(CLI::App* app, CommonOptions& common);

/// The flags that set a behaviour/hybrid model's scores (`score`, and `daypart` which must fit on them).
void add_model_flags(CLI::App* app, AlsOptions& als, HybridWeights& weights);

/// "Name (id)", or the id alone for a title without a name.
std::string title_label(const Catalog& c, uint32_t t);

}  // namespace marquee::cli
