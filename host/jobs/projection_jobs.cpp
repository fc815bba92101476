#include "host/jobs/projection_jobs.h"

#include "host/backend/resolver.h"
#include "engine/clock.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"
#include "host/io/catalog_io.h"
#include "host/io/events_io.h"
#include "host/io/record_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <queue>
#include <set>
#include <unordered_set>

namespace marquee {
namespace {

using json = nlohmann::json;
std::string strip_extension(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_extension() ? (p.parent_path() / p.stem()).string() : path;
}

std::string title_label(const Catalog& c, uint32_t t) {
  const Title& title = c.title(t);
  return title.name.empty() ? title.id : title.name;
}

void append_profiles(UserProfiles& dst, const UserProfiles& src) {
  if (dst.seen_offsets.empty()) dst.seen_offsets.push_back(0);
  dst.dim = src.dim;
  const uint64_t base = dst.seen.size();
  dst.user_ids.insert(dst.user_ids.end(), src.user_ids.begin(), src.user_ids.end());
  dst.vectors.insert(dst.vectors.end(), src.vectors.begin(), src.vectors.end());
  dst.seen.insert(dst.seen.end(), src.seen.begin(), src.seen.end());
  for (size_t u = 0; u < src.size(); ++u) dst.seen_offsets.push_back(base + src.seen_offsets[u + 1]);
  dst.summaries.insert(dst.summaries.end(), src.summaries.begin(), src.summaries.end());
}

// An evenly strided sample of at most `target` users, read in batches (bounded memory); `mean`
// (optional) accumulates the mean usable user over every batch of the same pass.
UserProfiles read_sample(ProfileSource& source, size_t target, size_t batch, bool usable_only = false,
                         UserMean* mean = nullptr) {
  const size_t n = source.users();
  const size_t stride = std::max<size_t>(1, n / std::max<size_t>(1, target));
  UserProfiles out;
  out.seen_offsets.push_back(0);
  for (size_t first = 0; first < n; first += batch) {
    const size_t count = std::min(batch, n - first);
    const UserProfiles p = source.read(first, count);
    out.dim = p.dim;
    if (mean) mean->add(p);
    for (size_t u = 0; u < count; ++u) {
      if ((first + u) % stride != 0 || (usable_only && !p.summaries[u].usable)) continue;
      append_profiles(out, slice_profiles(p, u, 1));
    }
  }
  return out;
}

// Trains spherical k-means on a strided sample of usable users (k x max_points_per_centroid of
// them). With o.center, one pass also accumulates the mean usable user, the sample is centred on it
// and normalised again, and the model carries the mean so that assign_segments does the same.
KMeansResult train_segments(ProfileSource& source, const KMeansOptions& o, size_t batch, const KMeansBackend& backend) {
  MARQUEE_CHECK_ARG(o.k >= 1, "the number of segments must be at least 1; got {}", o.k);
  UserMean mean;
  UserProfiles sample = read_sample(source, o.k * std::max<size_t>(1, o.max_points_per_centroid), batch, true, &mean);
  if (sample.size() < o.k) sample = read_sample(source, source.users(), batch, true);
  MARQUEE_CHECK_ARG(o.k <= sample.size(),
                    "{} segments asked for, but only {} of the {} users have usable signal: K must not exceed them",
                    o.k, sample.size(), source.users());
  const size_t dim = sample.dim;
  std::vector<float> points = std::move(sample.vectors);
  size_t n = sample.size();
  std::vector<float> centre;
  if (o.center) {
    centre = mean.mean();
    center_rows(points.data(), n, dim, centre.data());
    // A user exactly at the mean has no direction left: not a training point.
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) {
      const float* row = points.data() + i * dim;
      if (std::all_of(row, row + dim, [](float v) { return v == 0.0f; })) continue;
      if (kept != i) std::copy(row, row + dim, points.begin() + kept * dim);
      ++kept;
    }
    MARQUEE_CHECK_ARG(o.k <= kept,
                      "{} segments asked for, but only {} of the {} sampled users differ from the mean user: K must "
                      "not exceed them",
                      o.k, kept, n);
    n = kept;
    points.resize(n * dim);
  }
  const auto t0 = Clock::now();
  KMeansResult km = backend.train(points.data(), n, dim, o);
  km.mean = std::move(centre);
  spdlog::info("k-means on {} [{}]: {} segments from {} users ({} dims, {} iterations, seed {}{}) in {:.1f} s",
               backend.name(), backend.where.reason, o.k, n, dim, o.iterations, o.seed,
               o.center ? fmt::format("; centred on the mean of {} usable users", mean.users()) : std::string(),
               seconds_since(t0));
  if (km.faiss_splits > 0) spdlog::warn("k-means: {} empty clusters were split during training", km.faiss_splits);
  for (uint32_t s : km.reseeded)
    spdlog::warn("k-means: segment {} came out empty and was re-seeded with the worst-fitting user", s);
  return km;
}

// Reads `marquee segment` assignments (user_id,segment) alongside the users, in the same order;
// rows of users absent from this run are skipped.
class SegmentsReader {
 public:
  explicit SegmentsReader(const std::string& path) : path_(path) {
    RecordReader scan(path, {"user_id", "segment"});
    Record r;
    while (scan.next(r)) {
      long long s = 0;
      MARQUEE_CHECK_INPUT(r.error.empty() && parse_int(r.fields[1], s) && s >= -1 && s < (1 << 20),
                          "{}:{}: bad segments row ({}): expected user_id,segment with segment >= -1", path, r.line,
                          r.error.empty() ? r.fields[1] : r.error);
      k_ = std::max<size_t>(k_, size_t(s + 1));
    }
    MARQUEE_CHECK_INPUT(k_ > 0, "{} assigns no user to a segment", path);
    reader_ = std::make_unique<RecordReader>(path, std::vector<std::string>{"user_id", "segment"});
  }
  size_t segments() const { return k_; }
  void fill(const UserProfiles& batch, int32_t* out) {
    Record r;
    for (size_t u = 0; u < batch.size(); ++u) {
      for (;;) {
        MARQUEE_CHECK_INPUT(reader_->next(r), "{} has no segment for user '{}' (written for other users? run "
                                              "`marquee segment` again on the same events or profiles)",
                            path_, batch.user_ids[u]);
        if (r.fields[0] == batch.user_ids[u]) break;
      }
      long long s = 0;
      parse_int(r.fields[1], s);
      out[u] = int32_t(s);
    }
  }

 private:
  std::string path_;
  size_t k_ = 0;
  std::unique_ptr<RecordReader> reader_;
};

// Scores of every feature row for every user of a batch, in row order (batch x rows).
std::vector<float> feature_scores(Scorer& scorer, const FeatureSpace& fs, const UserProfiles& batch, size_t first,
                                  const RecommenderModel* model) {
  const std::vector<float> users = fs.user_rows(batch, first, model);
  const size_t rows = fs.rows.num_titles();
  TopKResult r;
  scorer.search(UserBatchView{batch.size(), fs.user_dim(), users.data(), nullptr}, rows, r);
  std::vector<float> scores(batch.size() * rows, 0.0f);
  for (size_t u = 0; u < batch.size(); ++u)
    for (size_t i = 0; i < r.counts[u]; ++i) scores[u * rows + r.titles[u * rows + i]] = r.scores[u * rows + i];
  return scores;
}

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

json calibration_json(const Calibration& cal, const CalibratedModel& m) {
  json coef{{"intercept", m.logistic.beta[0]}};
  size_t j = 1;
  for (size_t i = 0; i < kNumFeatures; ++i)
    if (m.features & (1u << i)) coef[kFeatureNames[i]] = m.logistic.beta[j++];
  return json{{"features", feature_names(m.features)},
              {"coefficients", coef},
              {"titles", cal.titles.size()},
              {"users", cal.users},
              {"pairs", cal.pairs},
              {"positives", cal.positives},
              {"iterations", m.logistic.iterations},
              {"log_ratio_q10", m.log_ratio_q10},
              {"log_ratio_q90", m.log_ratio_q90}};
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// New titles
// ------------------------------------------------------------------------------------------------

std::vector<NewTitle> load_new_titles(const std::string& path, const Catalog& catalog, RejectLog& rejects) {
  RecordReader reader(path, {"title_id", "tag", "weight"}, {"name"});
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", path, c);
  std::vector<NewTitle> titles;
  std::map<std::string, size_t> index;
  std::map<std::string, size_t> rejected_tags;  // per title: rows whose tag was unknown or bad
  std::set<std::pair<std::string, uint32_t>> assigned;
  Record r;
  while (reader.next(r)) {
    if (!r.error.empty()) {
      rejects.reject(path, r.line, r.error, r.raw);
      continue;
    }
    const std::string& id = r.fields[0];
    if (catalog.find_title(id)) {
      rejects.reject(path, r.line,
                     "title_id '" + id + "' is already in the catalogue (project it with --title " + id + " --as-new)",
                     r.raw);
      continue;
    }
    auto it = index.find(id);
    if (it == index.end()) {
      it = index.emplace(id, titles.size()).first;
      titles.push_back(NewTitle{id, {}, {}});
    }
    NewTitle& t = titles[it->second];
    if (r.present[3] && t.name.empty()) t.name = r.fields[3];
    const auto tw = parse_tag_weight(catalog, r, 1, 2, path, rejects, "(not in the taxonomy): ignored");
    if (!tw) {
      ++rejected_tags[id];
      continue;
    }
    const auto [tag, w] = *tw;
    if (!assigned.emplace(id, tag).second) {
      rejects.reject(path, r.line, "duplicate tag '" + r.fields[1] + "' for title '" + id + "'", r.raw);
      continue;
    }
    t.tags.emplace_back(tag, w);
  }
  MARQUEE_CHECK_INPUT(!titles.empty(), "{} has no usable new titles (title_id,tag,weight rows)", path);
  for (const NewTitle& t : titles)
    MARQUEE_CHECK_INPUT(!t.tags.empty(),
                        "new title '{}' in {} has no known tags ({} tag rows rejected, see the rejects file): "
                        "nothing to project it from",
                        t.id, path, rejected_tags[t.id]);
  return titles;
}

// ------------------------------------------------------------------------------------------------
// project
// ------------------------------------------------------------------------------------------------

json run_project_job(const ProjectJobOptions& o, std::FILE* summary_to) {
  const auto t0 = Clock::now();
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

  RejectLog rejects(o.common.rejects_path.empty() ? o.out_path + ".rejects.csv" : o.common.rejects_path,
                    o.common.strict);
  Workspace ws = open_catalog(o.input.catalog_dir, rejects);
  const Catalog& catalog = ws.catalog;

  // The titles to project and, for --as-new, their real audiences (never used by the projection).
  std::vector<NewTitle> titles;
  std::vector<uint32_t> held_out;
  std::vector<size_t> actual_viewers;
  std::unique_ptr<ProfileSource> source;
  if (!o.as_new.empty()) {
    for (const std::string& id : o.as_new) {
      const auto t = catalog.find_title(id);
      MARQUEE_CHECK_ARG(t.has_value(), "unknown title_id '{}' for --as-new", id);
      titles.push_back(catalog_title_as_new(catalog, *t));
      MARQUEE_CHECK_INPUT(!titles.back().tags.empty(), "title '{}' has no tags in the catalogue: nothing to project it from", id);
      held_out.push_back(*t);
    }
    LoadedEvents loaded = load_events(o.input.events_path, catalog, rejects);
    std::vector<std::unordered_set<uint32_t>> viewers(held_out.size());
    std::vector<Event> kept;
    kept.reserve(loaded.events.size());
    for (const Event& e : loaded.events) {
      const auto h = std::find(held_out.begin(), held_out.end(), e.title);
      if (h == held_out.end()) kept.push_back(e);
      else viewers[size_t(h - held_out.begin())].insert(e.user);
    }
    for (const auto& v : viewers) actual_viewers.push_back(v.size());
    spdlog::info("--as-new: {} events of the held-out title(s) removed before building profiles",
                 loaded.events.size() - kept.size());
    ProfileBuildStats stats;
    UserProfiles p = build_profiles(catalog, ws.titles, std::move(kept), std::move(loaded.user_ids),
                                    o.input.engagement, &stats);
    reject_duplicates(o.input.events_path, stats.duplicates, rejects);
    source = std::make_unique<MemoryProfiles>(std::move(p));
  } else {
    titles = load_new_titles(o.new_titles_path, catalog, rejects);
    InputOptions in = o.input;
    in.catalog_dir = o.input.catalog_dir;
    if (!in.events_path.empty()) {
      UserProfiles p = build_profiles_from_file(catalog, ws.titles, in.events_path, in.engagement, rejects, nullptr,
                                                nullptr, in.profile_backend);
      source = std::make_unique<MemoryProfiles>(std::move(p));
    } else {
      Workspace w2 = open_workspace(in, rejects);
      source = std::move(w2.profiles);
    }
  }
  const size_t n_users = source->users();
  MARQUEE_CHECK_INPUT(n_users > 0, "there are no users (empty events): nobody to project an audience for");
  std::vector<std::vector<float>> vectors;
  for (const NewTitle& t : titles) vectors.push_back(new_title_vector(ws.titles, t));

  // Calibration, and the hybrid model (all users in memory, as `score --model hybrid` needs).
  const auto t_cal = Clock::now();
  std::unique_ptr<MemoryProfiles> all_users;
  RecommenderModel model;
  const RecommenderModel* model_ptr = nullptr;
  const unsigned mask = projection_features(o.space);
  Calibration cal;
  if (o.space == ProjectionSpace::Hybrid) {
    auto* mem = dynamic_cast<MemoryProfiles*>(source.get());
    if (!mem) {
      all_users = std::make_unique<MemoryProfiles>(source->read(0, n_users));
      mem = all_users.get();
    }
    cal = calibrate(ws.titles, mem->all(), o.space, {mask}, held_out, o.calibration);
    model = fit_recommender(ws.titles, mem->all(), o.calibration.als, HybridWeights{1.0f, 0.0f, 0.0f});
    model_ptr = &model;
  } else {
    auto* mem = dynamic_cast<MemoryProfiles*>(source.get());
    if (mem) {
      cal = calibrate(ws.titles, mem->all(), o.space, {mask}, held_out, o.calibration);
    } else {
      const UserProfiles sample = read_sample(*source, o.calibration.users, o.batch);
      cal = calibrate(ws.titles, sample, o.space, {mask}, held_out, o.calibration);
    }
  }
  const CalibratedModel& cm = cal.model(mask);
  spdlog::info("calibration: {} titles x {} users ({} pairs, {} watched) in {:.1f} s; p = sigmoid({:.3f}{})",
               cal.titles.size(), cal.users, cal.pairs, cal.positives, seconds_since(t_cal), cm.logistic.beta[0],
               [&] {
                 std::string s;
                 size_t j = 1;
                 for (size_t i = 0; i < kNumFeatures; ++i)
                   if (mask & (1u << i)) s += fmt::format(" {:+.3f}*{}", cm.logistic.beta[j++], kFeatureNames[i]);
                 return s;
               }());

  // Segments: from a `marquee segment` file, or k-means here for --trailers.
  std::unique_ptr<SegmentsReader> seg_file;
  std::optional<KMeansResult> km;
  size_t n_segments = 0;
  if (!o.segments_path.empty()) {
    seg_file = std::make_unique<SegmentsReader>(o.segments_path);
    n_segments = seg_file->segments();
    MARQUEE_CHECK_ARG(o.trailers <= n_segments, "--trailers {} is more than the {} segments in {}", o.trailers,
                      n_segments, o.segments_path);
  } else if (o.trailers > 0) {
    KMeansOptions ko = o.kmeans;
    ko.k = o.trailers;
    km = train_segments(*source, ko, o.batch, choose_kmeans_backend(o.backend));
    n_segments = ko.k;
  }

  const FeatureSpace fs = make_feature_space(o.space, ws.titles, vectors, model_ptr);
  ScorerChoice choice = choose_scorer(o.backend, fs.rows, o.scorer);
  spdlog::info("affinities with {} [{}]", choice.scorer->describe(), choice.reason);

  const size_t nt = titles.size();
  std::vector<ProjectionAccumulator> acc;
  std::vector<std::unique_ptr<UserRanking>> ranking;
  const std::string users_path =
      o.users_path.empty() ? strip_extension(o.out_path) + ".users.csv" : o.users_path;
  for (size_t i = 0; i < nt; ++i) {
    acc.emplace_back(catalog.num_titles(), ws.titles.dim(), n_segments, o.fan_weight);
    ranking.push_back(std::make_unique<UserRanking>(o.top, o.all_users, o.sort_run_users,
                                                    fmt::format("{}.{}", users_path, i)));
  }
  std::vector<float> raw;
  std::vector<double> p, aff;
  std::vector<int32_t> seg;
  auto last_progress = Clock::now();
  for (size_t first = 0; first < n_users; first += o.batch) {
    const size_t count = std::min(o.batch, n_users - first);
    const UserProfiles b = source->read(first, count);
    const std::vector<float> scores = feature_scores(*choice.scorer, fs, b, first, model_ptr);
    raw.assign(count * nt * kNumFeatures, 0.0f);
    fs.features(b, scores.data(), raw.data());
    seg.assign(count, -1);
    if (seg_file) seg_file->fill(b, seg.data());
    else if (km) assign_segments(b.vectors.data(), count, b.dim, *km, seg.data());
    p.resize(count);
    aff.resize(count);
    for (size_t i = 0; i < nt; ++i) {
      for (size_t u = 0; u < count; ++u) {
        const float* r = raw.data() + (u * nt + i) * kNumFeatures;
        p[u] = cm.predict_raw(r);
        aff[u] = cm.affinity_raw(r);
        ranking[i]->add(p[u], float(aff[u]), first + u, b.user_ids[u]);
      }
      acc[i].add(b, p.data(), aff.data(), n_segments ? seg.data() : nullptr);
    }
    if (seconds_since(last_progress) >= 2.0 && first + count < n_users) {
      last_progress = Clock::now();
      spdlog::info("projected {}/{} users", first + count, n_users);
    }
  }

  // Results.
  json result{{"space", projection_space_name(o.space)},
              {"backend", choice.scorer->describe()},
              {"users", n_users},
              {"segments", n_segments},
              {"users_file", users_path},
              {"calibration", calibration_json(cal, cm)}};
  for (size_t i = 0; i < nt; ++i) {
    const NewTitle& t = titles[i];
    const AudienceEstimate a = acc[i].audience(cm);
    json jt{{"title_id", t.id}, {"name", t.name}, {"as_new", !o.as_new.empty()}};
    for (const auto& [tag, w] : t.tags) jt["tags"].push_back({{"tag", catalog.tag(tag).name}, {"weight", w}});
    jt["audience"] = {{"expected", a.expected}, {"sd", a.sd},     {"lo95", a.lo95}, {"hi95", a.hi95},
                      {"lo80", a.lo80},         {"hi80", a.hi80}, {"users", a.users},
                      {"share_of_users", a.users ? a.expected / double(a.users) : 0.0}};
    if (!o.as_new.empty()) jt["actual_viewers"] = actual_viewers[i];
    const std::vector<uint32_t> skip = held_out;
    jt["comparables"] = json::array();
    for (const auto& c : comparable_titles(ws.titles, vectors[i], o.comparables, acc[i].viewers(), skip))
      jt["comparables"].push_back({{"title_id", catalog.title(c.title).id},
                                   {"name", title_label(catalog, c.title)},
                                   {"similarity", c.similarity},
                                   {"viewers", c.viewers}});
    jt["cohorts"] = json::array();
    for (const auto& c : acc[i].cohorts(o.min_fans, o.cohorts, skip))
      jt["cohorts"].push_back({{"title_id", catalog.title(c.title).id},
                               {"name", title_label(catalog, c.title)},
                               {"fans", c.fans},
                               {"expected_fans", c.expected_fans},
                               {"audience_share", c.audience_share},
                               {"user_share", c.user_share},
                               {"lift", c.lift}});
    std::vector<SegmentShare> shares = acc[i].segments(vectors[i], o.emphasis_tags);
    jt["segments"] = json::array();
    for (const auto& s : shares) {
      json js{{"segment", s.segment},         {"users", s.users},   {"expected", s.expected},
              {"audience_share", s.audience_share}, {"user_share", s.user_share}, {"lift", s.lift},
              {"mean_affinity", s.mean_affinity}};
      js["emphasis"] = json::array();
      for (const auto& [tag, score] : s.emphasis)
        js["emphasis"].push_back({{"tag", catalog.tag(tag).name}, {"score", score}});
      jt["segments"].push_back(js);
    }
    if (o.trailers > 0) {
      // The trailer plan: segments ranked by expected viewers (the audience a cut reaches).
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
    jt["daypart"] = acc[i].daypart();
    result["titles"].push_back(jt);
  }

  AtomicFile users_out(users_path);
  users_out.write(nt == 1 ? "user_id,affinity,p_watch\n" : "title_id,user_id,affinity,p_watch\n");
  for (size_t i = 0; i < nt; ++i) ranking[i]->write(users_out, nt == 1 ? "" : csv_field(titles[i].id) + ",");
  users_out.commit();
  write_file_atomically(o.out_path, result.dump(2) + "\n");
  if (!o.report_path.empty()) write_projection_report(o.report_path, result);
  rejects.finish();

  if (summary_to) {
    for (const json& jt : result["titles"]) {
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
        fmt::print(summary_to, "  fans of {}: lift {:.2f} ({} fans, {:.0f} expected viewers)\n",
                   c["name"].get<std::string>(), c["lift"].get<double>(), c["fans"].get<size_t>(),
                   c["expected_fans"].get<double>());
      for (const json& s : jt["segments"])
        fmt::print(summary_to, "  segment {}: {} users, {:.0f} expected viewers, lift {:.2f}\n", s["segment"].get<int>(),
                   s["users"].get<size_t>(), s["expected"].get<double>(), s["lift"].get<double>());
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
    fmt::print(summary_to, "-> {} (JSON), {} (users){}\n", o.out_path, users_path,
               o.report_path.empty() ? "" : ", " + o.report_path + " (report)");
  }
  spdlog::info("project: {} title(s) over {} users in {:.1f} s; {}", nt, n_users, seconds_since(t0), rejects.summary());
  return result;
}

// ------------------------------------------------------------------------------------------------
// segment
// ------------------------------------------------------------------------------------------------

json run_segment_job(const SegmentJobOptions& o, std::FILE* summary_to) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "segment needs --out FILE");
  MARQUEE_CHECK_ARG(o.batch >= 1 && o.batch <= kMaxBatchUsers, "--batch must be between 1 and {}; got {}",
                    kMaxBatchUsers, o.batch);
  const KMeansBackend backend = choose_kmeans_backend(o.backend);  // before any work: cuda may be unusable
  RejectLog rejects(o.common.rejects_path.empty() ? o.out_path + ".rejects.csv" : o.common.rejects_path,
                    o.common.strict);
  Workspace ws = open_workspace(o.input, rejects);
  ProfileSource& source = *ws.profiles;
  const KMeansResult km = train_segments(source, o.kmeans, o.batch, backend);

  const std::string stem = strip_extension(o.out_path);
  AtomicFile out(o.out_path);
  out.write("user_id,segment\n");
  SegmentDescriber describer(km.k, ws.titles.dim(), ws.catalog.num_titles());
  std::vector<int32_t> seg;
  size_t unassigned = 0;
  for (size_t first = 0; first < source.users(); first += o.batch) {
    const size_t count = std::min(o.batch, source.users() - first);
    const UserProfiles b = source.read(first, count);
    seg.assign(count, -1);
    assign_segments(b.vectors.data(), count, b.dim, km, seg.data());
    std::string rows;
    for (size_t u = 0; u < count; ++u) {
      rows += fmt::format("{},{}\n", csv_field(b.user_ids[u]), seg[u]);
      unassigned += seg[u] < 0;
    }
    out.write(rows);
    describer.add(b, seg.data());
  }
  AtomicFile centroids(stem + ".centroids.csv");
  centroids.write("segment,tag,value\n");
  for (size_t s = 0; s < km.k; ++s) {
    std::string rows;
    for (size_t j = 0; j < km.dim; ++j)
      rows += fmt::format("{},{},{:.7g}\n", s, csv_field(ws.catalog.tag(uint32_t(j)).name), km.centroids[s * km.dim + j]);
    centroids.write(rows);
  }
  // The mean user the vectors were centred on: centroids live in the centred space, and a user's
  // segment is the largest cosine of (v - mean) / |v - mean| with them.
  std::optional<AtomicFile> mean_file;
  if (!km.mean.empty()) {
    mean_file.emplace(stem + ".mean.csv");
    std::string rows = "tag,value\n";
    for (size_t j = 0; j < km.dim; ++j)
      rows += fmt::format("{},{:.7g}\n", csv_field(ws.catalog.tag(uint32_t(j)).name), km.mean[j]);
    mean_file->write(rows);
  }
  const std::vector<SegmentDescription> desc = describer.describe(o.top_tags, o.top_titles);
  size_t largest = 0, smallest = source.users();
  for (const auto& d : desc) {
    largest = std::max(largest, d.users);
    smallest = std::min(smallest, d.users);
  }
  const size_t assigned = source.users() - unassigned;
  json j{{"segments", km.k},
         {"users", source.users()},
         {"unassigned_users", unassigned},
         {"backend", backend.name()},
         {"seed", o.kmeans.seed},
         {"iterations", o.kmeans.iterations},
         {"centered", !km.mean.empty()},
         {"objective", km.objective},
         {"reseeded", km.reseeded},
         {"faiss_splits", km.faiss_splits},
         {"largest_share", assigned ? double(largest) / double(assigned) : 0.0},
         {"largest_to_smallest", smallest ? double(largest) / double(smallest) : 0.0},
         {"assignments", o.out_path},
         {"centroids", stem + ".centroids.csv"}};
  if (mean_file) j["mean"] = stem + ".mean.csv";
  for (const auto& d : desc) {
    json js{{"segment", d.segment}, {"users", d.users}, {"daypart", d.daypart}};
    js["tags"] = json::array();
    for (const auto& [tag, over] : d.tags) js["tags"].push_back({{"tag", ws.catalog.tag(tag).name}, {"over", over}});
    js["titles"] = json::array();
    for (const auto& t : d.titles)
      js["titles"].push_back({{"title_id", ws.catalog.title(t.title).id},
                              {"name", title_label(ws.catalog, t.title)},
                              {"viewers", t.viewers},
                              {"share", t.share},
                              {"lift", t.lift}});
    j["descriptions"].push_back(js);
  }
  out.commit();
  centroids.commit();
  if (mean_file) mean_file->commit();
  write_file_atomically(stem + ".json", j.dump(2) + "\n");
  rejects.finish();
  if (summary_to) {
    fmt::print(summary_to, "{} segments of {} users ({} without usable signal, segment -1){}; k-means on {}\n", km.k,
               source.users(), unassigned, km.mean.empty() ? "" : ", centred on the mean user", backend.name());
    if (assigned > 0)
      fmt::print(summary_to, "largest segment {} users ({:.1f} % of those assigned), smallest {}\n", largest,
                 100.0 * double(largest) / double(assigned), smallest);
    if (!km.reseeded.empty())
      fmt::print(summary_to, "re-seeded empty segments: {}\n", fmt::join(km.reseeded, ", "));
    for (const auto& d : desc) {
      std::string tags, ts;
      for (size_t i = 0; i < d.tags.size() && i < 5; ++i)
        tags += (tags.empty() ? "" : ", ") + ws.catalog.tag(d.tags[i].first).name;
      for (size_t i = 0; i < d.titles.size() && i < 3; ++i)
        ts += (ts.empty() ? "" : "; ") + title_label(ws.catalog, d.titles[i].title);
      const size_t peak = size_t(std::max_element(d.daypart.begin(), d.daypart.end()) - d.daypart.begin());
      fmt::print(summary_to, "  segment {}: {} users; tags: {}; titles: {}; peak {:02d}:00\n", d.segment, d.users, tags,
                 ts, peak);
    }
    fmt::print(summary_to, "-> {}, {}.centroids.csv{}, {}.json\n", o.out_path, stem,
               mean_file ? ", " + stem + ".mean.csv" : std::string(), stem);
  }
  spdlog::info("segment: {} users into {} segments in {:.1f} s; {}", source.users(), km.k, seconds_since(t0),
               rejects.summary());
  return j;
}

// ------------------------------------------------------------------------------------------------
// eval-projection
// ------------------------------------------------------------------------------------------------

json run_eval_projection_job(const EvalProjectionOptions& o, std::FILE* table_to) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(o.titles >= 1, "--titles must be at least 1");
  MARQUEE_CHECK_ARG(o.space == "tags" || o.space == "hybrid" || o.space == "both",
                    "unknown --space '{}': expected tags, hybrid or both", o.space);
  RejectLog rejects(o.common.rejects_path, o.common.strict);
  Workspace ws = open_catalog(o.catalog_dir, rejects);
  const UserProfiles all =
      build_profiles_from_file(ws.catalog, ws.titles, o.events_path, o.engagement, rejects, nullptr, nullptr);
  rejects.finish();
  const size_t n = all.size(), T = ws.catalog.num_titles();
  MARQUEE_CHECK_INPUT(n > 0, "no users in {}", o.events_path);

  // Held-out titles: a seeded draw among tagged titles with enough viewers.
  std::vector<uint32_t> viewers(T, 0);
  for (const SeenTitle& s : all.seen) ++viewers[s.title];
  std::vector<uint32_t> pool;
  for (uint32_t t = 0; t < T; ++t)
    if (viewers[t] >= o.min_viewers && ws.titles.row_ptr()[t + 1] > ws.titles.row_ptr()[t]) pool.push_back(t);
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

  // Models compared: the projection in each space, and baselines (same calibration, fewer features).
  struct ModelSpec {
    std::string name;
    ProjectionSpace space;
    unsigned mask;
  };
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
  // One calibration per space, on profiles without any held-out title (none of them leaks into it).
  const UserProfiles without_held = remove_titles(all, ws.titles, held);
  std::map<ProjectionSpace, Calibration> cals;
  for (ProjectionSpace sp : {ProjectionSpace::Tags, ProjectionSpace::Hybrid}) {
    std::vector<unsigned> masks;
    for (const auto& s : specs)
      if (s.space == sp) masks.push_back(s.mask);
    if (!masks.empty()) cals[sp] = calibrate(ws.titles, without_held, sp, masks, held, o.calibration);
  }

  struct Row {
    uint32_t title;
    size_t actual;
    std::vector<double> auc, predicted;
  };
  std::vector<Row> rows;
  std::vector<double> p(n);
  std::vector<uint8_t> label(n);
  for (uint32_t h : held) {
    const auto t_title = Clock::now();
    Row row{h, viewers[h], std::vector<double>(specs.size(), 0.0), std::vector<double>(specs.size(), 0.0)};
    for (size_t u = 0; u < n; ++u)
      label[u] = std::binary_search(all.seen_begin(u), all.seen_end(u), SeenTitle{h, 0, 0, {}},
                                    [](const SeenTitle& a, const SeenTitle& b) { return a.title < b.title; });
    const UserProfiles ph = remove_titles(all, ws.titles, {h});
    const std::vector<std::vector<float>> vec{new_title_vector(ws.titles, catalog_title_as_new(ws.catalog, h))};
    for (ProjectionSpace sp : {ProjectionSpace::Tags, ProjectionSpace::Hybrid}) {
      if (!cals.count(sp)) continue;
      RecommenderModel model;
      if (sp == ProjectionSpace::Hybrid)
        model = fit_recommender(ws.titles, ph, o.calibration.als, HybridWeights{1.0f, 0.0f, 0.0f});
      const RecommenderModel* mp = sp == ProjectionSpace::Hybrid ? &model : nullptr;
      const FeatureSpace fs = make_feature_space(sp, ws.titles, vec, mp);
      ScorerChoice choice = choose_scorer(o.backend, fs.rows, o.scorer);
      std::vector<float> raw(n * kNumFeatures);
      constexpr size_t kBatch = 16384;
      for (size_t first = 0; first < n; first += kBatch) {
        const size_t count = std::min(kBatch, n - first);
        const UserProfiles b = slice_profiles(ph, first, count);
        const std::vector<float> scores = feature_scores(*choice.scorer, fs, b, first, mp);
        fs.features(b, scores.data(), raw.data() + first * kNumFeatures);
      }
      for (size_t m = 0; m < specs.size(); ++m) {
        if (specs[m].space != sp) continue;
        const CalibratedModel& cm = cals[sp].model(specs[m].mask);
        double sum = 0;
        for (size_t u = 0; u < n; ++u) sum += (p[u] = cm.predict_raw(raw.data() + u * kNumFeatures));
        row.auc[m] = auc_mann_whitney(p, label);
        row.predicted[m] = sum;
      }
    }
    spdlog::debug("eval-projection: {} in {:.1f} s", ws.catalog.title(h).id, seconds_since(t_title));
    rows.push_back(std::move(row));
  }

  json j{{"users", n},
         {"titles", T},
         {"held_out", held.size()},
         {"min_viewers", o.min_viewers},
         {"seed", o.seed},
         {"calibration_titles", o.calibration.titles},
         {"calibration_users", o.calibration.users}};
  for (const auto& [sp, cal] : cals)
    for (const auto& cm : cal.models) j["calibration"][projection_space_name(sp)].push_back(calibration_json(cal, cm));
  std::string csv = "title_id,actual";
  for (const auto& s : specs) csv += fmt::format(",{0}_auc,{0}_predicted", s.name);
  csv += "\n";
  for (const Row& r : rows) {
    json jr{{"title_id", ws.catalog.title(r.title).id}, {"actual", r.actual}};
    csv += fmt::format("{},{}", csv_field(ws.catalog.title(r.title).id), r.actual);
    for (size_t m = 0; m < specs.size(); ++m) {
      jr[specs[m].name] = {{"auc", r.auc[m]}, {"predicted", r.predicted[m]}};
      csv += fmt::format(",{:.6f},{:.2f}", r.auc[m], r.predicted[m]);
    }
    csv += "\n";
    j["rows"].push_back(jr);
  }
  // Summary per model: mean AUC, audience-size error (median absolute relative error and mean
  // absolute log ratio), and for the projections, titles where they beat the activity baseline.
  for (size_t m = 0; m < specs.size(); ++m) {
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
    j["summary"].push_back({{"model", specs[m].name},
                            {"features", feature_names(specs[m].mask)},
                            {"space", projection_space_name(specs[m].space)},
                            {"mean_auc", auc_n ? auc / double(auc_n) : std::nan("")},
                            {"median_abs_rel_error", median_rel},
                            {"mean_abs_log_ratio", mean_log},
                            {"titles_beating_activity", wins}});
  }
  if (table_to) {
    fmt::print(table_to, "held out {} titles one at a time ({} users, {} titles, >= {} viewers each)\n", rows.size(), n,
               T, o.min_viewers);
    fmt::print(table_to, "{:<12} {:>7}", "title", "actual");
    for (const auto& s : specs) fmt::print(table_to, " {:>18}", s.name);
    fmt::print(table_to, "\n{:<12} {:>7}", "", "");
    for (size_t m = 0; m < specs.size(); ++m) fmt::print(table_to, " {:>18}", "AUC / predicted");
    fmt::print(table_to, "\n");
    for (const Row& r : rows) {
      fmt::print(table_to, "{:<12} {:>7}", ws.catalog.title(r.title).id, r.actual);
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
  if (!o.out_path.empty()) write_file_atomically(o.out_path, j.dump(2) + "\n");
  if (!o.rows_path.empty()) write_file_atomically(o.rows_path, csv);
  spdlog::info("eval-projection: {} titles in {:.1f} s", rows.size(), seconds_since(t0));
  return j;
}

}  // namespace marquee
