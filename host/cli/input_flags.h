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
#include <string>

namespace marquee::cli {

struct InputFlags {
  InputOptions input;
  double half_life_days = 0;
  std::string as_of;
  CommonOptions common;

  /// --catalog, --events (or, with `events_or_profiles`, one of --events / --profiles),
  /// --half-life-days, --as-of, --rejects, --strict, --max-reject-rate.
  void add(CLI::App* app, bool events_or_profiles);
  /// After parsing: copies --half-life-days and --as-of into the engagement options and checks that
  /// an input was given.
  void finish(CLI::App* app);
};

/// --max-reject-rate into `common` (docs/operations.md), for subcommands without InputFlags.
void add_reject_rate_flag(CLI::App* app, CommonOptions& common);

/// The flags that set a behaviour/hybrid model's scores (`score`, and `daypart` which must fit on them).
void add_model_flags(CLI::App* app, AlsOptions& als, HybridWeights& weights);

/// "Name (id)", or the id alone for a title without a name.
std::string title_label(const Catalog& c, uint32_t t);

}  // namespace marquee::cli
