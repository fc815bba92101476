#include "engine/profiles.h"

#include "engine/error.h"

#include <algorithm>
#include <tuple>

namespace marquee {

namespace {
bool same_event(const Event& a, const Event& b) {
  return a.user == b.user && a.title == b.title && a.ts == b.ts && a.type == b.type && a.position_s == b.position_s &&
         (a.type != EventType::Seek || a.seek_to_s == b.seek_to_s);
}

// Events grouped by user, in the order of one stable sort by (user, title, ts) (events with equal
// timestamps keep their file order: play before pause at the same second): a counting sort by user
// (stable, one pass), then each user's events, a few hundred at most in practice, sorted in cache.
struct ByUser {
  std::vector<Event> events;
  std::vector<size_t> start;  // user u's events: [start[u], start[u + 1]) (before duplicates are dropped)
};

ByUser group_by_user(std::vector<Event> events, size_t n_users, size_t n_titles) {
  ByUser g;
  g.start.assign(n_users + 1, 0);
  bool grouped = true;  // users already in order: a file written user by user needs no second copy
  for (size_t i = 0; i < events.size(); ++i) {  // checked here, before an index is used
    const Event& ev = events[i];
    MARQUEE_CHECK_ARG(ev.user < n_users, "event for user index {} but only {} users", ev.user, n_users);
    MARQUEE_CHECK_ARG(ev.title < n_titles, "event for title index {} but only {} titles", ev.title, n_titles);
    ++g.start[ev.user + 1];
    grouped = grouped && (i == 0 || events[i - 1].user <= ev.user);
  }
  for (size_t u = 0; u < n_users; ++u) {
    MARQUEE_CHECK_ARG(g.start[u + 1] < (size_t(1) << 32), "user index {} has {} events, more than 2^32", u,
                      g.start[u + 1]);
    g.start[u + 1] += g.start[u];
  }
  if (grouped) {  // the counting sort would copy them in the same order
    g.events = std::move(events);
    return g;
  }
  g.events.resize(events.size());
  std::vector<size_t> next(g.start.begin(), g.start.end() - 1);
  for (const Event& ev : events) g.events[next[ev.user]++] = ev;
  return g;
}

// One user's events, sorted: drops exact duplicates, moving the kept ones to the front, and returns
// how many are kept. A duplicate is dropped wherever it falls among the events of the same (title,
// ts): play, pause, play again in one second repeats the play even though the pause sits between.
// Runs of one timestamp are a handful of events, so each is compared with the kept ones of its run.
size_t drop_duplicates(Event* events, size_t count, std::vector<std::pair<uint32_t, uint32_t>>& duplicates) {
  size_t kept = 0;
  size_t run = 0;  // first kept event of the current (title, ts) run
  for (size_t i = 0; i < count; ++i) {
    const Event& e = events[i];
    if (kept == 0 || std::tie(events[kept - 1].title, events[kept - 1].ts) != std::tie(e.title, e.ts)) run = kept;
    size_t twin = kept;
    for (size_t k = run; k < kept; ++k)
      if (same_event(events[k], e)) {
        twin = k;
        break;
      }
    if (twin < kept) {
      duplicates.emplace_back(e.line, events[twin].line);
      continue;
    }
    events[kept++] = e;
  }
  return kept;
}
}  // namespace

UserProfiles build_profiles(const Catalog& catalog, const TitleMatrix& titles, std::vector<Event> events,
                            std::vector<std::string> user_ids, const EngagementOptions& options,
                            ProfileBuildStats* stats_out, ProfileVectors keep) {
  ProfileBuildStats stats;
  const size_t n_users = user_ids.size();
  const size_t dim = titles.dim();
  ByUser g = group_by_user(std::move(events), n_users, catalog.num_titles());
  const auto users = (long long)n_users;

  // Users are independent: each one's events are sorted, deduplicated and summed by one thread, in
  // the order a serial loop would, so the result is the same bytes for any number of threads.
  // Pass 1: sort and drop duplicates; count each user's titles (into seen_offsets[u + 1]) and find
  // the latest event.
  std::vector<uint32_t> kept(n_users);
  std::vector<uint64_t> seen_offsets(n_users + 1, 0);
  std::vector<std::pair<uint32_t, std::pair<uint32_t, uint32_t>>> duplicates;  // (user, (line, twin))
  int64_t latest = 0;
#pragma omp parallel reduction(max : latest)
  {
    std::vector<std::pair<uint32_t, uint32_t>> dups;
    std::vector<std::pair<uint32_t, std::pair<uint32_t, uint32_t>>> mine;
#pragma omp for schedule(dynamic, 1024)
    for (long long u = 0; u < users; ++u) {
      Event* first = g.events.data() + g.start[u];
      Event* last = g.events.data() + g.start[u + 1];
      std::stable_sort(first, last, [](const Event& a, const Event& b) {
        return std::tie(a.title, a.ts) < std::tie(b.title, b.ts);
      });
      dups.clear();
      kept[u] = uint32_t(drop_duplicates(first, size_t(last - first), dups));
      for (const auto& d : dups) mine.emplace_back(uint32_t(u), d);
      uint64_t t = 0;
      for (size_t i = 0; i < kept[u]; ++i) {
        if (i == 0 || first[i].title != first[i - 1].title) ++t;
        latest = std::max(latest, first[i].ts);
      }
      seen_offsets[u + 1] = t;
    }
#pragma omp critical
    duplicates.insert(duplicates.end(), mine.begin(), mine.end());
  }
  // Duplicates in user order, each user's in its own order (one thread saw all of them).
  std::stable_sort(duplicates.begin(), duplicates.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& d : duplicates) stats.duplicates.push_back(d.second);
  for (size_t u = 0; u < n_users; ++u) {
    stats.events_used += kept[u];
    seen_offsets[u + 1] += seen_offsets[u];
  }

  const int64_t as_of = options.as_of != 0 ? options.as_of : latest;
  stats.as_of = as_of;

  EngagementModel model(options);
  UserProfiles p;
  const bool keep_vectors = keep == ProfileVectors::Tags;
  p.dim = keep_vectors ? dim : 0;
  p.user_ids = std::move(user_ids);
  p.vectors.assign(keep_vectors ? n_users * dim : 0, 0.0f);
  p.seen_offsets = std::move(seen_offsets);
  p.seen.resize(p.seen_offsets[n_users]);
  p.summaries.assign(n_users, UserSummary{});

  // Pass 2: each user's titles, summary and vector.
  size_t unusable = 0;
#pragma omp parallel reduction(+ : unusable)
  {
    std::vector<float> scratch(keep_vectors ? 0 : dim);  // without kept vectors: for the usable flag only
#pragma omp for schedule(dynamic, 1024)
    for (long long u = 0; u < users; ++u) {
      const Event* ev = g.events.data() + g.start[u];
      const size_t n = kept[u];
      UserSummary& sum = p.summaries[u];
      float* vec = keep_vectors ? p.vectors.data() + u * dim : scratch.data();
      if (!keep_vectors) std::fill(scratch.begin(), scratch.end(), 0.0f);
      SeenTitle* seen = p.seen.data() + p.seen_offsets[u];
      for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && ev[j].title == ev[i].title) ++j;
        const uint32_t t = ev[i].title;
        const double duration = catalog.title(t).duration_s;
        const Engagement e = model.summarise(ev + i, j - i, duration);
        const float w = e.weight * model.recency(e.last_ts, as_of);
        *seen++ = SeenTitle{t, w, uint8_t(e.completed)};
        sum.events += uint32_t(j - i);
        sum.titles += 1;
        sum.completed += e.completed;
        sum.abandoned += e.abandoned;
        sum.watched_s += float(e.watched_s);
        for (size_t k = i; k < j; ++k)
          if (ev[k].type == EventType::Play) ++sum.daypart[ev[k].local_hour % 24];
        if (w != 0.0f) {
          // Sparse row: a title carries tens of tags out of hundreds.
          for (uint64_t k = titles.row_ptr()[t]; k < titles.row_ptr()[t + 1]; ++k)
            vec[titles.col_idx()[k]] += w * titles.values()[k];
        }
        i = j;
      }
      sum.usable = l2_normalise(vec, dim) > 1e-12 ? 1 : 0;
      if (!sum.usable) {
        std::fill(vec, vec + dim, 0.0f);
        ++unusable;
      }
    }
  }
  stats.unusable_users = unusable;
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
