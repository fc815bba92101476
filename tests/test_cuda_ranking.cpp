// Ranking features on the GPU against the CPU: the audience projection (docs/projection.md: the
// same users, p_watch within float tolerance, the same audience) and the daypart re-ranking
// (docs/quality.md). Skip without a device.
#include "engine/daypart.h"
#include "generated_data.h"
#include "host/jobs/projection_jobs.h"

#include "gpu_test_util.h"
#include "test_util.h"
#include "host/cuda/entry_points.h"

#include <cmath>
#include <map>
#include <random>

namespace marquee {
namespace {

TEST(CudaProjection, MatchesTheCpuProjection) {
  SKIP_WITHOUT_DEVICE();
  test::TempDir dir;
  GenOptions g = test::gen_options(2000, 200, 60, 5);
  g.mean_titles_per_user = 15;
  g.discovery = 0.1;
  const test::GeneratedSet data = test::make_generated(dir, g);
  nlohmann::json result[2];
  std::map<std::string, double> p[2];
  for (int i = 0; i < 2; ++i) {
    ProjectJobOptions o;
    o.input.catalog_dir = data.catalog();
    o.input.events_path = data.events();
    o.as_new = {"t000042"};
    o.all_users = true;
    o.space = ProjectionSpace::Hybrid;
    o.backend = i ? Backend::Cuda : Backend::Cpu;
    o.out_path = dir / (i ? "gpu.json" : "cpu.json");
    result[i] = run_project_job(o, nullptr);
    const auto rows = test::lines(test::read_text(dir / (i ? "gpu.users.csv" : "cpu.users.csv")));
    ASSERT_EQ(rows.size(), 1u + g.users);
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto f = test::split(rows[r], ',');
      p[i][f[0]] = std::stod(f[2]);
    }
  }
  EXPECT_NE(result[1]["backend"].get<std::string>().find("cuda"), std::string::npos) << result[1]["backend"];
  ASSERT_EQ(p[0].size(), p[1].size());
  for (const auto& [user, pc] : p[0]) {
    ASSERT_TRUE(p[1].count(user)) << user;
    EXPECT_NEAR(p[1][user], pc, 1e-4) << user;
  }
  const double a = result[0]["titles"][0]["audience"]["expected"].get<double>();
  const double b = result[1]["titles"][0]["audience"]["expected"].get<double>();
  EXPECT_NEAR(a, b, 1e-3 * a);
}

TEST(CudaDaypart, HourColumnsRankAsOnTheCpu) {
  SKIP_WITHOUT_DEVICE();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  const size_t T = 2000, D = 32, U = 300, k = 20;
  std::vector<float> rows(T * D), users(U * D);
  for (float& x : rows) x = uni(rng);
  for (float& x : users) x = uni(rng);
  DaypartModel m;
  m.weight = 0.5;
  m.dayparts.titles = T;
  m.dayparts.plays.resize(T * 24);
  for (uint32_t& c : m.dayparts.plays) c = rng() % 30;
  m.bias = daypart_bias(m.dayparts, m.term);
  std::vector<int> hours(24);
  for (int h = 0; h < 24; ++h) hours[size_t(h)] = h;
  const TitleMatrix titles = with_daypart_columns(TitleMatrix::from_rows(T, D, rows), m, hours);
  // Every user excludes a few titles, as `score` and `serve` do.
  Exclusions ex;
  for (size_t u = 0; u < U; ++u) {
    for (uint32_t t = uint32_t(u % 50); t < T; t += 97) ex.titles.push_back(t);
    ex.offsets.push_back(ex.titles.size());
  }
  auto cpu = make_cpu_scorer(titles);
  auto gpu = cuda::make_scorer(titles);
  for (int hour : {0, 9, 21}) {
    const std::vector<float> u = with_hour_columns(users.data(), U, D, 24, hour);
    TopKResult a, b;
    cpu->search(UserBatchView{U, D + 24, u.data(), &ex}, k, a);
    gpu->search(UserBatchView{U, D + 24, u.data(), &ex}, k, b);
    size_t same = 0;
    for (size_t user = 0; user < U; ++user) {
      ASSERT_EQ(a.counts[user], k);
      ASSERT_EQ(b.counts[user], k);
    }
    for (size_t i = 0; i < U * k; ++i) {
      same += a.titles[i] == b.titles[i];
      ASSERT_NEAR(a.scores[i], b.scores[i], 1e-4) << "hour " << hour;
    }
    EXPECT_GE(double(same), 0.999 * double(U * k)) << "hour " << hour;
  }
}

}  // namespace
}  // namespace marquee
