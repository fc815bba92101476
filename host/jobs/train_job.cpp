#include "host/jobs/train_job.h"

#include "engine/clock.h"
#include "engine/error.h"
#include "engine/evaluation.h"
#include "host/backend/resolver.h"
#include "host/io/events_io.h"
#include "host/io/model_dir.h"
#include "host/io/timestamp.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace marquee {
namespace {

using json = nlohmann::json;


json metrics_json(const RankingMetrics& m) {
  return {{"hr10", m.hr10}, {"ndcg10", m.ndcg10}, {"recall50", m.recall50}, {"coverage10", m.coverage10},
          {"users", m.users}};
}

void print_table(std::FILE* to, const SearchResult& r) {
  if (!to) return;
  fmt::print(to, "validation on {} users' held-out titles (NDCG@10 picks the model):\n", r.validation_users);
  fmt::print(to, "  {:<62} {:>8} {:>8} {:>9} {:>8}\n", "model", "NDCG@10", "HR@10", "recall@50", "seconds");
  fmt::print(to, "  {:<62} {:>8.4f} {:>8.4f} {:>9.4f} {:>8}\n", "popularity (reference)", r.popularity.ndcg10,
             r.popularity.hr10, r.popularity.recall50, "-");
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const SearchTrial& t = r.trials[i];
    fmt::print(to, "{} {:<62} {:>8.4f} {:>8.4f} {:>9.4f} {:>8.1f}\n", i == r.best ? "*" : " ", t.label,
               t.metrics.ndcg10, t.metrics.hr10, t.metrics.recall50, t.seconds);
  }
  if (r.budget_exhausted) fmt::print(to, "  (the time budget ended the search; --time-budget S searches longer)\n");
}

}  // namespace

std::vector<ModelKind> parse_model_families(const std::string& text) {
  if (text == "auto") return {};
  return {parse_model_kind(text)};
}

double ease_bytes(size_t titles) {
  // Measured (docs/benchmarks.md): the weights and their normalised copy are TitleMatrix objects of
  // 12 bytes a pair (dense and sparse), and the scorer ranking with them keeps a third.
  return 36.0 * double(titles) * double(titles);
}

bool ease_fits(size_t titles, size_t memory_budget) {
  return memory_budget == 0 || ease_bytes(titles) <= double(memory_budget) / 2;
}

MemoryCosts training_costs(const TitleMatrix& tags, const TrainOptions& o, bool ease) {
  // Measured on generated data (docs/benchmarks.md, "train and eval-recs within a budget") and
  // rounded up: the events read, then copied by the split and sorted by the profile build (32 bytes
  // each, twice at once), and the interactions; a user's training profile (a tag vector), the full
  // profile without one, ALS factors (up to 256 while searching); the catalogue and the title side
  // of the models (tags, ALS, hybrid: dense and sparse copies).
  const double n = double(tags.num_titles()), d = double(tags.dim());
  MemoryCosts c;
  c.per_event = 80;
  c.per_user = 4 * d + 4 * 256 + 600;
  c.fixed = 64e6 + 4 * n * d * 2 + 4 * n * (256 + d + 1) * 2;
  if (ease) c.fixed += ease_bytes(tags.num_titles()) + 4 * n * double(o.max_validation_users);
  return c;
}

TrainedModel train_model(const TitleMatrix& tags, const UserProfiles& train,
                         const std::vector<std::vector<uint32_t>>& heldout, const UserProfiles& all,
                         const TrainOptions& o, std::FILE* table_to) {
  const auto t0 = Clock::now();
  SearchOptions so;
  so.families = o.families;
  so.time_budget_s = o.time_budget_s;
  so.max_validation_users = o.max_validation_users;
  so.base = o.base;
  const size_t titles = tags.num_titles();
  const bool ease_wanted = o.families.empty() || o.families == std::vector<ModelKind>{ModelKind::Ease};
  if (ease_wanted && titles <= so.max_ease_titles && !ease_fits(titles, o.memory_budget)) {
    MARQUEE_CHECK_ARG(o.families.empty(),
                      "--model ease needs {} x {} matrices (~{:.0f} MB while fitting and ranking), more than half of "
                      "--memory-budget {:.0f} MB: raise the budget or choose another family",
                      titles, titles, ease_bytes(titles) / 1e6, o.memory_budget / 1e6);
    so.max_ease_titles = 0;
    spdlog::warn("train: ease left out of the search: its {} x {} matrices (~{:.0f} MB) take more than half of "
                 "--memory-budget {:.0f} MB",
                 titles, titles, ease_bytes(titles) / 1e6, o.memory_budget / 1e6);
  }
  so.backend = choose_fit_backend(o.backend, o.device);
  if (!o.quiet)
    so.on_trial = [](const SearchTrial& t, double elapsed, double budget) {
      spdlog::info("train: {} -> NDCG@10 {:.4f} HR@10 {:.4f} ({:.1f} s; {:.0f} of {:.0f} s budget)", t.label,
                   t.metrics.ndcg10, t.metrics.hr10, t.seconds, elapsed, budget);
    };
  TrainedModel out;
  out.search = search_models(tags, train, heldout, so);
  if (!o.quiet) print_table(table_to, out.search);
  const SearchTrial& best = out.search.trials[out.search.best];
  spdlog::info("train: best on validation: {} (NDCG@10 {:.4f}, popularity {:.4f}); refitting on all {} users",
               best.label, best.metrics.ndcg10, out.search.popularity.ndcg10, all.size());
  const auto t_fit = Clock::now();
  out.model = make_model(best.kind, best.params);
  out.model->fit(tags, all, so.backend);
  json table = json::array();
  for (const SearchTrial& t : out.search.trials)
    table.push_back({{"model", t.label},
                     {"family", model_kind_name(t.kind)},
                     {"params", model_params_json(t.params)},
                     {"metrics", metrics_json(t.metrics)},
                     {"seconds", t.seconds}});
  out.record["validation"] = {{"metric", "ndcg10"},
                              {"users", out.search.validation_users},
                              {"holdout", o.holdout},
                              {"chosen", best.label},
                              {"chosen_metrics", metrics_json(best.metrics)},
                              {"popularity", metrics_json(out.search.popularity)},
                              {"budget_s", o.time_budget_s},
                              {"budget_exhausted", out.search.budget_exhausted},
                              {"trials", table}};
  if (so.max_ease_titles == 0)
    out.record["validation"]["skipped"] = {
        {"ease", fmt::format("its {0} x {0} matrices need ~{1:.0f} MB, more than half of --memory-budget {2:.0f} MB",
                             titles, ease_bytes(titles) / 1e6, o.memory_budget / 1e6)}};
  spdlog::info("train: refit in {:.1f} s; {:.1f} s in all", seconds_since(t_fit), seconds_since(t0));
  return out;
}

TrainingData prepare_training_data(const Workspace& ws, const InputOptions& input, const TrainOptions& o,
                                   RejectLog& rejects) {
  TrainingData d;
  SamplePlan plan;
  plan.memory_budget = o.memory_budget;
  plan.sample_users = o.sample_users;
  const bool ease = (o.families.empty() || o.families == std::vector<ModelKind>{ModelKind::Ease}) &&
                    ws.titles.num_titles() <= 25000 && ease_fits(ws.titles.num_titles(), o.memory_budget);
  plan.costs = training_costs(ws.titles, o, ease);
  if (!input.events_path.empty()) {
    LoadedEvents loaded;
    if (events_fit(input.events_path, plan)) {
      loaded = load_events(input.events_path, ws.catalog, rejects, input.engagement.as_of, input.layout.events);
      d.sample.users = d.sample.users_total = loaded.user_ids.size();
      d.sample.events = loaded.events.size();
    } else {
      SampledEvents s = load_sampled_events(input.events_path, ws.catalog, rejects, input.engagement.as_of,
                                            input.layout.events, plan);
      loaded = std::move(s.loaded);
      d.sample = s.report;
    }
    const size_t users = loaded.user_ids.size();
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (const Event& e : loaded.events) first = std::min(first, e.ts), last = std::max(last, e.ts);
    HoldoutSplit split = split_last_titles(loaded.events, users, o.holdout);
    d.heldout = std::move(split.heldout);
    d.train = build_profiles(ws.catalog, ws.titles, std::move(split.train), loaded.user_ids, input.engagement);
    d.info = {{"input", input.events_path},
              {"split", "each user's last titles by time"},
              {"event_rows", loaded.rows},
              {"events", loaded.events.size()},
              {"users", users},
              {"first_event", loaded.events.empty() ? "" : format_utc(first)},
              {"cutoff", loaded.events.empty() ? "" : format_utc(last)},
              {"half_life_days", input.engagement.half_life_days}};
    // The refit needs each user's interactions only: no tag vectors unless asked (engine/profiles.h).
    d.all = build_profiles(ws.catalog, ws.titles, std::move(loaded.events), std::move(loaded.user_ids),
                           input.engagement, nullptr, o.keep_profile_vectors ? ProfileVectors::Tags : ProfileVectors::None);
  } else {
    MARQUEE_CHECK_ARG(ws.profiles, "train needs --events FILE or --profiles FILE");
    d.all = read_sampled_profiles(*ws.profiles, ws.profiles->seen_total(), plan, d.sample);
    ProfileSplit split = split_profiles(d.all, ws.titles, o.holdout, o.seed);
    d.train = std::move(split.train);
    d.heldout = std::move(split.heldout);
    d.info = {{"input", input.profiles_path},
              {"split", "hashed titles of each user's profile"},
              {"users", d.all.size()},
              {"seen_titles", d.all.seen.size()}};
  }
  if (d.sample.sampled) {
    d.info["sample"] = d.sample.to_json();
    spdlog::warn("train: fitting on {}: the model's title side is learnt from these users only; every user is "
                 "still scored (folded in) by it",
                 d.sample.describe());
  }
  return d;
}

json run_train_job(const TrainJobOptions& o, std::FILE* table_to) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(!o.out_dir.empty(), "train needs --out MODEL_DIR");
  MARQUEE_CHECK_ARG(o.train.time_budget_s > 0 && o.train.time_budget_s < 1e7,
                    "--time-budget must be between 0 and 10^7 seconds; got {}", o.train.time_budget_s);
  InputOptions input = o.input;
  TrainOptions train = o.train;
  train.memory_budget = input.memory_budget;
  RejectLog rejects = job_rejects(o.common, o.out_dir);
  Workspace ws = input.events_path.empty() ? open_workspace(input, rejects)
                                             : open_catalog(input.catalog_dir, rejects, input.layout.catalog_delimiter);
  const size_t titles = ws.titles.num_titles();
  MARQUEE_CHECK_ARG(train.families != std::vector<ModelKind>{ModelKind::Ease} || ease_fits(titles, train.memory_budget),
                    "--model ease needs {} x {} matrices (~{:.0f} MB while fitting and ranking), more than half of "
                    "--memory-budget {:.0f} MB: raise the budget or choose another family",
                    titles, titles, ease_bytes(titles) / 1e6, train.memory_budget / 1e6);
  TrainingData data = prepare_training_data(ws, input, train, rejects);
  rejects.finish();
  TrainedModel trained = train_model(ws.titles, data.train, data.heldout, data.all, train, table_to);
  ModelRecord record;
  record.extra = trained.record;
  record.extra["training"] = data.info;
  record.extra["training"]["seconds"] = seconds_since(t0);
  const json manifest = save_model_dir(o.out_dir, *trained.model, ws.catalog, record);
  spdlog::info("train: wrote {} ({}, version {}) in {:.1f} s", o.out_dir, manifest["family"].get<std::string>(),
               manifest["version"].get<std::string>(), seconds_since(t0));
  return manifest;
}

}  // namespace marquee
