#include "host/jobs/project_job.h"

#include "engine/clock.h"
#include "engine/error.h"
#include "host/backend/resolver.h"
#include "host/io/atomic_file.h"
#include "host/io/events_io.h"
#include "host/io/model_dir.h"
#include "host/io/new_titles_io.h"
#include "host/io/progress.h"
#include "host/io/segments_io.h"
#include "host/jobs/projection_common.h"
#include "host/jobs/projection_jobs.h"
#include "host/report/report.h"  // write_projection_report, report_js_files

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <queue>
#include <unordered_set>

namespace marquee {
namespace {

using json = nlohmann::json;

// Users ranked by p_watch (then user order): the top N in a heap, or everyone through sorted runs on
// disk merged at the end, so memory stays bounded by one run.
class UserRanking {
 public:
  struct Entry {
    double p = 0;
    float affinity = 0;
    uint64_t index = 0;
    std::string id;
  };
  static bool before(const Entry& a, const Entry& b) { return a.p > b.p || (a.p == b.p && a.index < b.index); }

  UserRanking(size_t top, bool all, size_t run_users, std::string run_prefix)
      : top_(top), all_(all), run_users_(std::max<size_t>(1, run_users)), prefix_(std::move(run_prefix)) {}
  ~UserRanking() {
    for (const auto& r : runs_) std::filesystem::remove(r);
  }

  void add(double p, float affinity, uint64_t index, const std::string& id) {
    if (!all_) {
      if (top_ == 0) return;
      if (heap_.size() < top_) {
        heap_.push_back({p, affinity, index, id});
        std::push_heap(heap_.begin(), heap_.end(), before);
      } else if (before(Entry{p, affinity, index, {}}, heap_.front())) {
        std::pop_heap(heap_.begin(), heap_.end(), before);
        heap_.back() = {p, affinity, index, id};
        std::push_heap(heap_.begin(), heap_.end(), before);
      }
      return;
    }
    heap_.push_back({p, affinity, index, id});
    if (heap_.size() >= run_users_) spill();
  }

  // Writes the ranked rows (prefix: "title_id," or empty) to `out`.
  void write(AtomicFile& out, const std::string& prefix) {
    if (runs_.empty()) {
      std::sort(heap_.begin(), heap_.end(), before);
      for (const Entry& e : heap_) out.write(row(prefix, e));
      return;
    }
    if (!heap_.empty()) spill();
    struct Run {
      std::ifstream in;
      Entry head;
      bool ok = false;
    };
    std::vector<std::unique_ptr<Run>> runs;
    auto next = [](Run& r) {
      uint32_t len = 0;
      r.ok = bool(r.in.read(reinterpret_cast<char*>(&r.head.p), sizeof r.head.p)) &&
             bool(r.in.read(reinterpret_cast<char*>(&r.head.affinity), sizeof r.head.affinity)) &&
             bool(r.in.read(reinterpret_cast<char*>(&r.head.index), sizeof r.head.index)) &&
             bool(r.in.read(reinterpret_cast<char*>(&len), sizeof len));
      if (r.ok) {
        r.head.id.resize(len);
        r.ok = bool(r.in.read(r.head.id.data(), len));
      }
    };
    auto worse = [](const Run* a, const Run* b) { return before(b->head, a->head); };
    std::priority_queue<Run*, std::vector<Run*>, decltype(worse)> queue(worse);
    for (const auto& path : runs_) {
      runs.push_back(std::make_unique<Run>());
      runs.back()->in.open(path, std::ios::binary);
      next(*runs.back());
      if (runs.back()->ok) queue.push(runs.back().get());
    }
    while (!queue.empty()) {
      Run* r = queue.top();
      queue.pop();
      out.write(row(prefix, r->head));
      next(*r);
      if (r->ok) queue.push(r);
    }
  }

 private:
  static std::string row(const std::string& prefix, const Entry& e) {
    return fmt::format("{}{},{:.6f},{:.6g}\n", prefix, csv_field(e.id), e.affinity, e.p);
  }
  void spill() {
    std::sort(heap_.begin(), heap_.end(), before);
    const std::string path = fmt::format("{}.run{}.tmp", prefix_, runs_.size());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    MARQUEE_CHECK_INPUT(bool(out), "cannot write the sort run {}", path);
    runs_.push_back(path);
    for (const Entry& e : heap_) {
      const uint32_t len = uint32_t(e.id.size());
      out.write(reinterpret_cast<const char*>(&e.p), sizeof e.p);
      out.write(reinterpret_cast<const char*>(&e.affinity), sizeof e.affinity);
      out.write(reinterpret_cast<const char*>(&e.index), sizeof e.index);
      out.write(reinterpret_cast<const char*>(&len), sizeof len);
      out.write(e.id.data(), len);
    }
    MARQUEE_CHECK_INPUT(bool(out), "cannot write the sort run {}", path);
    heap_.clear();
  }

  size_t top_;
  bool all_;
  size_t run_users_;
  std::string prefix_;
  std::vector<Entry> heap_;
  std::vector<std::string> runs_;
};

void check_project_options(const ProjectJobOptions& o) {
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "project needs --out FILE (the JSON result)");
  MARQUEE_CHECK_ARG(o.new_titles_path.empty() != o.as_new.empty(),
                    "give exactly one of --new-titles FILE or --title ID --as-new");
  MARQUEE_CHECK_ARG(o.as_new.empty() || !o.input.events_path.empty(),
                    "--as-new needs --events FILE: the title's own events must be removed before profiles are built");
  MARQUEE_CHECK_ARG(o.input.events_path.empty() != o.input.profiles_path.empty(),
                    "give exactly one of --events FILE or --profiles FILE");
  MARQUEE_CHECK_ARG(o.batch >= 1 && o.batch <= kMaxBatchUsers, "--batch must be between 1 and {}; got {}",
                    kMaxBatchUsers, o.batch);
  MARQUEE_CHECK_ARG(!(o.all_users && o.top == 0), "--all and --top 0 contradict each other");
  if (!o.report_path.empty()) report_js_files();  // fail now, not after the work, when Vega is missing
}

// The titles to project, where the users come from and, for --as-new, the titles' real audiences
// (never used by the projection).
struct ProjectInputs {
  std::vector<NewTitle> titles;
  std::vector<uint32_t> held_out;
  std::vector<size_t> actual_viewers;
  std::unique_ptr<ProfileSource> source;
};

// --as-new: catalogue titles projected as if unreleased; their events are removed before the
// profiles are built, and their viewers counted.
ProjectInputs load_as_new_inputs(const ProjectJobOptions& o, const Workspace& ws, RejectLog& rejects) {
  const Catalog& catalog = ws.catalog;
  ProjectInputs in;
  for (const std::string& id : o.as_new) {
    const auto t = catalog.find_title(id);
    MARQUEE_CHECK_ARG(t.has_value(), "unknown title_id '{}' for --as-new", id);
    in.titles.push_back(catalog_title_as_new(catalog, *t));
    MARQUEE_CHECK_INPUT(!in.titles.back().tags.empty(), "title '{}' has no tags in the catalogue: nothing to project it from", id);
    in.held_out.push_back(*t);
  }
  LoadedEvents loaded =
      load_events(o.input.events_path, catalog, rejects, o.input.engagement.as_of, o.input.layout.events);
  std::vector<std::unordered_set<uint32_t>> viewers(in.held_out.size());
  std::vector<Event> kept;
  kept.reserve(loaded.events.size());
  for (const Event& e : loaded.events) {
    const auto h = std::find(in.held_out.begin(), in.held_out.end(), e.title);
    if (h == in.held_out.end()) kept.push_back(e);
    else viewers[size_t(h - in.held_out.begin())].insert(e.user);
  }
  for (const auto& v : viewers) in.actual_viewers.push_back(v.size());
  spdlog::info("--as-new: {} events of the held-out title(s) removed before building profiles",
               loaded.events.size() - kept.size());
  ProfileBuildStats stats;
  UserProfiles p = build_profiles(catalog, ws.titles, std::move(kept), std::move(loaded.user_ids),
                                  o.input.engagement, &stats);
  reject_duplicates(o.input.events_path, stats.duplicates, rejects);
  in.source = std::make_unique<MemoryProfiles>(std::move(p));
  return in;
}

// --new-titles: titles from a file, users from events (built in memory) or a profiles file.
ProjectInputs load_new_title_inputs(const ProjectJobOptions& o, const Workspace& ws, RejectLog& rejects) {
  const Catalog& catalog = ws.catalog;
  ProjectInputs pi;
  pi.titles = load_new_titles(o.new_titles_path, catalog, rejects);
  InputOptions in = o.input;
  in.catalog_dir = o.input.catalog_dir;
  if (!in.events_path.empty()) {
    UserProfiles p = build_profiles_from_file(catalog, ws.titles, in.events_path, in.engagement, rejects, nullptr,
                                              nullptr, in.profile_backend, in.profile_device, in.layout.events);
    pi.source = std::make_unique<MemoryProfiles>(std::move(p));
  } else {
    Workspace w2 = open_workspace(in, rejects);
    pi.source = std::move(w2.profiles);
  }
  return pi;
}

void log_calibration(const Calibration& cal, const CalibratedModel& cm, unsigned mask, double seconds) {
  spdlog::info("calibration: {} titles x {} users ({} pairs, {} watched) in {:.1f} s; p = sigmoid({:.3f}{})",
               cal.titles.size(), cal.users, cal.pairs, cal.positives, seconds, cm.logistic.beta[0],
               [&] {
                 std::string s;
                 size_t j = 1;
                 for (size_t i = 0; i < kNumFeatures; ++i)
                   if (mask & (1u << i)) s += fmt::format(" {:+.3f}*{}", cm.logistic.beta[j++], kFeatureNames[i]);
                 return s;
               }());
}

// Calibration, and for the hybrid space the behaviour model: a saved one (--model-dir, nothing fitted,
// a sample of users is enough), or ALS fitted here (all users in memory, as `score --model hybrid`
// needs; held in `all_users` when the source is not in memory already).
Calibration calibrate_projection(const ProjectJobOptions& o, const Workspace& ws, ProfileSource& source,
                                 const std::vector<uint32_t>& held_out, unsigned mask,
                                 std::unique_ptr<MemoryProfiles>& all_users, RecommenderModel& model) {
  Calibration cal;
  if (o.space == ProjectionSpace::Hybrid && !o.calibration.saved_model) {
    auto* mem = dynamic_cast<MemoryProfiles*>(&source);
    if (!mem) {
      all_users = std::make_unique<MemoryProfiles>(source.read(0, source.users()));
      mem = all_users.get();
    }
    cal = calibrate(ws.titles, mem->all(), o.space, {mask}, held_out, o.calibration);
    model = fit_recommender(ws.titles, mem->all(), o.calibration.als, HybridWeights{1.0f, 0.0f, 0.0f});
  } else {
    auto* mem = dynamic_cast<MemoryProfiles*>(&source);
    if (mem) {
      cal = calibrate(ws.titles, mem->all(), o.space, {mask}, held_out, o.calibration);
    } else {
      const UserProfiles sample = read_sample(source, o.calibration.users, o.batch);
      cal = calibrate(ws.titles, sample, o.space, {mask}, held_out, o.calibration);
    }
  }
  return cal;
}

// The users' segments: from a `marquee segment` file, or k-means here for --trailers (or none).
struct ProjectSegments {
  std::unique_ptr<SegmentsReader> file;
  std::optional<KMeansResult> km;
  size_t count = 0;

  // The segment of every user of a batch (-1: none).
  void assign(const UserProfiles& b, std::vector<int32_t>& seg) const {
    seg.assign(b.size(), -1);
    if (file) file->fill(b, seg.data());
    else if (km) assign_segments(b.vectors.data(), b.size(), b.dim, *km, seg.data());
  }
};

ProjectSegments open_project_segments(const ProjectJobOptions& o, ProfileSource& source) {
  ProjectSegments segments;
  if (!o.segments_path.empty()) {
    segments.file = std::make_unique<SegmentsReader>(o.segments_path);
    segments.count = segments.file->segments();
    MARQUEE_CHECK_ARG(o.trailers <= segments.count, "--trailers {} is more than the {} segments in {}", o.trailers,
                      segments.count, o.segments_path);
  } else if (o.trailers > 0) {
    KMeansOptions ko = o.kmeans;
    ko.k = o.trailers;
    segments.km = train_segments(source, ko, o.batch, choose_kmeans_backend(o.backend));
    segments.count = ko.k;
  }
  return segments;
}

// The streaming pass: every user's p_watch and affinity for every title, into the accumulators
// (audience, cohorts, segments, dayparts) and the user rankings.
void project_all_users(const ProjectJobOptions& o, ProfileSource& source, const FeatureSpace& fs, Scorer& scorer,
                       const BehaviourFactors* model, const CalibratedModel& cm, const ProjectSegments& segments,
                       std::vector<ProjectionAccumulator>& acc, std::vector<std::unique_ptr<UserRanking>>& ranking) {
  const size_t n_users = source.users(), nt = acc.size();
  std::vector<float> raw;
  std::vector<double> p, aff;
  std::vector<int32_t> seg;
  Progress progress("project", "users", double(n_users));
  for (size_t first = 0; first < n_users; first += o.batch) {
    const size_t count = std::min(o.batch, n_users - first);
    const UserProfiles b = source.read(first, count);
    const std::vector<float> scores = feature_scores(scorer, fs, b, first, model);
    raw.assign(count * nt * kNumFeatures, 0.0f);
    fs.features(b, scores.data(), raw.data());
    segments.assign(b, seg);
    p.resize(count);
    aff.resize(count);
    for (size_t i = 0; i < nt; ++i) {
      for (size_t u = 0; u < count; ++u) {
        const float* r = raw.data() + (u * nt + i) * kNumFeatures;
        p[u] = cm.predict_raw(r);
        aff[u] = cm.affinity_raw(r);
        ranking[i]->add(p[u], float(aff[u]), first + u, b.user_ids[u]);
      }
      acc[i].add(b, p.data(), aff.data(), segments.count ? seg.data() : nullptr);
    }
    progress.update(double(first + count));
  }
}

// Per segment: shares, lift, mean affinity and the tags a cut for it would emphasise; with
// --trailers, the trailer plan: segments ranked by expected viewers (the audience a cut reaches).
void add_segments_json(json& jt, const ProjectJobOptions& o, const Catalog& catalog,
                       const std::vector<SegmentShare>& shares) {
  jt["segments"] = json::array();
  for (const auto& s : shares) {
    json js{{"segment", s.segment},         {"users", s.users},   {"expected", s.expected},
            {"audience_share", s.audience_share}, {"user_share", s.user_share}, {"lift", s.lift},
            {"mean_affinity", s.mean_affinity}};
    js["emphasis"] = json::array();
    for (const auto& [tag, score] : s.emphasis)
      js["emphasis"].push_back({{"tag", catalog.tag(tag).name}, {"score", score}});
    js["top_tags"] = json::array();  // what the segment is (the report's label for it)
    for (const auto& [tag, over] : s.top_tags) js["top_tags"].push_back({{"tag", catalog.tag(tag).name}, {"over", over}});
    jt["segments"].push_back(js);
  }
  if (o.trailers > 0) {
    std::vector<size_t> order(jt["segments"].size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return shares[a].expected > shares[b].expected; });
    jt["trailers"] = json::array();
    for (size_t r = 0; r < o.trailers && r < order.size(); ++r) {
      json tr = jt["segments"][order[r]];
      tr["rank"] = r + 1;
      jt["trailers"].push_back(tr);
    }
  }
}

// One title's result: its tags, projected audience, comparable titles, fan cohorts, segments and
// dayparts (and, for --as-new, its actual viewers).
json title_result_json(const ProjectJobOptions& o, const Workspace& ws, const NewTitle& t,
                       const std::vector<float>& vector, const ProjectionAccumulator& acc, const CalibratedModel& cm,
                       const ProjectInputs& in, size_t i) {
  const Catalog& catalog = ws.catalog;
  const AudienceEstimate a = acc.audience(cm);
  json jt{{"title_id", t.id}, {"name", t.name}, {"as_new", !o.as_new.empty()}};
  for (const auto& [tag, w] : t.tags) jt["tags"].push_back({{"tag", catalog.tag(tag).name}, {"weight", w}});
  jt["audience"] = {{"expected", a.expected}, {"sd", a.sd},     {"lo95", a.lo95}, {"hi95", a.hi95},
                    {"lo80", a.lo80},         {"hi80", a.hi80}, {"users", a.users},
                    {"share_of_users", a.users ? a.expected / double(a.users) : 0.0}};
  if (!o.as_new.empty()) jt["actual_viewers"] = in.actual_viewers[i];
  const std::vector<uint32_t> skip = in.held_out;
  jt["comparables"] = json::array();
  for (const auto& c : comparable_titles(ws.titles, vector, o.comparables, acc.viewers(), skip))
    jt["comparables"].push_back({{"title_id", catalog.title(c.title).id},
                                 {"name", title_label(catalog, c.title)},
                                 {"similarity", c.similarity},
                                 {"viewers", c.viewers}});
  jt["cohorts"] = json::array();
  for (const auto& c : acc.cohorts(o.min_fans, o.cohorts, skip))
    jt["cohorts"].push_back({{"title_id", catalog.title(c.title).id},
                             {"name", title_label(catalog, c.title)},
                             {"fans", c.fans},
                             {"expected_fans", c.expected_fans},
                             {"audience_share", c.audience_share},
                             {"user_share", c.user_share},
                             {"lift", c.lift}});
  add_segments_json(jt, o, catalog, acc.segments(vector, o.emphasis_tags));
  jt["daypart"] = acc.daypart();
  return jt;
}

// The users file: user_id,affinity,p_watch (one title) or title_id,user_id,affinity,p_watch.
void write_users_file(const std::string& path, const std::vector<NewTitle>& titles,
                      std::vector<std::unique_ptr<UserRanking>>& ranking) {
  const size_t nt = titles.size();
  AtomicFile users_out(path);
  users_out.write(nt == 1 ? "user_id,affinity,p_watch\n" : "title_id,user_id,affinity,p_watch\n");
  for (size_t i = 0; i < nt; ++i) ranking[i]->write(users_out, nt == 1 ? "" : csv_field(titles[i].id) + ",");
  users_out.commit();
}

// An expected count for people: whole numbers from 10 up, one decimal below ("0.2 expected viewers",
// not "0" beside 27 fans).
std::string expected_count(double x) { return x >= 10 ? fmt::format("{:.0f}", x) : fmt::format("{:.1f}", x); }

void print_title_summary(std::FILE* summary_to, const json& jt, size_t n_users) {
  const json& a = jt["audience"];
  fmt::print(summary_to, "{}{}: projected audience {:.0f} of {} users ({:.2f} %)\n", jt["title_id"].get<std::string>(),
             jt["as_new"].get<bool>() ? " (as new)" : "", a["expected"].get<double>(), n_users,
             100.0 * a["share_of_users"].get<double>());
  fmt::print(summary_to, "  95 % interval (Poisson-binomial) {:.0f} .. {:.0f}; 80 % title-level interval {:.0f} .. {:.0f}\n",
             a["lo95"].get<double>(), a["hi95"].get<double>(), a["lo80"].get<double>(), a["hi80"].get<double>());
  if (jt.contains("actual_viewers")) fmt::print(summary_to, "  actual viewers (held out): {}\n", jt["actual_viewers"].get<size_t>());
  std::string line;
  for (const json& c : jt["comparables"])
    if (line.size() < 240)
      line += fmt::format("{}{} ({:.2f}, {} viewers)", line.empty() ? "" : "; ", c["name"].get<std::string>(),
                          c["similarity"].get<double>(), c["viewers"].get<size_t>());
  fmt::print(summary_to, "  comparable titles: {}\n", line);
  for (const json& c : jt["cohorts"])
    fmt::print(summary_to, "  fans of {}: lift {:.2f} ({} fans, {} expected viewers)\n",
               c["name"].get<std::string>(), c["lift"].get<double>(), c["fans"].get<size_t>(),
               expected_count(c["expected_fans"].get<double>()));
  for (const json& s : jt["segments"])
    fmt::print(summary_to, "  segment {}: {} users, {} expected viewers, lift {:.2f}\n", s["segment"].get<int>(),
               s["users"].get<size_t>(), expected_count(s["expected"].get<double>()), s["lift"].get<double>());
  if (jt.contains("trailers"))
    for (const json& s : jt["trailers"]) {
      std::string tags;
      for (const json& e : s["emphasis"]) tags += (tags.empty() ? "" : ", ") + e["tag"].get<std::string>();
      fmt::print(summary_to, "  trailer {}: segment {} ({} users, lift {:.2f}, mean affinity {:.3f}): emphasise {}\n",
                 s["rank"].get<size_t>(), s["segment"].get<int>(), s["users"].get<size_t>(), s["lift"].get<double>(),
                 s["mean_affinity"].get<double>(), tags.empty() ? "(no tag over-weighted)" : tags);
    }
  const std::vector<double> dp = jt["daypart"].get<std::vector<double>>();
  const double total = std::accumulate(dp.begin(), dp.end(), 0.0);
  const size_t peak = size_t(std::max_element(dp.begin(), dp.end()) - dp.begin());
  if (total > 0) fmt::print(summary_to, "  daypart: peak {:02d}:00 ({:.1f} % of expected sessions)\n", peak, 100.0 * dp[peak] / total);
}

}  // namespace

json run_project_job(const ProjectJobOptions& o, std::FILE* summary_to) {
  const auto t0 = Clock::now();
  check_project_options(o);
  RejectLog rejects = job_rejects(o.common, o.out_path);
  Workspace ws = open_catalog(o.input.catalog_dir, rejects, o.input.layout.catalog_delimiter);
  const Catalog& catalog = ws.catalog;

  ProjectInputs in = o.as_new.empty() ? load_new_title_inputs(o, ws, rejects) : load_as_new_inputs(o, ws, rejects);
  ProfileSource& source = *in.source;
  const size_t n_users = source.users();
  MARQUEE_CHECK_INPUT(n_users > 0, "there are no users (empty events): nobody to project an audience for");
  std::vector<std::vector<float>> vectors;
  for (const NewTitle& t : in.titles) vectors.push_back(new_title_vector(ws.titles, t));

  // --model-dir: the saved model's factors; the hybrid space then fits no ALS anywhere.
  std::unique_ptr<Model> saved;
  std::string saved_version;
  std::optional<BehaviourFactors> behaviour;
  ProjectJobOptions opts = o;
  if (!o.model_dir.empty()) {
    MARQUEE_CHECK_ARG(o.space == ProjectionSpace::Hybrid, "--model-dir projects in the hybrid space; drop --space tags");
    LoadedModel loaded = load_model_dir(o.model_dir, ws.catalog, ws.titles);
    saved = std::move(loaded.model);
    saved->set_fold_in_solver(choose_als_row_solver(o.backend, o.scorer.cuda.device));  // the users' half-step
    saved_version = loaded.version;
    behaviour.emplace(*saved);  // a model without factors (tags, ease) is refused here, before any work
    opts.calibration.saved_model = saved.get();
    spdlog::info("projecting with the {} model {} from {} (no ALS fit)", model_kind_name(saved->kind()),
                 loaded.version, o.model_dir);
  }

  const auto t_cal = Clock::now();
  std::unique_ptr<MemoryProfiles> all_users;
  RecommenderModel model;
  const unsigned mask = projection_features(o.space);
  const Calibration cal = calibrate_projection(opts, ws, source, in.held_out, mask, all_users, model);
  if (!saved && o.space == ProjectionSpace::Hybrid) behaviour.emplace(model);
  const BehaviourFactors* model_ptr = behaviour ? &*behaviour : nullptr;
  const CalibratedModel& cm = cal.model(mask);
  log_calibration(cal, cm, mask, seconds_since(t_cal));
  const ProjectSegments segments = open_project_segments(o, source);

  const FeatureSpace fs = make_feature_space(o.space, ws.titles, vectors, model_ptr);
  ScorerChoice choice = choose_scorer(o.backend, fs.rows, o.scorer);
  spdlog::info("affinities with {} [{}]", choice.scorer->describe(), choice.reason);

  const size_t nt = in.titles.size();
  std::vector<ProjectionAccumulator> acc;
  std::vector<std::unique_ptr<UserRanking>> ranking;
  const std::string users_path =
      o.users_path.empty() ? strip_extension(o.out_path) + ".users.csv" : o.users_path;
  for (size_t i = 0; i < nt; ++i) {
    acc.emplace_back(catalog.num_titles(), ws.titles.dim(), segments.count, o.fan_weight);
    ranking.push_back(std::make_unique<UserRanking>(o.top, o.all_users, o.sort_run_users,
                                                    fmt::format("{}.{}", users_path, i)));
  }
  project_all_users(o, source, fs, *choice.scorer, model_ptr, cm, segments, acc, ranking);

  json result{{"space", projection_space_name(o.space)},
              {"backend", choice.scorer->describe()},
              {"users", n_users},
              {"segments", segments.count},
              {"users_file", users_path},
              {"calibration", calibration_json(cal, cm)}};
  if (saved) result["model_version"] = saved_version;
  for (size_t i = 0; i < nt; ++i)
    result["titles"].push_back(title_result_json(o, ws, in.titles[i], vectors[i], acc[i], cm, in, i));

  write_users_file(users_path, in.titles, ranking);
  write_file_atomically(o.out_path, result.dump(2) + "\n");
  if (!o.report_path.empty()) write_projection_report(o.report_path, result);
  rejects.finish();

  if (summary_to) {
    for (const json& jt : result["titles"]) print_title_summary(summary_to, jt, n_users);
    fmt::print(summary_to, "-> {} (JSON), {} (users){}\n", o.out_path, users_path,
               o.report_path.empty() ? "" : ", " + o.report_path + " (report)");
  }
  spdlog::info("project: {} title(s) over {} users in {:.1f} s; {}", nt, n_users, seconds_since(t0), rejects.summary());
  return result;
}

}  // namespace marquee
