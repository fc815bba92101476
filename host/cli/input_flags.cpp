#include "host/cli/input_flags.h"

#include "engine/error.h"
#include "host/io/timestamp.h"

namespace marquee::cli {

void InputFlags::add(CLI::App* app, bool events_or_profiles) {
  app->add_option("--catalog", input.catalog_dir, "catalogue directory (tags, titles, title_tags)")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* ev = app->add_option("--events", input.events_path, "playback events (.csv or .jsonl)")
                 ->check(CLI::ExistingFile);
  if (events_or_profiles) {
    auto* pr = app->add_option("--profiles", input.profiles_path, "profiles file written by `marquee profile`")
                   ->check(CLI::ExistingFile);
    ev->excludes(pr);
    pr->excludes(ev);
  } else {
    ev->required();
  }
  // Its range (finite, 0 .. 36500) is checked with every subcommand's numbers, in host/cli/guards.cpp.
  app->add_option("--half-life-days", half_life_days, "recency half-life of engagement weights in days (0 = off)");
  app->add_option("--as-of", as_of,
                  "reference time (epoch seconds or ISO-8601): events later than it plus a day are rejected, and "
                  "recency decays from it (default: the clock now; recency from the latest event)");
  app->add_option("--rejects", common.rejects_path, "rejects file (default: <out>.rejects.csv)");
  app->add_flag("--strict", common.strict, "fail on the first bad input row instead of rejecting it");
  add_reject_rate_flag(app, common);
}

void add_reject_rate_flag(CLI::App* app, CommonOptions& common) {
  app->add_option("--max-reject-rate", common.max_reject_rate,
                  "fail when more than this share of a file's rows is rejected (0..1; 1 = no limit)")
      ->capture_default_str();
}

void InputFlags::finish(CLI::App* app) {
  input.engagement.half_life_days = half_life_days;
  if (!as_of.empty()) {
    Timestamp t;
    MARQUEE_CHECK_ARG(parse_timestamp(as_of, t) && t.epoch > 0,
                      "--as-of '{}' is not a time (epoch seconds or ISO-8601, 1970..2199)", as_of);
    input.engagement.as_of = t.epoch;
  }
  if (input.events_path.empty() && input.profiles_path.empty() && app->get_option_no_throw("--profiles"))
    MARQUEE_THROW_AS(ArgumentError, "give --events FILE or --profiles FILE");
}

void add_model_flags(CLI::App* app, AlsOptions& als, HybridWeights& weights) {
  app->add_option("--factors", als.factors, "ALS factors (behaviour, hybrid)")->capture_default_str();
  app->add_option("--iterations", als.iterations, "ALS iterations")->capture_default_str();
  app->add_option("--regularization", als.regularization, "ALS regularization")->capture_default_str();
  app->add_option("--alpha", als.alpha, "ALS confidence scaling")->capture_default_str();
  app->add_option("--hybrid-tags", weights.tags, "hybrid: weight of the tag cosine")->capture_default_str();
  app->add_option("--hybrid-popularity", weights.popularity, "hybrid: weight of popularity")->capture_default_str();
}

std::string title_label(const Catalog& c, uint32_t t) {
  const Title& title = c.title(t);
  return title.name.empty() ? title.id : title.name + " (" + title.id + ")";
}

}  // namespace marquee::cli
