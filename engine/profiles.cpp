#include "engine/profiles.h"

#include "engine/error.h"

#include <algorithm>
#include <tuple>

namespace marquee {

namespace {
// The order of one stable sort by (user, title, ts), so that events with equal timestamps keep their
// file order (play before pause at the same second): a counting sort by user (stable, one pass),
// then each user's events, a few hundred at most in practice, sorted in cache on every core.
std::vector<Event> sort_by_user_title_ts(std::vector<Event> events, size_t n_users) {
  std::vector<size_t> start(n_users + 1, 0);
  for (const Event& ev : events) ++start[ev.user + 1];
  for (size_t u = 0; u < n_users; ++u) start[u + 1] += start[u];
  std::vector<Event> sorted(events.size());
  {
    std::vector<size_t> next(start.begin(), start.end() - 1);
    for (const Event& ev : events) sorted[next[ev.user]++] = ev;
  }
  events = {};
#pragma omp parallel for schedule(dynamic, 1024)
  for (long long u = 0; u < (long long)n_users; ++u)
    std::stable_sort(sorted.begin() + start[u], sorted.begin() + start[u + 1], [](const Event& a, const Event& b) {
      return std::tie(a.title, a.ts) < std::tie(b.title, b.ts);
    });
  return sorted;
}

bool same_event(const Event& a, const Event& b) {
  return a.user == b.user && a.title == b.title && a.ts == b.ts && a.type == b.type &&
         a.position_s == b.position_s && (a.type != EventType::Seek || a.seek_to_s == b.seek_to_s);
}
}  // namespace

UserProfiles build_profiles(const Catalog& catalog, const TitleMatrix& titles, std::vector<Event> events,
                            std::vector<std::string> user_ids, const EngagementOptions& options,
                            ProfileBuildStats* stats_out, ProfileVectors keep) {
  ProfileBuildStats stats;
  const size_t n_users = user_ids.size();
  const size_t dim = titles.dim();
  for (const auto& ev : events) {
    MARQUEE_CHECK_ARG(ev.user < n_users, "event for user index {} but only {} users", ev.user, n_users);
    MARQUEE_CHECK_ARG(ev.title < catalog.num_titles(), "event for title index {} but only {} titles", ev.title,
                      catalog.num_titles());
  }

  events = sort_by_user_title_ts(std::move(events), n_users);
  // An exact duplicate is dropped wherever it falls among the events of the same (user, title, ts):
  // play, pause, play again in one second repeats the play even though the pause sits between.
  // Runs of one timestamp are a handful of events, so each is compared with the kept ones of its run.
  size_t kept = 0;
  size_t run = 0;  // first kept event of the current (user, title, ts) run
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (kept == 0 || std::tie(events[kept - 1].user, events[kept - 1].title, events[kept - 1].ts) !=
                         std::tie(e.user, e.title, e.ts))
      run = kept;
    size_t twin = kept;
    for (size_t k = run; k < kept; ++k)
      if (same_event(events[k], e)) {
        twin = k;
        break;
      }
    if (twin < kept) {
      stats.duplicates.emplace_back(e.line, events[twin].line);
      continue;
    }
    events[kept++] = e;
  }
  events.resize(kept);
  stats.events_used = kept;

  int64_t as_of = options.as_of;
  if (as_of == 0)
    for (const auto& ev : events) as_of = std::max(as_of, ev.ts);
  stats.as_of = as_of;

  EngagementModel model(options);
  UserProfiles p;
  const bool keep_vectors = keep == ProfileVectors::Tags;
  p.dim = keep_vectors ? dim : 0;
  p.user_ids = std::move(user_ids);
  p.vectors.assign(keep_vectors ? n_users * dim : 0, 0.0f);
  std::vector<float> scratch(keep_vectors ? 0 : dim);  // the vector, for the usable flag only
  p.seen_offsets.assign(n_users + 1, 0);
  p.summaries.assign(n_users, UserSummary{});

  size_t i = 0;
  for (size_t u = 0; u < n_users; ++u) {
    UserSummary& sum = p.summaries[u];
    float* vec = keep_vectors ? p.vectors.data() + u * dim : scratch.data();
    if (!keep_vectors) std::fill(scratch.begin(), scratch.end(), 0.0f);
    while (i < events.size() && events[i].user == u) {
      size_t j = i;
      while (j < events.size() && events[j].user == u && events[j].title == events[i].title) ++j;
      const uint32_t t = events[i].title;
      const double duration = catalog.title(t).duration_s;
      const Engagement e = model.summarise(events.data() + i, j - i, duration);
      const float w = e.weight * model.recency(e.last_ts, as_of);
      p.seen.push_back(SeenTitle{t, w, uint8_t(e.completed)});
      sum.events += uint32_t(j - i);
      sum.titles += 1;
      sum.completed += e.completed;
      sum.abandoned += e.abandoned;
      sum.watched_s += float(e.watched_s);
      for (size_t k = i; k < j; ++k)
        if (events[k].type == EventType::Play) ++sum.daypart[events[k].local_hour % 24];
      if (w != 0.0f) {
        // Sparse row: a title carries tens of tags out of hundreds.
        for (uint64_t k = titles.row_ptr()[t]; k < titles.row_ptr()[t + 1]; ++k)
          vec[titles.col_idx()[k]] += w * titles.values()[k];
      }
      i = j;
    }
    p.seen_offsets[u + 1] = p.seen.size();
    sum.usable = l2_normalise(vec, dim) > 1e-12 ? 1 : 0;
    if (!sum.usable) {
      std::fill(vec, vec + dim, 0.0f);
      ++stats.unusable_users;
    }
  }
  if (stats_out) *stats_out = std::move(stats);
  return p;
}

UserProfiles select_users(const UserProfiles& p, const std::vector<size_t>& which) {
  UserProfiles out;
  out.dim = p.dim;
  out.seen_offsets.push_back(0);
  for (size_t u : which) {
    out.user_ids.push_back(p.user_ids[u]);
    out.vectors.insert(out.vectors.end(), p.vector(u), p.vector(u) + p.dim);
    out.seen.insert(out.seen.end(), p.seen_begin(u), p.seen_end(u));
    out.seen_offsets.push_back(out.seen.size());
    out.summaries.push_back(p.summaries[u]);
  }
  return out;
}

}  // namespace marquee
