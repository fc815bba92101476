// build_profiles against the serial loop it replaced (a copy below): the same profiles and the same
// duplicates in the same order, for any number of threads.
#include "engine/profiles.h"

#include "engine/error.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <tuple>

using namespace marquee;

namespace {
namespace reference {
bool same_event(const Event& a, const Event& b) {
  return a.user == b.user && a.title == b.title && a.ts == b.ts && a.type == b.type &&
         a.position_s == b.position_s && (a.type != EventType::Seek || a.seek_to_s == b.seek_to_s);
}

UserProfiles build_profiles(const Catalog& catalog, const TitleMatrix& titles, std::vector<Event> events,
                            std::vector<std::string> user_ids, const EngagementOptions& options,
                            ProfileBuildStats* stats_out) {
  ProfileBuildStats stats;
  const size_t n_users = user_ids.size();
  const size_t dim = titles.dim();
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.user, a.title, a.ts) < std::tie(b.user, b.title, b.ts);
  });
  size_t kept = 0, run = 0;
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
  p.dim = dim;
  p.user_ids = std::move(user_ids);
  p.vectors.assign(n_users * dim, 0.0f);
  p.seen_offsets.assign(n_users + 1, 0);
  p.summaries.assign(n_users, UserSummary{});
  size_t i = 0;
  for (size_t u = 0; u < n_users; ++u) {
    UserSummary& sum = p.summaries[u];
    float* vec = p.vectors.data() + u * dim;
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
      if (w != 0.0f)
        for (uint64_t k = titles.row_ptr()[t]; k < titles.row_ptr()[t + 1]; ++k)
          vec[titles.col_idx()[k]] += w * titles.values()[k];
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
}  // namespace reference

template <class T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}
}  // namespace

TEST(BuildProfiles, SameBytesAsTheSerialLoopForAnyNumberOfThreads) {
  const unsigned seed = 4242;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  Catalog catalog;
  for (int g = 0; g < 12; ++g) catalog.add_tag(Tag{"tag" + std::to_string(g), "genre"});
  for (int t = 0; t < 40; ++t) {
    catalog.add_title(Title{"t" + std::to_string(t), "", double(600 + 60 * t), 2000});
    for (int g = 0; g < 12; ++g)
      if ((t + g) % 4 == 0) catalog.add_assignment({uint32_t(t), uint32_t(g), float(0.25 + 0.05 * g)});
  }
  const TitleMatrix titles = TitleMatrix::build(catalog);
  // 3000 users, some with nothing (no events) or only a pause (no usable signal); ties of (title,
  // ts) in file order, and exact duplicates next to each other and apart.
  std::vector<std::string> users;
  for (int u = 0; u < 3000; ++u) users.push_back("u" + std::to_string(u));
  std::vector<Event> events;
  for (uint32_t line = 2; line < 60000; ++line) {
    Event e;
    e.user = uint32_t(rng() % 2990);
    e.title = uint32_t(rng() % 40);
    e.ts = 1767225600 + int64_t(rng() % 40) * 600;
    e.type = EventType(rng() % 6);
    e.position_s = float(rng() % 2400);
    e.seek_to_s = e.type == EventType::Seek ? float(rng() % 2400) : 0.0f;
    e.local_hour = uint8_t(rng() % 24);
    e.line = line;
    events.push_back(e);
    if (rng() % 20 == 0) {
      Event twin = e;
      twin.line = ++line;
      events.push_back(twin);
    }
  }
  for (uint32_t u = 2990; u < 2995; ++u) events.push_back(Event{1767225600, u, 0, 10, 0, 1, EventType::Pause, 0});

  // The same events as a file written user by user would give them (users in order: no scatter).
  std::vector<Event> grouped = events;
  std::stable_sort(grouped.begin(), grouped.end(), [](const Event& a, const Event& b) { return a.user < b.user; });

  for (const auto& [input, as_of] : {std::make_pair(&events, int64_t(0)),
                                     std::make_pair(&events, int64_t(1767225600 + 86400 * 30)),
                                     std::make_pair(&grouped, int64_t(0))}) {
    EngagementOptions options;
    options.as_of = as_of;
    ProfileBuildStats want_stats;
    const UserProfiles want = reference::build_profiles(catalog, titles, *input, users, options, &want_stats);
    ASSERT_GT(want_stats.duplicates.size(), 1000u);
    ASSERT_GT(want_stats.unusable_users, 4u);
    for (const int threads : {1, 2, 5}) {
      SCOPED_TRACE(::testing::Message() << "threads " << threads << ", as_of " << as_of
                                         << (input == &grouped ? ", grouped by user" : ""));
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      ProfileBuildStats stats;
      const UserProfiles got = build_profiles(catalog, titles, *input, users, options, &stats);
      omp_set_num_threads(before);
      EXPECT_EQ(got.user_ids, want.user_ids);
      EXPECT_TRUE(same_bytes(got.vectors, want.vectors));
      EXPECT_TRUE(same_bytes(got.seen_offsets, want.seen_offsets));
      EXPECT_TRUE(same_bytes(got.seen, want.seen));
      EXPECT_TRUE(same_bytes(got.summaries, want.summaries));
      EXPECT_EQ(stats.duplicates, want_stats.duplicates);
      EXPECT_EQ(stats.events_used, want_stats.events_used);
      EXPECT_EQ(stats.unusable_users, want_stats.unusable_users);
      EXPECT_EQ(stats.as_of, want_stats.as_of);
    }
  }
}

TEST(BuildProfiles, BadIndicesAreArgumentErrorsNamingThem) {
  Catalog catalog;
  catalog.add_tag(Tag{"g", "genre"});
  catalog.add_title(Title{"t", "", 600, 2000});
  catalog.add_assignment({0, 0, 1.0f});
  const TitleMatrix titles = TitleMatrix::build(catalog);
  auto message = [&](Event e) {
    try {
      build_profiles(catalog, titles, {Event{1767225600, 0, 0}, e}, {"u0"}, {});
    } catch (const ArgumentError& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(Event{1767225600, 1, 0}).find("event for user index 1 but only 1 users"), std::string::npos);
  EXPECT_NE(message(Event{1767225600, 0, 1}).find("event for title index 1 but only 1 titles"), std::string::npos);
}
