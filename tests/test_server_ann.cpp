// Exact sharding and ANN indexes behind the front service (docs/serving.md): the sharded CPU scorer
// equals the plain one bit for bit, a FAISS index measures its recall, saves and loads, and a server
// with an index uses it, answers exact=true exactly and reuses the saved index.
#include "engine/error.h"
#include "engine/scorer.h"
#include "host/server/ann_index.h"
#include "host/server/sharded_scorer.h"
#include "server_fixture.h"

#include <filesystem>
#include <random>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::server;
using namespace marquee::test;
using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Exact sharding and ANN indexes

TEST(ShardedScorer, EqualsTheCpuScorerExactly) {
  std::mt19937 rng(11);
  Catalog cat;
  const size_t n_tags = 37, n_titles = 301;
  for (size_t j = 0; j < n_tags; ++j) cat.add_tag({"tag" + std::to_string(j), "c"});
  for (size_t t = 0; t < n_titles; ++t) cat.add_title({"t" + std::to_string(t), "", 100.0, 0});
  for (size_t t = 0; t < n_titles; ++t)
    for (int a = 0; a < 4; ++a)
      cat.add_assignment({uint32_t(t), uint32_t(rng() % n_tags), float(1 + rng() % 4) / 4.0f});
  const TitleMatrix tm = TitleMatrix::build(cat);
  const size_t users = 45;
  std::vector<float> v(users * n_tags);
  for (auto& x : v) x = std::uniform_real_distribution<float>(-1, 1)(rng);
  for (size_t u = 0; u < users; ++u) l2_normalise(v.data() + u * n_tags, n_tags);
  Exclusions ex;
  for (size_t u = 0; u < users; ++u) {
    if (u == 7)
      for (uint32_t t = 0; t < n_titles; ++t) ex.titles.push_back(t);  // everything excluded
    else
      for (uint32_t t = uint32_t(u); t < n_titles; t += 17 + uint32_t(u)) ex.titles.push_back(t);
    ex.offsets.push_back(ex.titles.size());
  }
  auto plain = make_cpu_scorer(tm);
  for (size_t shards : {2, 3, 7}) {
    auto sharded = make_sharded_cpu_scorer(tm, shards, {});
    for (size_t k : {size_t(1), size_t(10), n_titles}) {
      TopKResult a, b;
      plain->search(UserBatchView{users, n_tags, v.data(), &ex}, k, a);
      sharded->search(UserBatchView{users, n_tags, v.data(), &ex}, k, b);
      EXPECT_EQ(a.counts, b.counts) << shards << " shards, k " << k;
      EXPECT_EQ(a.titles, b.titles) << shards << " shards, k " << k;
      EXPECT_EQ(a.scores, b.scores) << shards << " shards, k " << k;
      EXPECT_EQ(b.counts[7], 0u);
    }
  }
}

TEST_F(ServerTest, AnnIndexBuildsMeasuresRecallSavesAndLoads) {
  const auto snap = TestServer(engine_options(), http_options()).engine->snapshot();
  const TitleMatrix& tm = snap->titles;
  auto exact = make_cpu_scorer(tm);
  // Flat is exhaustive: recall 1 against the exact scorer.
  auto flat = AnnIndex::build("Flat", tm.dense().data(), tm.num_titles(), tm.dim());
  std::vector<float> queries;
  for (const auto& u : snap->users.sample(50))
    if (u->summary.usable) queries.insert(queries.end(), u->vector.begin(), u->vector.end());
  const size_t nq = queries.size() / tm.dim();
  EXPECT_GE(flat->measure_recall(*exact, queries.data(), nq, 10), 0.99);
  EXPECT_EQ(flat->info().recall_k, 10u);
  // HNSW over the user vectors (the other thing an index can be built from): recall is measured.
  AnnIndexInfo over_users;
  over_users.over = "users";
  auto hnsw = AnnIndex::build("HNSW16", queries.data(), nq, tm.dim(), over_users);
  auto exact_users = make_cpu_scorer(TitleMatrix::from_rows(nq, tm.dim(), queries));
  const double r = hnsw->measure_recall(*exact_users, queries.data(), nq, 5);
  EXPECT_GT(r, 0.5);
  EXPECT_LE(r, 1.0);
  // Save, load: same answers, same sidecar.
  const std::string path = dir() + "/flat.faiss";
  flat->save(path);
  auto loaded = AnnIndex::load(path);
  EXPECT_EQ(loaded->rows(), tm.num_titles());
  EXPECT_EQ(loaded->info().factory, "Flat");
  EXPECT_NEAR(loaded->info().recall, flat->info().recall, 1e-12);
  TopKResult a, b;
  Exclusions ex;
  ex.titles = {0, 1, 2};
  ex.offsets = {0, 3};
  flat->search(UserBatchView{1, tm.dim(), queries.data(), &ex}, 10, a);
  loaded->search(UserBatchView{1, tm.dim(), queries.data(), &ex}, 10, b);
  EXPECT_EQ(a.titles, b.titles);
  for (size_t i = 0; i < a.counts[0]; ++i) EXPECT_GT(a.titles[i], 2u) << "exclusions apply to index searches";
  // Bad factory strings and parameters are refused with FAISS's reason.
  EXPECT_THROW(AnnIndex::build("NoSuchIndex42", tm.dense().data(), tm.num_titles(), tm.dim()), ArgumentError);
  EXPECT_THROW(flat->set_search_params("nprobe=4"), ArgumentError);
  EXPECT_THROW(AnnIndex::load(dir() + "/missing.faiss"), InputError);
}

TEST_F(ServerTest, ServerWithAnIndexUsesItAndReusesTheSavedOne) {
  EngineOptions eo = engine_options();
  eo.index_factory = "Flat";
  eo.index_path = dir() + "/served.faiss";
  const auto want = read_recs(recs_path("watched"));
  {
    TestServer s(eo, http_options());
    ASSERT_TRUE(s.engine->snapshot()->index);
    EXPECT_GE(s.engine->snapshot()->index->info().recall, 0.99);
    auto cli = s.client();
    size_t same = 0, total = 0;
    for (const auto& [user, rows] : want) {
      const json b = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()));
      EXPECT_EQ(b["search"], "index");
      // Flat computes the same inner products with another summation order: compare ids.
      std::vector<std::string> ids, want_ids;
      for (const auto& it : b["items"]) ids.push_back(it["title_id"]);
      for (const auto& row : rows) want_ids.push_back(row.substr(0, row.find(':')));
      same += ids == want_ids;
      ++total;
      const json e = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10&exact=true").c_str()));
      EXPECT_EQ(e["search"], "exact");
      EXPECT_EQ(items_of(e), rows);
      if (total >= 60) break;
    }
    EXPECT_GE(same, total * 9 / 10);
  }
  ASSERT_TRUE(std::filesystem::exists(eo.index_path));
  const auto mtime = std::filesystem::last_write_time(eo.index_path);
  TestServer again(eo, http_options());
  EXPECT_EQ(std::filesystem::last_write_time(eo.index_path), mtime) << "a matching saved index is loaded, not rebuilt";
  EXPECT_EQ(again.engine->snapshot()->index->info().factory, "Flat");
}
