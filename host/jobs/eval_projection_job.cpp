#include "host/jobs/eval_projection_job.h"

#include "engine/clock.h"
#include "engine/error.h"
#include "host/backend/resolver.h"
#include "host/io/atomic_file.h"
#include "host/io/model_dir.h"
#include "host/io/progress.h"
#include "host/jobs/projection_common.h"
#include "host/jobs/workspace.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

namespace marquee {
namespace {

using json = nlohmann::json;

// A model compared: the projection in one space, or a baseline (same calibration, fewer features).
struct ModelSpec {
  std::string name;
  ProjectionSpace space;
  unsigned mask;
};

// One held-out title: its actual viewers, and each model's AUC and predicted audience.
struct Row {
  uint32_t title;
  size_t actual;
  std::vector<double> auc, predicted;
};

// Held-out titles: a seeded draw among tagged titles with at least --min-viewers viewers.
std::vector<uint32_t> draw_held_out_titles(const EvalProjectionOptions& o, const TitleMatrix& titles,
                                           const std::vector<uint32_t>& viewers) {
  const size_t T = viewers.size();
  std::vector<uint32_t> pool;
  for (uint32_t t = 0; t < T; ++t)
    if (viewers[t] >= o.min_viewers && titles.row_ptr()[t + 1] > titles.row_ptr()[t]) pool.push_back(t);
  MARQUEE_CHECK_INPUT(!pool.empty(), "no title has {} viewers or more (lower --min-viewers)", o.min_viewers);
  uint64_t state = o.seed;
  auto rnd = [&state] {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  for (size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rnd() % i]);
  std::vector<uint32_t> held(pool.begin(), pool.begin() + std::min(o.titles, pool.size()));
  std::sort(held.begin(), held.end());
  return held;
}

// Models compared: the projection in each space asked for, and baselines (same calibration, fewer
// features).
std::vector<ModelSpec> model_specs(const EvalProjectionOptions& o) {
  std::vector<ModelSpec> specs;
  const bool tags = o.space != "hybrid", hybrid = o.space != "tags";
  specs.push_back({"activity", ProjectionSpace::Tags, kFeatActivity});
  specs.push_back({"tag-affinity", ProjectionSpace::Tags, kFeatTags});
  if (tags) {
    specs.push_back({"projection-tags", ProjectionSpace::Tags, kFeatTags | kFeatActivity});
  }
  if (hybrid) {
    specs.push_back({"hybrid-affinity", ProjectionSpace::Hybrid, kFeatTags | kFeatBehaviour});
    specs.push_back({"projection-hybrid", ProjectionSpace::Hybrid, kFeatTags | kFeatBehaviour | kFeatActivity});
  }
  return specs;
}

// One calibration per space, on profiles without any held-out title (none of them leaks into it).
std::map<ProjectionSpace, Calibration> calibrate_spaces(const EvalProjectionOptions& o, const TitleMatrix& titles,
                                                        const UserProfiles& all, const std::vector<uint32_t>& held,
                                                        const std::vector<ModelSpec>& specs) {
  const UserProfiles without_held = remove_titles(all, titles, held);
  std::map<ProjectionSpace, Calibration> cals;
  for (ProjectionSpace sp : {ProjectionSpace::Tags, ProjectionSpace::Hybrid}) {
    std::vector<unsigned> masks;
    for (const auto& s : specs)
      if (s.space == sp) masks.push_back(s.mask);
    if (!masks.empty()) cals[sp] = calibrate(titles, without_held, sp, masks, held, o.calibration);
  }
  return cals;
}

// The raw features of every user (n x kNumFeatures) for one held-out title in space `sp`, from
// profiles without that title (for the hybrid space, a behaviour model fitted on them, or the saved
// model folding them in).
std::vector<float> title_features(const EvalProjectionOptions& o, const TitleMatrix& titles, const UserProfiles& ph,
                                  const std::vector<std::vector<float>>& vec, ProjectionSpace sp) {
  const size_t n = ph.size();
  const Model* saved = o.calibration.saved_model;
  RecommenderModel model;
  if (sp == ProjectionSpace::Hybrid && !saved)
    model = fit_recommender(titles, ph, o.calibration.als, HybridWeights{1.0f, 0.0f, 0.0f});
  const BehaviourFactors behaviour = saved ? BehaviourFactors(*saved) : BehaviourFactors(model);
  const BehaviourFactors* mp = sp == ProjectionSpace::Hybrid ? &behaviour : nullptr;
  const FeatureSpace fs = make_feature_space(sp, titles, vec, mp);
  ScorerChoice choice = choose_scorer(o.backend, fs.rows, o.scorer);
  std::vector<float> raw(n * kNumFeatures);
  constexpr size_t kBatch = 16384;
  for (size_t first = 0; first < n; first += kBatch) {
    const size_t count = std::min(kBatch, n - first);
    const UserProfiles b = slice_profiles(ph, first, count);
    const std::vector<float> scores = feature_scores(*choice.scorer, fs, b, first, mp);
    fs.features(b, scores.data(), raw.data() + first * kNumFeatures);
  }
  return raw;
}

// Holds out title h: every model's AUC at telling its viewers from the other users, and its
// predicted audience (the sum of p_watch).
Row evaluate_title(const EvalProjectionOptions& o, const Workspace& ws, const UserProfiles& all, uint32_t h,
                   size_t actual, const std::vector<ModelSpec>& specs,
                   const std::map<ProjectionSpace, Calibration>& cals) {
  const size_t n = all.size();
  const auto t_title = Clock::now();
  Row row{h, actual, std::vector<double>(specs.size(), 0.0), std::vector<double>(specs.size(), 0.0)};
  std::vector<double> p(n);
  std::vector<uint8_t> label(n);
  for (size_t u = 0; u < n; ++u)
    label[u] = std::binary_search(all.seen_begin(u), all.seen_end(u), SeenTitle{h, 0, 0, {}},
                                  [](const SeenTitle& a, const SeenTitle& b) { return a.title < b.title; });
  const UserProfiles ph = remove_titles(all, ws.titles, {h});
  const std::vector<std::vector<float>> vec{new_title_vector(ws.titles, catalog_title_as_new(ws.catalog, h))};
  for (ProjectionSpace sp : {ProjectionSpace::Tags, ProjectionSpace::Hybrid}) {
    if (!cals.count(sp)) continue;
    const std::vector<float> raw = title_features(o, ws.titles, ph, vec, sp);
    for (size_t m = 0; m < specs.size(); ++m) {
      if (specs[m].space != sp) continue;
      const CalibratedModel& cm = cals.at(sp).model(specs[m].mask);
      double sum = 0;
      for (size_t u = 0; u < n; ++u) sum += (p[u] = cm.predict_raw(raw.data() + u * kNumFeatures));
      row.auc[m] = auc_mann_whitney(p, label);
      row.predicted[m] = sum;
    }
  }
  spdlog::debug("eval-projection: {} in {:.1f} s", ws.catalog.title(h).id, seconds_since(t_title));
  return row;
}

// The per-title CSV: title_id, actual, and each model's AUC and predicted audience.
std::string rows_csv(const Catalog& catalog, const std::vector<ModelSpec>& specs, const std::vector<Row>& rows) {
  std::string csv = "title_id,actual";
  for (const auto& s : specs) csv += fmt::format(",{0}_auc,{0}_predicted", s.name);
  csv += "\n";
  for (const Row& r : rows) {
    csv += fmt::format("{},{}", csv_field(catalog.title(r.title).id), r.actual);
    for (size_t m = 0; m < specs.size(); ++m) csv += fmt::format(",{:.6f},{:.2f}", r.auc[m], r.predicted[m]);
    csv += "\n";
  }
  return csv;
}

// Summary of model m: mean AUC, audience-size error (median absolute relative error and mean
// absolute log ratio), and for the projections, titles where they beat the activity baseline.
json model_summary_json(const ModelSpec& spec, size_t m, const std::vector<Row>& rows) {
  std::vector<double> rel, logr;
  double auc = 0;
  size_t auc_n = 0, wins = 0;
  for (const Row& r : rows) {
    if (!std::isnan(r.auc[m])) {
      auc += r.auc[m];
      ++auc_n;
      wins += r.auc[m] > r.auc[0];
    }
    rel.push_back(std::fabs(r.predicted[m] - double(r.actual)) / std::max<double>(1, double(r.actual)));
    logr.push_back(std::fabs(std::log((r.predicted[m] + 1) / (double(r.actual) + 1))));
  }
  std::sort(rel.begin(), rel.end());
  const double median_rel = rel.empty() ? 0 : (rel[(rel.size() - 1) / 2] + rel[rel.size() / 2]) / 2;
  const double mean_log = logr.empty() ? 0 : std::accumulate(logr.begin(), logr.end(), 0.0) / double(logr.size());
  return {{"model", spec.name},
          {"features", feature_names(spec.mask)},
          {"space", projection_space_name(spec.space)},
          {"mean_auc", auc_n ? auc / double(auc_n) : std::nan("")},
          {"median_abs_rel_error", median_rel},
          {"mean_abs_log_ratio", mean_log},
          {"titles_beating_activity", wins}};
}

json eval_projection_json(const EvalProjectionOptions& o, const Catalog& catalog, size_t n, size_t held_out,
                          const std::map<ProjectionSpace, Calibration>& cals, const std::vector<ModelSpec>& specs,
                          const std::vector<Row>& rows, const std::string& model_version) {
  json j{{"users", n},
         {"model_version", model_version.empty() ? json(nullptr) : json(model_version)},
         {"titles", catalog.num_titles()},
         {"held_out", held_out},
         {"min_viewers", o.min_viewers},
         {"seed", o.seed},
         {"calibration_titles", o.calibration.titles},
         {"calibration_users", o.calibration.users}};
  for (const auto& [sp, cal] : cals)
    for (const auto& cm : cal.models) j["calibration"][projection_space_name(sp)].push_back(calibration_json(cal, cm));
  for (const Row& r : rows) {
    json jr{{"title_id", catalog.title(r.title).id}, {"actual", r.actual}};
    for (size_t m = 0; m < specs.size(); ++m) jr[specs[m].name] = {{"auc", r.auc[m]}, {"predicted", r.predicted[m]}};
    j["rows"].push_back(jr);
  }
  for (size_t m = 0; m < specs.size(); ++m) j["summary"].push_back(model_summary_json(specs[m], m, rows));
  return j;
}

void print_eval_projection_table(std::FILE* table_to, const EvalProjectionOptions& o, const Catalog& catalog,
                                 size_t n, const std::vector<ModelSpec>& specs, const std::vector<Row>& rows,
                                 const json& j) {
  fmt::print(table_to, "held out {} titles one at a time ({} users, {} titles, >= {} viewers each)\n", rows.size(), n,
             catalog.num_titles(), o.min_viewers);
  fmt::print(table_to, "{:<12} {:>7}", "title", "actual");
  for (const auto& s : specs) fmt::print(table_to, " {:>18}", s.name);
  fmt::print(table_to, "\n{:<12} {:>7}", "", "");
  for (size_t m = 0; m < specs.size(); ++m) fmt::print(table_to, " {:>18}", "AUC / predicted");
  fmt::print(table_to, "\n");
  for (const Row& r : rows) {
    fmt::print(table_to, "{:<12} {:>7}", catalog.title(r.title).id, r.actual);
    for (size_t m = 0; m < specs.size(); ++m)
      fmt::print(table_to, " {:>18}", fmt::format("{:.4f} / {:.0f}", r.auc[m], r.predicted[m]));
    fmt::print(table_to, "\n");
  }
  fmt::print(table_to, "\n{:<18} {:>9} {:>16} {:>16} {:>10}\n", "model", "mean AUC", "median |rel err|",
             "mean |log ratio|", "beats act.");
  for (const json& s : j["summary"])
    fmt::print(table_to, "{:<18} {:>9.4f} {:>16.3f} {:>16.3f} {:>10}\n", s["model"].get<std::string>(),
               s["mean_auc"].get<double>(), s["median_abs_rel_error"].get<double>(),
               s["mean_abs_log_ratio"].get<double>(),
               fmt::format("{}/{}", s["titles_beating_activity"].get<size_t>(), rows.size()));
}

}  // namespace

json run_eval_projection_job(const EvalProjectionOptions& o, std::FILE* table_to) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(o.titles >= 1, "--titles must be at least 1");
  MARQUEE_CHECK_ARG(o.space == "tags" || o.space == "hybrid" || o.space == "both",
                    "unknown --space '{}': expected tags, hybrid or both", o.space);
  MARQUEE_CHECK_ARG(o.model_dir.empty() || o.space != "tags",
                    "--model-dir is used by the hybrid space; drop --space tags or --model-dir");
  RejectLog rejects(o.common.rejects_path, o.common.strict, o.common.max_reject_rate);
  Workspace ws = open_catalog(o.catalog_dir, rejects, o.layout.catalog_delimiter);
  // --model-dir: loaded (and refused when it has no behaviour factors) before the events are read.
  LoadedModel loaded;
  EvalProjectionOptions opts = o;
  if (!o.model_dir.empty()) {
    loaded = load_model_dir(o.model_dir, ws.catalog, ws.titles);
    const BehaviourFactors check(*loaded.model);  // tags and ease models have no factors: refused here
    opts.calibration.saved_model = loaded.model.get();
    spdlog::info("eval-projection: the hybrid space folds users into the {} model {} (no ALS fit)",
                 model_kind_name(loaded.model->kind()), loaded.version);
  }
  const UserProfiles all =
      build_profiles_from_file(ws.catalog, ws.titles, o.events_path, o.engagement, rejects, nullptr, nullptr,
                               Backend::Cpu, 0, o.layout.events);
  rejects.finish();
  const size_t n = all.size(), T = ws.catalog.num_titles();
  MARQUEE_CHECK_INPUT(n > 0, "no users in {}", o.events_path);

  std::vector<uint32_t> viewers(T, 0);
  for (const SeenTitle& s : all.seen) ++viewers[s.title];
  const std::vector<uint32_t> held = draw_held_out_titles(opts, ws.titles, viewers);
  const std::vector<ModelSpec> specs = model_specs(opts);
  const std::map<ProjectionSpace, Calibration> cals = calibrate_spaces(opts, ws.titles, all, held, specs);
  std::vector<Row> rows;
  Progress progress("eval-projection", "titles", double(held.size()));
  for (uint32_t h : held) {
    rows.push_back(evaluate_title(opts, ws, all, h, viewers[h], specs, cals));
    progress.update(double(rows.size()));
  }
  progress.finish();

  json j = eval_projection_json(opts, ws.catalog, n, held.size(), cals, specs, rows, loaded.version);
  if (table_to) print_eval_projection_table(table_to, o, ws.catalog, n, specs, rows, j);
  if (!o.out_path.empty()) write_file_atomically(o.out_path, j.dump(2) + "\n");
  if (!o.rows_path.empty()) write_file_atomically(o.rows_path, rows_csv(ws.catalog, specs, rows));
  spdlog::info("eval-projection: {} titles in {:.1f} s", rows.size(), seconds_since(t0));
  return j;
}

}  // namespace marquee
