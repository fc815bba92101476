#include "host/jobs/eval_recs_job.h"

#include "engine/clock.h"
#include "host/io/atomic_file.h"
#include "host/io/events_io.h"
#include "host/io/model_dir.h"
#include "host/io/progress.h"
#include "host/jobs/train_job.h"
#include "host/report/report.h"
#include "engine/model_search.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fstream>

namespace marquee {
namespace {

void print_eval_table(std::FILE* to, const EvalRecsOptions& o, const EvalReport& r) {
  fmt::print(to, "held-out next watches: last {} title(s) of {} of {} users; {} titles\n", o.eval.holdout,
             r.evaluated_users, r.users, r.titles);
  fmt::print(to, "hybrid weights: behaviour {}, tags {}, popularity {}{}\n", r.weights.behaviour,
             r.weights.tags, r.weights.popularity, o.eval.tune ? " (tuned on a validation split)" : "");
  fmt::print(to, "{:<18} {:>8} {:>8} {:>10} {:>12} {:>9}\n", "model", "HR@10", "NDCG@10", "recall@50", "coverage@10",
             "pop.lift");
  if (!r.chosen.empty()) fmt::print(to, "train's choice: {}\n", r.chosen);
  for (const auto& m : r.models)
    fmt::print(to, "{:<18} {:>8.4f} {:>8.4f} {:>10.4f} {:>12.4f} {:>9.2f}\n", m.model, m.hr10, m.ndcg10, m.recall50,
               m.coverage10, m.popularity_lift10());
}

nlohmann::json eval_report_json(const EvalRecsOptions& o, const EvalReport& r, const SampleReport& sample,
                                const nlohmann::json& skipped) {
  nlohmann::json j{{"users", r.users},
                   {"evaluated_users", r.evaluated_users},
                   {"titles", r.titles},
                   {"holdout", o.eval.holdout},
                   {"weights", {{"behaviour", r.weights.behaviour}, {"tags", r.weights.tags}, {"popularity", r.weights.popularity}}},
                   {"als", {{"factors", o.eval.als.factors}, {"iterations", o.eval.als.iterations},
                            {"regularization", o.eval.als.regularization}, {"alpha", o.eval.als.alpha}}},
                   {"train_choice", r.chosen}};
  if (sample.sampled) j["sample"] = sample.to_json();
  if (!skipped.empty()) j["skipped"] = skipped;
  for (const auto& m : r.models)
    j["models"].push_back({{"model", m.model}, {"hr10", m.hr10}, {"ndcg10", m.ndcg10}, {"recall50", m.recall50},
                           {"coverage10", m.coverage10}, {"users", m.users},
                           {"popularity10", m.popularity10}, {"history_popularity", m.history_popularity},
                           {"popularity_lift10", m.popularity_lift10()},
                           {"hr_at_k", m.hr_at}, {"ndcg_at_k", m.ndcg_at}});
  return j;
}

// The family a model folder's manifest names ("" when it cannot be read: load_model_dir says why).
std::string saved_family(const std::string& dir) {
  std::ifstream in(dir + "/manifest.json");
  const nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
  return m.is_object() ? m.value("family", "") : "";
}

// The models of engine/model.h on the same split: ease at its default lambda, `marquee train`'s
// choice (searched on a second split of the training part, then refitted on all of it), and the
// saved model's configuration.
void evaluate_model_rows(const EvalRecsOptions& o, const Workspace& ws, const LoadedEvents& loaded, bool ease,
                         EvalReport& r, nlohmann::json& skipped, Progress& progress, double& steps) {
  const HoldoutSplit split = split_last_titles(loaded.events, loaded.user_ids.size(), o.eval.holdout);
  const UserProfiles train =
      build_profiles(ws.catalog, ws.titles, split.train, loaded.user_ids, o.eval.engagement);
  auto add = [&](const std::string& name, const Model& m) {
    r.models.push_back(evaluate_fitted(name, m, train, split.heldout));
    progress.update(++steps, name);
  };
  if (ease) {
    auto ease = make_model(ModelKind::Ease);
    ease->fit(ws.titles, train);
    add("ease", *ease);
  }
  if (o.time_budget_s > 0) {
    TrainOptions t;
    t.time_budget_s = o.time_budget_s;
    t.holdout = o.eval.holdout;
    t.memory_budget = o.memory_budget;
    const HoldoutSplit inner = split_last_titles(split.train, loaded.user_ids.size(), o.eval.holdout);
    const UserProfiles inner_train =
        build_profiles(ws.catalog, ws.titles, inner.train, loaded.user_ids, o.eval.engagement);
    spdlog::info("eval-recs: `marquee train`'s search on the training part ({:.0f} s budget)", o.time_budget_s);
    TrainedModel trained = train_model(ws.titles, inner_train, inner.heldout, train, t, nullptr);
    add("train(" + std::string(model_kind_name(trained.model->kind())) + ")", *trained.model);
    r.chosen = trained.search.trials[trained.search.best].label;
  }
  // A saved EASE model is titles x titles too: not even loaded when it does not fit.
  const bool saved_ease = !o.model_dir.empty() && saved_family(o.model_dir) == "ease";
  if (saved_ease && !ease_fits(ws.titles.num_titles(), o.memory_budget)) {
    skipped["model-dir"] = skipped.value("ease", "its titles x titles matrices exceed half of --memory-budget");
    spdlog::warn("eval-recs: no model-dir(ease) row: {}", skipped["model-dir"].get<std::string>());
  } else if (!o.model_dir.empty()) {
    const LoadedModel saved = load_model_dir(o.model_dir, ws.catalog, ws.titles);
    auto refit = make_model(saved.model->kind(), saved.model->params());
    refit->fit(ws.titles, train);
    add("model-dir(" + std::string(model_kind_name(refit->kind())) + ")", *refit);
  }
}

}  // namespace

MemoryCosts eval_recs_costs(const EvalRecsOptions& o, size_t titles, size_t dim, bool ease, bool cowatch) {
  // Measured on generated data (docs/benchmarks.md, "train and eval-recs within a budget") and
  // rounded up: the events stay read throughout while the test split, the tuning split and the train
  // row's inner split each copy and sort them; a user holds up to four tag profiles, ALS factors,
  // the hybrid's ranking vector (factors + tags + 1) and, with co-watch, a row of the liked matrix;
  // fixed: the catalogue, the models' title sides, the tuning's score matrices, EASE's and co-watch's
  // titles x titles matrices.
  const double n = double(titles), d = double(dim), f = double(std::max<size_t>(o.eval.als.factors, 256));
  MemoryCosts c;
  c.per_event = 200;
  c.per_user = 4 * d * 4 + 4 * (f + d + 1) + 8 * f + 1200 + (cowatch ? 4 * n : 0);
  c.fixed = 64e6 + 4 * n * d * 2 + 4 * n * (f + d + 1) * 2 + 8 * double(o.eval.tune_users) * n;
  if (ease) c.fixed += ease_bytes(titles) + 4 * n * 3000;
  if (cowatch) c.fixed += ease_bytes(titles);
  return c;
}

EvalReport run_eval_recs_job(const EvalRecsOptions& o, std::FILE* table_to) {
  const auto t0 = Clock::now();
  if (!o.report_path.empty()) report_js_files();  // fail now, not after the work, when Vega is missing
  RejectLog rejects(o.common.rejects_path, o.common.strict, o.common.max_reject_rate);
  Workspace ws = open_catalog(o.catalog_dir, rejects, o.layout.catalog_delimiter);
  const size_t titles = ws.titles.num_titles();
  // Rows whose titles x titles matrices do not fit half the budget are left out, and said so.
  EvalOptions eval = o.eval;
  nlohmann::json skipped = nlohmann::json::object();
  const bool ease = titles <= 25000 && ease_fits(titles, o.memory_budget);
  const std::string too_big = fmt::format("its {0} x {0} matrices need ~{1:.0f} MB, more than half of --memory-budget "
                                          "{2:.0f} MB", titles, ease_bytes(titles) / 1e6, o.memory_budget / 1e6);
  if (titles <= 25000 && !ease) skipped["ease"] = too_big;
  if (titles <= eval.max_cowatch_titles && !ease_fits(titles, o.memory_budget)) {
    eval.max_cowatch_titles = 0;
    skipped["cowatch"] = too_big;
  }
  for (const auto& [row, why] : skipped.items()) spdlog::warn("eval-recs: no {} row: {}", row, why.get<std::string>());
  const bool cowatch = titles <= eval.max_cowatch_titles;
  SamplePlan plan;
  plan.memory_budget = o.memory_budget;
  plan.sample_users = o.sample_users;
  plan.costs = eval_recs_costs(o, titles, ws.titles.dim(), ease, cowatch);
  LoadedEvents loaded;
  SampleReport sample;
  if (events_fit(o.events_path, plan)) {
    loaded = load_events(o.events_path, ws.catalog, rejects, 0, o.layout.events);
  } else {
    SampledEvents s = load_sampled_events(o.events_path, ws.catalog, rejects, 0, o.layout.events, plan);
    loaded = std::move(s.loaded);
    sample = s.report;
  }
  rejects.finish();
  if (sample.sampled)
    spdlog::warn("eval-recs: evaluating on {}: the figures are those of these users (models fitted on them too)",
                 sample.describe());
  // Progress by steps: each model's fit and ranking (the train search row takes its --time-budget).
  const size_t total = evaluation_steps(eval, titles) + (ease ? 1 : 0) + (o.time_budget_s > 0 ? 1 : 0) +
                       (o.model_dir.empty() ? 0 : 1);
  Progress progress("eval-recs", "steps", double(total));
  double steps = 0;
  eval.on_step = [&](const std::string& step) { progress.update(++steps, step); };
  EvalReport r = evaluate_recommenders(ws.catalog, ws.titles, loaded.events, loaded.user_ids.size(), eval);
  evaluate_model_rows(o, ws, loaded, ease, r, skipped, progress, steps);
  progress.finish();
  if (table_to) {
    if (sample.sampled) fmt::print(table_to, "SAMPLED: {}\n", sample.describe());
    print_eval_table(table_to, o, r);
  }
  const nlohmann::json result = eval_report_json(o, r, sample, skipped);
  if (!o.out_path.empty()) write_file_atomically(o.out_path, result.dump(2) + "\n");
  if (!o.report_path.empty()) write_eval_report(o.report_path, result);
  spdlog::info("eval-recs: {:.1f} s; {}", seconds_since(t0), rejects.summary());
  return r;
}

}  // namespace marquee
