// Time-of-day re-ranking (docs/quality.md, "Daypart re-ranking"): the title bias by hand, the exact
// re-ranking against a naive full sort, the fitted weight on generated data with and without an
// hour effect, `score --hour` / `serve ?hour=` and their errors. The GPU agreement test is
// CudaDaypart.* in tests/test_cuda_ranking.cpp (label "gpu").
#include "engine/daypart.h"
#include "engine/error.h"
#include "host/jobs/daypart_job.h"
#include "host/io/catalog_io.h"
#include "generated_data.h"
#include "host/jobs/jobs.h"
#include "host/server/serving_engine.h"

#include "test_util.h"

#include <cmath>
#include <random>

namespace marquee {
namespace {

using test::TempDir;

TEST(DaypartBias, HandCheckedCase) {
  // Title 0: 4 plays at 08:00; title 1: 4 plays at 20:00; prior 4 pseudo-plays.
  TitleDayparts d;
  d.titles = 3;  // title 2 has no plays
  d.plays.assign(3 * 24, 0);
  d.plays[8] = 4;
  d.plays[24 + 20] = 4;
  DaypartTerm term;
  term.prior_plays = 4;
  const std::vector<float> b = daypart_bias(d, term);
  // Catalogue, smoothed (1/4, 1/2, 1/4) over 8 plays: 08:00 -> 0.25, 07:00 -> 0.125, 00:00 -> floor 1e-4.
  // Title 0 at 08:00: (0.5 * 4 + 4 * 0.25) / (4 + 4) = 0.375 -> ln(0.375 / 0.25) = ln 1.5.
  EXPECT_NEAR(b[8], std::log(1.5), 1e-6);
  // At 07:00: (0.25 * 4 + 4 * 0.125) / 8 = 0.1875 over 0.125 -> ln 1.5.
  EXPECT_NEAR(b[7], std::log(1.5), 1e-6);
  // At 20:00 title 0 has nothing: (0 + 4 * 0.25) / 8 = 0.125 over 0.25 -> ln 0.5; likewise at 00:00.
  EXPECT_NEAR(b[20], std::log(0.5), 1e-6);
  EXPECT_NEAR(b[0], std::log(0.5), 1e-6);
  EXPECT_NEAR(b[24 + 20], std::log(1.5), 1e-6);
  for (size_t h = 0; h < 24; ++h) EXPECT_EQ(b[48 + h], 0.0f) << "a title without plays gets no term";
}

TEST(DaypartRerank, HandCheckedCase) {
  // Titles (1, 0), (0.8, 0.6), (0, 1); the user (1, 0) scores them 1.0, 0.8, 0.0. At 07:00 the terms
  // are 0, 0.3, 0.9 (weight 1): 1.0, 1.1, 0.9 -> t1, t0, t2. At 08:00 no term: t0, t1, t2.
  const TitleMatrix titles = TitleMatrix::from_rows(3, 2, {1.0f, 0.0f, 0.8f, 0.6f, 0.0f, 1.0f});
  DaypartModel m;
  m.weight = 1.0;
  m.dayparts.titles = 3;
  m.dayparts.plays.assign(3 * 24, 1);
  m.bias.assign(3 * 24, 0.0f);
  m.bias[1 * 24 + 7] = 0.3f;
  m.bias[2 * 24 + 7] = 0.9f;
  const float user[] = {1.0f, 0.0f};
  auto ranked = [&](int hour, const Exclusions* ex) {
    auto scorer = make_cpu_scorer(with_daypart_columns(titles, m, {hour}));
    const std::vector<float> row = with_hour_columns(user, 1, 2, 1, 0);
    TopKResult r;
    scorer->search(UserBatchView{1, 3, row.data(), ex}, ex ? 2 : 3, r);
    std::vector<std::pair<uint32_t, float>> out;
    for (size_t i = 0; i < r.counts[0]; ++i) out.emplace_back(r.titles[i], r.scores[i]);
    return out;
  };
  const auto at7 = ranked(7, nullptr);
  ASSERT_EQ(at7.size(), 3u);
  EXPECT_EQ(at7[0].first, 1u);
  EXPECT_NEAR(at7[0].second, 1.1f, 1e-6);
  EXPECT_EQ(at7[1].first, 0u);
  EXPECT_NEAR(at7[1].second, 1.0f, 1e-6);
  EXPECT_EQ(at7[2].first, 2u);
  EXPECT_NEAR(at7[2].second, 0.9f, 1e-6);
  const auto at8 = ranked(8, nullptr);
  EXPECT_EQ(at8[0].first, 0u);
  EXPECT_EQ(at8[1].first, 1u);
  EXPECT_EQ(at8[2].first, 2u);
  Exclusions ex;
  ex.titles = {1};
  ex.offsets = {0, 1};
  const auto excluded = ranked(7, &ex);
  ASSERT_EQ(excluded.size(), 2u);
  EXPECT_EQ(excluded[0].first, 0u);
  EXPECT_EQ(excluded[1].first, 2u);
  // The user-side one-hot: 1 at the chosen column, 0 at the others.
  EXPECT_EQ(with_hour_columns(user, 1, 2, 3, 1), (std::vector<float>{1.0f, 0.0f, 0.0f, 1.0f, 0.0f}));
}

// A random daypart model over `titles` titles (plays drawn per title and hour).
DaypartModel random_daypart_model(size_t titles, double weight, uint32_t seed) {
  std::mt19937 rng(seed);
  DaypartModel m;
  m.weight = weight;
  m.dayparts.titles = titles;
  m.dayparts.plays.resize(titles * 24);
  for (uint32_t& c : m.dayparts.plays) c = rng() % 7 == 0 ? rng() % 40 : rng() % 3;
  m.bias = daypart_bias(m.dayparts, m.term);
  return m;
}

TEST(DaypartSearch, ExtraColumnsRankAsANaiveFullSort) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  const size_t T = 300, D = 12, U = 64;
  const int hour = 7;
  std::vector<float> rows(T * D), users(U * D);
  for (float& x : rows) x = uni(rng);
  for (float& x : users) x = uni(rng);
  const DaypartModel m = random_daypart_model(T, 0.4, 11);
  Exclusions ex;
  for (size_t u = 0; u < U; ++u) {
    for (uint32_t t = uint32_t(u); t < T; t += 37) ex.titles.push_back(t);
    ex.offsets.push_back(ex.titles.size());
  }
  const TitleMatrix titles = TitleMatrix::from_rows(T, D, rows);
  // One column (score --hour) and 24 (serve) must both give the naive ranking.
  std::vector<int> all_hours(24);
  for (int h = 0; h < 24; ++h) all_hours[size_t(h)] = h;
  auto one = make_cpu_scorer(with_daypart_columns(titles, m, {hour}));
  auto day = make_cpu_scorer(with_daypart_columns(titles, m, all_hours));
  const std::vector<float> u1 = with_hour_columns(users.data(), U, D, 1, 0);
  const std::vector<float> u24 = with_hour_columns(users.data(), U, D, 24, hour);
  for (size_t k : {1, 7, 40, 290}) {
    TopKResult got, got24;
    one->search(UserBatchView{U, D + 1, u1.data(), &ex}, k, got);
    day->search(UserBatchView{U, D + 24, u24.data(), &ex}, k, got24);
    EXPECT_EQ(got.titles, got24.titles) << "k " << k;
    for (size_t u = 0; u < U; ++u) {
      std::vector<ScoredTitle> all;
      for (uint32_t t = 0; t < T; ++t) {
        if (std::binary_search(ex.titles.begin() + ex.offsets[u], ex.titles.begin() + ex.offsets[u + 1], t)) continue;
        double s = 0;
        for (size_t j = 0; j < D; ++j) s += double(users[u * D + j]) * rows[t * D + j];
        all.push_back({t, float(s + m.weight * m.bias[t * 24 + hour])});
      }
      std::sort(all.begin(), all.end(), ranks_before);
      const size_t n = std::min(k, all.size());
      ASSERT_EQ(got.counts[u], n);
      for (size_t i = 0; i < n; ++i) {
        // Scores agree rank by rank; titles too, except between near-ties (float summation order).
        ASSERT_NEAR(got.scores[u * k + i], all[i].score, 1e-5) << "k " << k << " user " << u << " rank " << i;
        const bool near_tie = (i > 0 && all[i - 1].score - all[i].score < 1e-5f) ||
                              (i + 1 < all.size() && all[i].score - all[i + 1].score < 1e-5f);
        if (!near_tie) {
          ASSERT_EQ(got.titles[u * k + i], all[i].title) << "k " << k << " user " << u << " rank " << i;
        }
      }
    }
  }
}

TEST(DaypartHour, ParsesHoursOfDayOnly) {
  EXPECT_EQ(parse_hour("0"), 0);
  EXPECT_EQ(parse_hour("23"), 23);
  EXPECT_EQ(parse_hour("07"), 7);
  for (const char* bad : {"24", "-1", "", "8am", "7.5", " 8", "+8", "007"})
    EXPECT_THROW(parse_hour(bad), ArgumentError) << bad;
}

// Generated data (docs/quality.md): with --daypart-effect 0.5 half the sessions happen at the
// title's own hour; with 0, the hour says nothing about the title.
class DaypartData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (double effect : {0.5, 0.0}) {
      GenOptions g = test::gen_options(3000, 300, 80, 11);
      g.mean_titles_per_user = 20;
      g.daypart_effect = effect;
      test::make_generated(set(effect), g);
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string set(double effect) { return (*dir_) / (effect > 0 ? "hourly" : "flat"); }
  static DaypartFitReport fit(double effect, const std::string& out) {
    DaypartJobOptions o;
    o.catalog_dir = set(effect) + "/catalog";
    o.events_path = set(effect) + "/events.csv";
    o.out_path = out;
    o.backend = Backend::Cpu;
    return run_daypart_job(o, nullptr);
  }
  static TempDir* dir_;
};
TempDir* DaypartData::dir_ = nullptr;

TEST_F(DaypartData, TheTermHelpsWhenViewingDependsOnTheHour) {
  const std::string model = set(0.5) + "/daypart.json";
  const DaypartFitReport r = fit(0.5, model);
  EXPECT_GT(r.weight, 0.0);
  EXPECT_GE(r.best_z, 3.0);
  // The report half never saw the fit: held-out titles are hit clearly more often with the term.
  ASSERT_GT(r.test_users, 1000u);
  EXPECT_GE(double(r.test_hits_with), 1.5 * double(r.test_hits_without))
      << r.test_hits_with << " vs " << r.test_hits_without << " hits of " << r.test_users;
  // The model file round-trips.
  RejectLog rejects("", false);
  const Catalog catalog = load_catalog(set(0.5) + "/catalog", rejects);
  const DaypartModel m = load_daypart_model(model, catalog);
  EXPECT_DOUBLE_EQ(m.weight, r.weight);
  EXPECT_EQ(m.model, ModelKind::Tags);
  EXPECT_EQ(m.bias, daypart_bias(m.dayparts, m.term));
}

TEST_F(DaypartData, TheTermStaysOffWhenTheHourDoesNotMatter) {
  const std::string model = set(0.0) + "/daypart.json";
  const DaypartFitReport r = fit(0.0, model);
  EXPECT_EQ(r.weight, 0.0) << "best z " << r.best_z;
  EXPECT_EQ(r.test_hits_with, r.test_hits_without);
  // And `score --hour` then ranks exactly as without it.
  ScoreJobOptions s;
  s.input.catalog_dir = set(0.0) + "/catalog";
  s.input.events_path = set(0.0) + "/events.csv";
  s.k = 10;
  s.backend = Backend::Cpu;
  s.out_path = set(0.0) + "/plain.csv";
  run_score_job(s, nullptr);
  s.out_path = set(0.0) + "/at9.csv";
  s.daypart_path = model;
  s.hour = 9;
  run_score_job(s, nullptr);
  EXPECT_EQ(test::read_text(set(0.0) + "/plain.csv"), test::read_text(set(0.0) + "/at9.csv"));
}

TEST_F(DaypartData, ScoreAndServeRankTheSameAtAnHour) {
  const std::string model = set(0.5) + "/daypart-serve.json";
  fit(0.5, model);
  ScoreJobOptions s;
  s.input.catalog_dir = set(0.5) + "/catalog";
  s.input.events_path = set(0.5) + "/events.csv";
  s.k = 10;
  s.backend = Backend::Cpu;
  s.daypart_path = model;
  for (int hour : {8, 21}) {
    s.hour = hour;
    s.out_path = set(0.5) + "/at" + std::to_string(hour) + ".csv";
    run_score_job(s, nullptr);
  }
  const std::string at8 = test::read_text(set(0.5) + "/at8.csv"), at21 = test::read_text(set(0.5) + "/at21.csv");
  EXPECT_NE(at8, at21) << "morning and evening rankings should differ on hour-dependent data";

  server::EngineOptions eo;
  eo.input.catalog_dir = s.input.catalog_dir;
  eo.input.events_path = s.input.events_path;
  eo.backend = Backend::Cpu;
  eo.daypart_path = model;
  server::ServingEngine engine(eo);
  const auto snap = engine.snapshot();
  const std::vector<std::string> rows = test::lines(at8);
  for (const char* id : {"u0000001", "u0000002", "u0000777"}) {
    const auto user = snap->users.find(id);
    ASSERT_TRUE(user);
    server::SearchQuery q;
    q.snapshot = snap;
    q.vector = user->vector;
    q.k = 10;
    q.hour = 8;
    for (const SeenTitle& t : user->seen) q.exclude.push_back(t.title);
    const server::SearchOutcome o = engine.search(q);
    ASSERT_EQ(o.status, server::SearchStatus::Ok) << o.message;
    std::vector<std::string> want;
    for (const std::string& line : rows)
      if (line.rfind(std::string(id) + ",", 0) == 0) want.push_back(test::split(line, ',')[2]);
    ASSERT_EQ(o.items.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(snap->catalog.title(o.items[i].title).id, want[i]) << id;
  }
  server::SearchQuery bad;
  bad.snapshot = snap;
  bad.vector.assign(snap->titles.dim(), 0.1f);
  bad.hour = 24;
  EXPECT_THROW(engine.search(bad), ArgumentError);
}

TEST_F(DaypartData, ClearErrorsForBadFlagsAndFiles) {
  const std::string bin = MARQUEE_BIN, cat = set(0.5) + "/catalog", ev = set(0.5) + "/events.csv";
  const std::string out = set(0.5) + "/err.csv";
  auto r = test::run_command(bin + " score --model tags --catalog " + cat + " --events " + ev + " -k 5 --out " + out + " --hour 8");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--hour needs a daypart model"), std::string::npos) << r.out;
  const std::string model = set(0.5) + "/daypart-cli.json";
  r = test::run_command(bin + " daypart --catalog " + cat + " --events " + ev + " --out " + model);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("<- chosen"), std::string::npos) << r.out;
  r = test::run_command(bin + " score --model tags --catalog " + cat + " --events " + ev + " -k 5 --out " + out +
                        " --daypart " + model + " --hour 24");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("hour '24' is not an hour of day"), std::string::npos) << r.out;
  r = test::run_command(bin + " score --catalog " + cat + " --events " + ev + " -k 5 --out " + out +
                        " --daypart " + model + " --hour 8 --model behaviour --iterations 1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("was fitted for other scores: --model tags (this run: behaviour)"), std::string::npos) << r.out;
  r = test::run_command(bin + " score --model tags --catalog " + cat + " --events " + ev + " -k 5 --out " + out +
                        " --daypart " + model + " --hour 8 --half-life-days 30");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--half-life-days 0 (this run: 30)"), std::string::npos) << r.out;
  const std::string junk = set(0.5) + "/junk.json";
  test::write_text(junk, "{\"format\": \"something else\"}\n");
  r = test::run_command(bin + " score --model tags --catalog " + cat + " --events " + ev + " -k 5 --out " + out +
                        " --daypart " + junk + " --hour 8");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("not a daypart model"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace marquee
