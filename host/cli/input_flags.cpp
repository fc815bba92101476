#include "host/cli/input_flags.h"

#include "engine/error.h"

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
  app->add_option("--half-life-days", half_life_days, "recency half-life of engagement weights in days (0 = off)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--rejects", common.rejects_path, "rejects file (default: <out>.rejects.csv)");
  app->add_flag("--strict", common.strict, "fail on the first bad input row instead of rejecting it");
}

void InputFlags::finish(CLI::App* app) {
  input.engagement.half_life_days = half_life_days;
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
