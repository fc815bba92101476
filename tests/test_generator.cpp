// The synthetic data generator: deterministic per seed, loadable without rejects, and showing the
// behaviours the engagement model reads (pauses, seeks, abandonment, resumes, completions).
#include "engine/error.h"
#include "host/io/catalog_io.h"
#include "host/io/events_io.h"
#include "generated_data.h"
#include "host/jobs/workspace.h"
#include "test_util.h"

using namespace marquee;
using namespace marquee::test;

namespace {
GenStats gen(const std::string& out, uint64_t seed, uint64_t users = 200) {
  return make_generated(out, gen_options(users, 150, 60, seed)).stats;
}
}  // namespace

TEST(Generator, SameSeedSameBytesOtherSeedOtherData) {
  TempDir dir;
  gen(dir / "a", 7);
  gen(dir / "b", 7);
  gen(dir / "c", 8);
  for (const char* f : {"events.csv", "catalog/tags.csv", "catalog/titles.csv", "catalog/title_tags.csv"}) {
    const std::string a = read_text(dir / (std::string("a/") + f));
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_EQ(a, read_text(dir / (std::string("b/") + f))) << f;
  }
  EXPECT_NE(read_text(dir / "a/events.csv"), read_text(dir / "c/events.csv"));
}

TEST(Generator, OutputLoadsCleanlyAndShowsEveryBehaviour) {
  TempDir dir;
  const GenStats s = gen(dir.path(), 11, 400);
  RejectLog rejects("", /*strict=*/true);  // any bad row fails the test
  Workspace ws = open_catalog(dir / "catalog", rejects);
  EXPECT_EQ(ws.catalog.num_titles(), 150u);
  EXPECT_EQ(ws.catalog.num_tags(), 60u);
  EXPECT_EQ(ws.catalog.assignments().size(), s.assignments);
  const LoadedEvents ev = load_events(dir / "events.csv", ws.catalog, rejects);
  EXPECT_EQ(ev.events.size(), s.events);
  EXPECT_EQ(ev.user_ids.size(), 400u);
  size_t by_type[6] = {};
  for (const Event& e : ev.events) ++by_type[size_t(e.type)];
  for (int t = 0; t < 6; ++t) EXPECT_GT(by_type[t], 0u) << event_type_name(EventType(t));
  ProfileBuildStats stats;
  const UserProfiles p = build_profiles(ws.catalog, ws.titles, ev.events, ev.user_ids, {}, &stats);
  EXPECT_TRUE(stats.duplicates.empty());
  size_t completed = 0, abandoned = 0, titles = 0;
  for (const auto& sum : p.summaries) {
    completed += sum.completed;
    abandoned += sum.abandoned;
    titles += sum.titles;
  }
  EXPECT_GT(completed, titles / 10);
  EXPECT_GT(abandoned, titles / 20);
}

TEST(Generator, RejectsBadOptions) {
  GenOptions o;
  o.out_dir = "";
  EXPECT_THROW(generate_dataset(o), ArgumentError);
  o.out_dir = "/tmp/x";
  o.users = 0;
  EXPECT_THROW(generate_dataset(o), ArgumentError);
}
