#include "host/jobs/jobs.h"

#include "host/backend/resolver.h"
#include "engine/clock.h"

#include "engine/error.h"
#include "engine/explain.h"
#include "host/io/artwork_io.h"
#include "host/jobs/daypart_job.h"
#include "host/io/atomic_file.h"
#include "host/io/events_io.h"
#include "host/io/profile_io.h"

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <chrono>

namespace marquee {
namespace {

int peak_hour(const UserSummary& s) {
  return int(std::max_element(s.daypart.begin(), s.daypart.end()) - s.daypart.begin());
}

}  // namespace

ProfileJobSummary run_profile_job(const ProfileJobOptions& o) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(!o.input.events_path.empty(), "profile needs --events FILE");
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "profile needs --out FILE");
  RejectLog rejects(rejects_path_for(o.common, o.out_path), o.common.strict);
  Workspace ws = open_catalog(o.input.catalog_dir, rejects);
  ProfileJobSummary s;
  ProfileBuildStats stats;
  const UserProfiles p = build_profiles_from_file(ws.catalog, ws.titles, o.input.events_path, o.input.engagement,
                                                  rejects, &s.event_rows, &stats, o.input.profile_backend);
  write_profiles(o.out_path, p, ws.catalog.num_titles(), ws.catalog.fingerprint());
  rejects.finish();
  s.users = p.size();
  s.unusable_users = stats.unusable_users;
  s.rejected = rejects.count();
  s.seconds = seconds_since(t0);
  spdlog::info("profile: {} users ({} without usable signal) from {} event rows in {:.1f} s -> {}", s.users,
               s.unusable_users, s.event_rows, s.seconds, o.out_path);
  spdlog::info("{}", rejects.summary());
  return s;
}

void print_recommendations(std::FILE* to, const Workspace& ws, const UserProfiles& batch, size_t u,
                           const uint32_t* titles, const float* scores, size_t count) {
  const UserSummary& sum = batch.summaries[u];
  fmt::print(to, "{}: {} titles watched, {} completed, most often starts watching at {:02d}:00\n", batch.user_ids[u],
             sum.titles, sum.completed, peak_hour(sum));
  for (size_t r = 0; r < count; ++r) {
    const Title& t = ws.catalog.title(titles[r]);
    fmt::print(to, "  {:2d}. {} ({})  score {:.4f}\n", r + 1, t.name.empty() ? t.id : t.name, t.id, scores[r]);
    const Explanation ex =
        explain(ws.titles, batch.vector(u), batch.seen_begin(u), batch.seen_end(u), titles[r], 3, 2);
    std::string tags, because;
    for (const auto& c : ex.tags) tags += fmt::format("{}{} (+{:.3f})", tags.empty() ? "" : ", ", ws.catalog.tag(c.tag).name, c.contribution);
    for (const auto& b : ex.because) {
      const Title& w = ws.catalog.title(b.title);
      because += fmt::format("{}{} ({:.2f})", because.empty() ? "" : ", ", w.name.empty() ? w.id : w.name, b.similarity);
    }
    if (!tags.empty()) fmt::print(to, "      tags: {}\n", tags);
    if (!because.empty()) fmt::print(to, "      because you watched: {}\n", because);
  }
}

std::string rejects_path_for(const CommonOptions& c, const std::string& out_path) {
  return c.rejects_path.empty() ? out_path + ".rejects.csv" : c.rejects_path;
}

ScoreJobSummary run_score_job(const ScoreJobOptions& o, std::FILE* show_to) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "score needs --out FILE");
  MARQUEE_CHECK_ARG(o.batch >= 1 && o.batch <= kMaxBatchUsers, "--batch must be between 1 and {}; got {}",
                    kMaxBatchUsers, o.batch);
  MARQUEE_CHECK_ARG(o.k >= 1, "--top must be at least 1; got {}", o.k);
  const ResultFormat format = parse_result_format(o.format, o.out_path);
  MARQUEE_CHECK_ARG(o.hour < 0 || !o.daypart_path.empty(),
                    "--hour needs a daypart model: fit one with `marquee daypart --catalog C --events E --out "
                    "daypart.json --model {}` and pass --daypart daypart.json", model_kind_name(o.model));
  MARQUEE_CHECK_ARG(o.daypart_path.empty() || o.hour >= 0, "--daypart needs --hour H (0..23)");
  MARQUEE_CHECK_ARG(o.hour <= 23, "--hour {} is not an hour of day (0..23)", o.hour);

  RejectLog rejects(rejects_path_for(o.common, o.out_path), o.common.strict);
  Workspace ws = open_workspace(o.input, rejects);
  const size_t n_titles = ws.catalog.num_titles();
  MARQUEE_CHECK_ARG(o.k <= n_titles, "--top {} is larger than the catalogue ({} titles)", o.k, n_titles);
  // Artwork variants live in the tag space whatever --model ranks by: the choice uses the user's
  // tag-space profile vector (docs/artwork.md).
  std::unique_ptr<Artwork> artwork;
  if (!o.artwork_path.empty())
    artwork = std::make_unique<Artwork>(load_artwork(o.artwork_path, ws.catalog, ws.titles, rejects));
  // Time of day: the fitted term of every title at --hour, added to the model's score (docs/quality.md).
  std::optional<DaypartModel> daypart;
  if (o.hour >= 0) {
    daypart = load_daypart_model(o.daypart_path, ws.catalog);
    check_daypart_fits(*daypart, o.daypart_path, o.model, o.als, o.weights, o.input.engagement.half_life_days);
    spdlog::info("daypart: ranking for {:02d}:00 with weight {:.4g}{}", o.hour, daypart->weight,
                 daypart->weight == 0 ? " (the fit found no effect of the hour: rankings unchanged)" : "");
  }

  // Behaviour and hybrid models learn from every user's history first (ALS), then score as any
  // inner product does.
  RecommenderModel model;
  TitleMatrix model_matrix;
  if (o.model != ModelKind::Tags) {
    const auto t_fit = Clock::now();
    const UserProfiles all = ws.profiles->read(0, ws.profiles->users());
    MARQUEE_CHECK_INPUT(!all.seen.empty(), "--model {}: nobody watched anything, there is no behaviour to learn from",
                        model_kind_name(o.model));
    model = fit_recommender(ws.titles, all, o.als, o.weights, choose_als_trainer(o.backend));
    model_matrix = model_titles(o.model, ws.titles, model);
    spdlog::info("{} model: {} factors, {} ALS iterations in {:.1f} s (weights: behaviour {}, tags {}, popularity {})",
                 model_kind_name(o.model), o.als.factors, o.als.iterations, seconds_since(t_fit),
                 o.weights.behaviour, o.weights.tags, o.weights.popularity);
  }
  // --hour: the model's titles plus one column holding each title's term at that hour (exact, one search).
  TitleMatrix daypart_matrix;
  if (daypart)
    daypart_matrix = with_daypart_columns(o.model == ModelKind::Tags ? ws.titles : model_matrix, *daypart, {o.hour});
  const TitleMatrix& scoring_titles =
      daypart ? daypart_matrix : o.model == ModelKind::Tags ? ws.titles : model_matrix;
  ScorerChoice choice = choose_scorer(o.backend, scoring_titles, o.scorer);
  ScoreJobSummary s;
  s.backend = choice.scorer->describe();
  spdlog::info("scoring with {} [{}]", s.backend, choice.reason);
  std::unique_ptr<ArtworkChooser> chooser;
  if (artwork) {
    chooser = choose_artwork_chooser(choice, *artwork, o.scorer);
    spdlog::info("choosing artwork with {}", chooser->describe());
  }
  std::vector<uint32_t> chosen;
  double artwork_seconds = 0;

  // Bounded memory: a batch holds its vectors, its exclusions and batch * k results.
  const size_t batch = std::max<size_t>(1, std::min(o.batch, o.max_result_bytes / (o.k * 8)));
  if (batch < o.batch) spdlog::info("batch lowered to {} users so that {} results per user fit in memory", batch, o.k);

  ResultsWriter out(o.out_path, format, artwork.get());
  AtomicFile unscored(o.out_path + ".unscored.csv");
  unscored.write("user_id,reason\n");
  const size_t n_users = ws.profiles->users();
  s.users = n_users;
  TopKResult result;
  size_t shown = 0;
  auto last_progress = Clock::now();
  for (size_t first = 0; first < n_users; first += batch) {
    const size_t count = std::min(batch, n_users - first);
    const UserProfiles p = ws.profiles->read(first, count);
    const Exclusions ex = Exclusions::from_profiles(p, o.exclude);
    std::vector<float> model_vectors, hour_vectors;
    const float* users = p.vectors.data();
    if (o.model != ModelKind::Tags) users = (model_vectors = model_users(o.model, p, first, model)).data();
    if (daypart) users = (hour_vectors = with_hour_columns(users, count, scoring_titles.dim() - 1, 1, 0)).data();
    choice.scorer->search(UserBatchView{count, scoring_titles.dim(), users, &ex}, o.k, result);
    for (size_t u = 0; u < count; ++u) {
      if (!p.summaries[u].usable) {
        result.counts[u] = 0;  // nothing to rank by: listed, never silently dropped
        unscored.write(fmt::format("{},no usable events\n", csv_field(p.user_ids[u])));
        ++s.unscored;
      } else if (shown < o.show && show_to) {
        // The terminal gets the head of the list; the file has all K.
        const size_t head = std::min<size_t>(result.counts[u], 5);
        print_recommendations(show_to, ws, p, u, result.titles.data() + u * o.k, result.scores.data() + u * o.k, head);
        if (head < result.counts[u]) fmt::print(show_to, "      ... {} more in {}\n", result.counts[u] - head, o.out_path);
        ++shown;
      }
    }
    if (chooser) {
      // Only the K selected titles per user, after unusable users were emptied above.
      const auto t_art = Clock::now();
      chooser->choose(UserBatchView{count, p.dim, p.vectors.data(), nullptr}, result, chosen);
      artwork_seconds += seconds_since(t_art);
      for (size_t u = 0; u < count; ++u)
        for (size_t r = 0; r < result.counts[u]; ++r) s.artwork_default += chosen[u * o.k + r] == kNoArtwork;
    }
    out.write(p.user_ids, result, ws.catalog, chooser ? &chosen : nullptr);
    const size_t done = first + count;
    if (seconds_since(last_progress) >= o.progress_seconds && done < n_users) {
      last_progress = Clock::now();
      const double elapsed = seconds_since(t0);
      const double rate = done / std::max(elapsed, 1e-9);
      spdlog::info("scored {}/{} users ({:.0f} users/s, ETA {:.0f} s)", done, n_users, rate, (n_users - done) / rate);
    }
  }
  out.commit();
  unscored.commit();
  rejects.finish();
  s.scored = n_users - s.unscored;
  s.rows = out.rows();
  s.rejected = rejects.count();
  s.seconds = seconds_since(t0);
  spdlog::info("score: {} users scored, {} without usable events (-> {}.unscored.csv), {} rows -> {} in {:.1f} s",
               s.scored, s.unscored, o.out_path, s.rows, o.out_path, s.seconds);
  if (chooser)
    spdlog::info("score: artwork chosen for {} rows in {:.3f} s, {} rows of titles without variants keep their default "
                 "artwork", s.rows - s.artwork_default, artwork_seconds, s.artwork_default);
  spdlog::info("{}", rejects.summary());
  return s;
}

EvalReport run_eval_recs_job(const EvalRecsOptions& o, std::FILE* table_to) {
  const auto t0 = Clock::now();
  RejectLog rejects(o.common.rejects_path, o.common.strict);
  Workspace ws = open_catalog(o.catalog_dir, rejects);
  LoadedEvents loaded = load_events(o.events_path, ws.catalog, rejects);
  rejects.finish();
  const EvalReport r =
      evaluate_recommenders(ws.catalog, ws.titles, loaded.events, loaded.user_ids.size(), o.eval);
  if (table_to) {
    fmt::print(table_to, "held-out next watches: last {} title(s) of {} of {} users; {} titles\n", o.eval.holdout,
               r.evaluated_users, r.users, r.titles);
    fmt::print(table_to, "hybrid weights: behaviour {}, tags {}, popularity {}{}\n", r.weights.behaviour,
               r.weights.tags, r.weights.popularity, o.eval.tune ? " (tuned on a validation split)" : "");
    fmt::print(table_to, "{:<12} {:>8} {:>8} {:>10} {:>12}\n", "model", "HR@10", "NDCG@10", "recall@50", "coverage@10");
    for (const auto& m : r.models)
      fmt::print(table_to, "{:<12} {:>8.4f} {:>8.4f} {:>10.4f} {:>12.4f}\n", m.model, m.hr10, m.ndcg10, m.recall50,
                 m.coverage10);
  }
  if (!o.out_path.empty()) {
    nlohmann::json j{{"users", r.users},
                     {"evaluated_users", r.evaluated_users},
                     {"titles", r.titles},
                     {"holdout", o.eval.holdout},
                     {"weights", {{"behaviour", r.weights.behaviour}, {"tags", r.weights.tags}, {"popularity", r.weights.popularity}}},
                     {"als", {{"factors", o.eval.als.factors}, {"iterations", o.eval.als.iterations},
                              {"regularization", o.eval.als.regularization}, {"alpha", o.eval.als.alpha}}}};
    for (const auto& m : r.models)
      j["models"].push_back({{"model", m.model}, {"hr10", m.hr10}, {"ndcg10", m.ndcg10}, {"recall50", m.recall50},
                             {"coverage10", m.coverage10}, {"users", m.users}});
    write_file_atomically(o.out_path, j.dump(2) + "\n");
  }
  spdlog::info("eval-recs: {:.1f} s; {}", seconds_since(t0), rejects.summary());
  return r;
}

}  // namespace marquee
