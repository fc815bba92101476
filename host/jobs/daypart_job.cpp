#include "host/jobs/daypart_job.h"

#include "engine/error.h"
#include "host/io/events_io.h"
#include "host/io/model_dir.h"
#include "host/io/progress.h"
#include "host/jobs/workspace.h"
#include "host/backend/resolver.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

namespace marquee {
namespace {

double pct(size_t hits, size_t users) { return users ? 100.0 * double(hits) / double(users) : 0.0; }

// The report: the weight grid on the fit half, then per hour (held-out users and hits without /
// with the term) on the report half.
void print_daypart_report(std::FILE* table_to, const DaypartJobOptions& o, const DaypartFitReport& rep,
                          const std::string& backend) {
  fmt::print(table_to, "daypart term for the {} model, fitted on held-out last titles ({} users fit, {} report; {})\n",
             model_kind_name(o.model), rep.fit_users, rep.test_users, backend);
  fmt::print(table_to, "{:>10} {:>8} {:>8}\n", "weight", "HR@" + std::to_string(o.fit.k), "z");
  for (const auto& g : rep.grid)
    fmt::print(table_to, "{:>10.4g} {:>7.2f}% {:>8.2f}{}\n", g.weight, pct(g.hits, rep.fit_users), g.z,
               g.weight == rep.weight ? "  <- chosen" : "");
  if (rep.weight == 0)
    fmt::print(table_to, "weight 0: no weight improves on the fit half significantly (largest z {:.2f} < {:.1f}); "
                         "rankings do not depend on the hour\n", rep.best_z, o.fit.min_z);
  fmt::print(table_to, "\nreport half, HR@{} by the hour the held-out title was started:\n", o.fit.k);
  fmt::print(table_to, "{:>5} {:>7} {:>9} {:>9}\n", "hour", "users", "without", "with");
  for (size_t h = 0; h < 24; ++h)
    if (rep.test_users_by_hour[h] > 0)
      fmt::print(table_to, "{:>5} {:>7} {:>8.2f}% {:>8.2f}%\n", fmt::format("{:02d}", h), rep.test_users_by_hour[h],
                 pct(rep.test_hits_without_by_hour[h], rep.test_users_by_hour[h]),
                 pct(rep.test_hits_with_by_hour[h], rep.test_users_by_hour[h]));
  fmt::print(table_to, "{:>5} {:>7} {:>8.2f}% {:>8.2f}%   (McNemar z {:.2f})\n", "all", rep.test_users,
             pct(rep.test_hits_without, rep.test_users), pct(rep.test_hits_with, rep.test_users), rep.test_z);
}

}  // namespace

void check_daypart_fits(const DaypartModel& m, const std::string& path, ModelKind kind, const AlsOptions& als,
                        const HybridWeights& weights, double half_life_days) {
  std::vector<std::string> diff;
  if (m.model != kind)
    diff.push_back(fmt::format("--model {} (this run: {})", model_kind_name(m.model), model_kind_name(kind)));
  if (m.half_life_days != half_life_days)
    diff.push_back(fmt::format("--half-life-days {} (this run: {})", m.half_life_days, half_life_days));
  if (m.model == kind && kind != ModelKind::Tags) {
    if (m.als.factors != als.factors) diff.push_back(fmt::format("--factors {} (this run: {})", m.als.factors, als.factors));
    if (m.als.iterations != als.iterations)
      diff.push_back(fmt::format("--iterations {} (this run: {})", m.als.iterations, als.iterations));
    if (m.als.regularization != als.regularization)
      diff.push_back(fmt::format("--regularization {} (this run: {})", m.als.regularization, als.regularization));
    if (m.als.alpha != als.alpha) diff.push_back(fmt::format("--alpha {} (this run: {})", m.als.alpha, als.alpha));
  }
  if (m.model == kind && kind == ModelKind::Hybrid) {
    if (m.weights.tags != weights.tags)
      diff.push_back(fmt::format("--hybrid-tags {} (this run: {})", m.weights.tags, weights.tags));
    if (m.weights.popularity != weights.popularity)
      diff.push_back(fmt::format("--hybrid-popularity {} (this run: {})", m.weights.popularity, weights.popularity));
  }
  MARQUEE_CHECK_ARG(diff.empty(),
                    "{} was fitted for other scores: {}. Its weight is in that model's score units; fit one with "
                    "`marquee daypart` and this run's flags",
                    path, fmt::join(diff, ", "));
}

DaypartFitReport run_daypart_job(const DaypartJobOptions& options, std::FILE* table_to) {
  DaypartJobOptions o = options;
  const auto t0 = std::chrono::steady_clock::now();
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "--out is required");
  RejectLog rejects = job_rejects(o.common, o.out_path);
  Workspace ws = open_catalog(o.catalog_dir, rejects, o.layout.catalog_delimiter);
  LoadedEvents loaded = load_events(o.events_path, ws.catalog, rejects, o.engagement.as_of, o.layout.events);
  rejects.finish();
  MARQUEE_CHECK_INPUT(!loaded.events.empty(), "no events in {}", o.events_path);

  // --model-dir: the saved model's scores, its users folded in from the training events (no ALS fit
  // here). It was trained on every event, the held-out ones included, as the model served is.
  std::unique_ptr<Model> saved;
  if (!o.model_dir.empty()) {
    LoadedModel loaded_model = load_model_dir(o.model_dir, ws.catalog, ws.titles);
    saved = std::move(loaded_model.model);
    o.model = saved->kind();
    o.als = saved->params().als;
    o.weights = saved->params().weights;
    spdlog::info("daypart: re-ranking the {} model {} from {}", model_kind_name(o.model), loaded_model.version,
                 o.model_dir);
  }

  std::string backend;
  const DaypartBaseBuilder base = [&](const std::vector<Event>& train) {
    const UserProfiles p = build_profiles(ws.catalog, ws.titles, train, loaded.user_ids, o.engagement);
    DaypartBaseModel b;
    b.seen = Exclusions::from_profiles(p, ExcludePolicy::Watched);
    if (saved) {
      b.scorer = choose_scorer(o.backend, saved->titles(), o.scorer).scorer;
      b.user_vectors = saved->user_vectors(p);
    } else if (o.model == ModelKind::Tags) {
      b.scorer = choose_scorer(o.backend, ws.titles, o.scorer).scorer;
      b.user_vectors = p.vectors;
    } else {
      const RecommenderModel rm = fit_recommender(ws.titles, p, o.als, o.weights, choose_als_trainer(o.backend));
      b.scorer = choose_scorer(o.backend, model_titles(o.model, ws.titles, rm), o.scorer).scorer;
      b.user_vectors = model_users(o.model, p, 0, rm);
    }
    backend = b.scorer->describe();
    return b;
  };
  DaypartFitReport rep;
  // Progress over the held-out users ranked (after the base model's fit, logged by its own lines).
  std::unique_ptr<Progress> progress;
  o.fit.on_users = [&](size_t done, size_t total) {
    if (!progress) progress = std::make_unique<Progress>("daypart: ranking held-out users", "users", double(total));
    progress->update(double(done));
  };
  DaypartModel m =
      fit_daypart(loaded.events, loaded.user_ids.size(), ws.catalog.num_titles(), o.model, base, o.fit, &rep);
  if (progress) progress->finish();
  m.als = o.als;
  m.weights = o.weights;
  m.half_life_days = o.engagement.half_life_days;
  write_daypart_model(o.out_path, m, ws.catalog, &rep);

  if (table_to) print_daypart_report(table_to, o, rep, backend);
  spdlog::info("daypart: weight {:.4g} written to {} in {:.1f} s", m.weight, o.out_path,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return rep;
}

}  // namespace marquee
