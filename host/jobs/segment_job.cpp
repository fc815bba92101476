#include "host/jobs/segment_job.h"

#include "engine/clock.h"
#include "engine/error.h"
#include "host/backend/resolver.h"
#include "host/io/atomic_file.h"
#include "host/io/progress.h"
#include "host/io/segments_io.h"
#include "host/jobs/projection_common.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace marquee {
namespace {

using json = nlohmann::json;

// Every user's segment, batch by batch, into the assignments file and the describer; returns how
// many users got none (no usable signal).
size_t assign_all_users(ProfileSource& source, const KMeansResult& km, size_t batch, SegmentsWriter& writer,
                        SegmentDescriber& describer) {
  std::vector<int32_t> seg;
  size_t unassigned = 0;
  Progress progress("segment: assigning", "users", double(source.users()));
  for (size_t first = 0; first < source.users(); first += batch) {
    const size_t count = std::min(batch, source.users() - first);
    const UserProfiles b = source.read(first, count);
    seg.assign(count, -1);
    assign_segments(b.vectors.data(), count, b.dim, km, seg.data());
    unassigned += writer.write(b, seg.data());
    describer.add(b, seg.data());
    progress.update(double(first + count));
  }
  return unassigned;
}

// What the JSON result and the summary both report.
struct SegmentRun {
  SegmentRun(const KMeansResult& model, const char* backend_name, size_t user_count)
      : km(model), backend(backend_name), users(user_count) {}
  const KMeansResult& km;
  const char* backend;
  size_t users = 0, unassigned = 0, assigned = 0;
  size_t largest = 0, smallest = 0;  // users in the largest and the smallest segment
  std::string stem;                  // <stem>.centroids.csv, <stem>.mean.csv, <stem>.json
  bool has_mean = false;
};

json segment_json(const SegmentJobOptions& o, const Catalog& catalog, const SegmentRun& run,
                  const std::vector<SegmentDescription>& desc) {
  const KMeansResult& km = run.km;
  json j{{"segments", km.k},
         {"users", run.users},
         {"unassigned_users", run.unassigned},
         {"backend", run.backend},
         {"seed", o.kmeans.seed},
         {"iterations", o.kmeans.iterations},
         {"centered", !km.mean.empty()},
         {"objective", km.objective},
         {"reseeded", km.reseeded},
         {"faiss_splits", km.faiss_splits},
         {"largest_share", run.assigned ? double(run.largest) / double(run.assigned) : 0.0},
         {"largest_to_smallest", run.smallest ? double(run.largest) / double(run.smallest) : 0.0},
         {"assignments", o.out_path},
         {"centroids", run.stem + ".centroids.csv"}};
  if (run.has_mean) j["mean"] = run.stem + ".mean.csv";
  for (const auto& d : desc) {
    json js{{"segment", d.segment}, {"users", d.users}, {"daypart", d.daypart}};
    js["tags"] = json::array();
    for (const auto& [tag, over] : d.tags) js["tags"].push_back({{"tag", catalog.tag(tag).name}, {"over", over}});
    js["titles"] = json::array();
    for (const auto& t : d.titles)
      js["titles"].push_back({{"title_id", catalog.title(t.title).id},
                              {"name", title_label(catalog, t.title)},
                              {"viewers", t.viewers},
                              {"share", t.share},
                              {"lift", t.lift}});
    j["descriptions"].push_back(js);
  }
  return j;
}

void print_segment_summary(std::FILE* to, const SegmentJobOptions& o, const Catalog& catalog, const SegmentRun& run,
                           const std::vector<SegmentDescription>& desc) {
  const KMeansResult& km = run.km;
  fmt::print(to, "{} segments of {} users ({} without usable signal, segment -1){}; k-means on {}\n", km.k,
             run.users, run.unassigned, km.mean.empty() ? "" : ", centred on the mean user", run.backend);
  if (run.assigned > 0)
    fmt::print(to, "largest segment {} users ({:.1f} % of those assigned), smallest {}\n", run.largest,
               100.0 * double(run.largest) / double(run.assigned), run.smallest);
  if (!km.reseeded.empty())
    fmt::print(to, "re-seeded empty segments: {}\n", fmt::join(km.reseeded, ", "));
  for (const auto& d : desc) {
    std::string tags, ts;
    for (size_t i = 0; i < d.tags.size() && i < 5; ++i)
      tags += (tags.empty() ? "" : ", ") + catalog.tag(d.tags[i].first).name;
    for (size_t i = 0; i < d.titles.size() && i < 3; ++i)
      ts += (ts.empty() ? "" : "; ") + title_label(catalog, d.titles[i].title);
    const size_t peak = size_t(std::max_element(d.daypart.begin(), d.daypart.end()) - d.daypart.begin());
    fmt::print(to, "  segment {}: {} users; tags: {}; titles: {}; peak {:02d}:00\n", d.segment, d.users,
               tags.empty() ? "(none over-weighted)" : tags, ts.empty() ? "(none)" : ts, peak);
  }
  fmt::print(to, "-> {}, {}.centroids.csv{}, {}.json\n", o.out_path, run.stem,
             run.has_mean ? ", " + run.stem + ".mean.csv" : std::string(), run.stem);
}

}  // namespace

json run_segment_job(const SegmentJobOptions& o, std::FILE* summary_to) {
  const auto t0 = Clock::now();
  MARQUEE_CHECK_ARG(!o.out_path.empty(), "segment needs --out FILE");
  MARQUEE_CHECK_ARG(o.batch >= 1 && o.batch <= kMaxBatchUsers, "--batch must be between 1 and {}; got {}",
                    kMaxBatchUsers, o.batch);
  const KMeansBackend backend = choose_kmeans_backend(o.backend);  // before any work: cuda may be unusable
  RejectLog rejects = job_rejects(o.common, o.out_path);
  Workspace ws = open_workspace(o.input, rejects);
  ProfileSource& source = *ws.profiles;
  const KMeansResult km = train_segments(source, o.kmeans, o.batch, backend);

  SegmentRun run{km, backend.name(), source.users()};
  run.stem = strip_extension(o.out_path);
  SegmentsWriter writer(o.out_path);
  SegmentDescriber describer(km.k, ws.titles.dim(), ws.catalog.num_titles());
  run.unassigned = assign_all_users(source, km, o.batch, writer, describer);
  writer.write_model(run.stem, km, ws.catalog);
  run.has_mean = writer.has_mean();
  const std::vector<SegmentDescription> desc = describer.describe(o.top_tags, o.top_titles);
  run.smallest = source.users();
  for (const auto& d : desc) {
    run.largest = std::max(run.largest, d.users);
    run.smallest = std::min(run.smallest, d.users);
  }
  run.assigned = source.users() - run.unassigned;
  json j = segment_json(o, ws.catalog, run, desc);
  writer.commit();
  write_file_atomically(run.stem + ".json", j.dump(2) + "\n");
  rejects.finish();
  if (summary_to) print_segment_summary(summary_to, o, ws.catalog, run, desc);
  spdlog::info("segment: {} users into {} segments in {:.1f} s; {}", source.users(), km.k, seconds_since(t0),
               rejects.summary());
  return j;
}

}  // namespace marquee
