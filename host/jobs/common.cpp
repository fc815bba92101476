#include "host/jobs/common.h"

#include "engine/explain.h"

#include <fmt/format.h>

#include <algorithm>

namespace marquee {
namespace {

int peak_hour(const UserSummary& s) {
  return int(std::max_element(s.daypart.begin(), s.daypart.end()) - s.daypart.begin());
}

}  // namespace

std::string rejects_path_for(const CommonOptions& c, const std::string& out_path) {
  return c.rejects_path.empty() ? out_path + ".rejects.csv" : c.rejects_path;
}

RejectLog job_rejects(const CommonOptions& c, const std::string& out_path) {
  return RejectLog(rejects_path_for(c, out_path), c.strict, c.max_reject_rate, 10, c.rejects_path.empty());
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

}  // namespace marquee
