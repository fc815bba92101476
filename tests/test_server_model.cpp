// Serving a trained model (docs/serving.md, docs/models.md): `serve --model-dir` ranks with every
// family exactly as `marquee score --model-dir` does, folds users in online from posted events, uses
// the model's similarity vectors for similar titles, reports the model version in every response and
// in /metrics, and switches to another model folder on reload without failing a request.
#include "engine/model.h"
#include "host/io/catalog_io.h"
#include "host/io/events_io.h"
#include "host/io/model_dir.h"
#include "server_fixture.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

using namespace marquee;
using namespace marquee::server;
using namespace marquee::test;
using json = nlohmann::json;

namespace {

// "title:score" -> (title, score)
std::pair<std::string, double> split_item(const std::string& item) {
  const size_t colon = item.rfind(':');
  return {item.substr(0, colon), std::stod(item.substr(colon + 1))};
}

// Same ranking to float tolerance: the scores agree at every rank, and so do the titles except
// between titles whose scores tie within the tolerance (the dense GEMM of a batch of one and of a
// batch of many may round the last bit differently).
void expect_same_ranking(const std::vector<std::string>& got, const std::vector<std::string>& want,
                         const std::string& who) {
  ASSERT_EQ(got.size(), want.size()) << who;
  constexpr double kTol = 2e-5;
  for (size_t r = 0; r < want.size(); ++r) {
    const auto [gt, gs] = split_item(got[r]);
    const auto [wt, ws] = split_item(want[r]);
    EXPECT_NEAR(gs, ws, kTol) << who << " rank " << r;
    if (gt == wt) continue;
    const bool tie_before = r > 0 && std::abs(split_item(want[r - 1]).second - ws) <= kTol;
    const bool tie_after = r + 1 < want.size() && std::abs(split_item(want[r + 1]).second - ws) <= kTol;
    EXPECT_TRUE(tie_before || tie_after) << who << " rank " << r << ": " << gt << " instead of " << wt;
  }
}

}  // namespace

/// ServerTest's data plus one saved model folder per family, fitted on every user's events.
class ServedModelTest : public ServerTest {
 protected:
  static void SetUpTestSuite() {
    ServerTest::SetUpTestSuite();
    RejectLog rejects("", false);
    const Catalog catalog = load_catalog(ServerTest::catalog(), rejects);
    const TitleMatrix tags = TitleMatrix::build(catalog);
    LoadedEvents loaded = load_events(events(), catalog, rejects);
    const UserProfiles profiles =
        build_profiles(catalog, tags, std::move(loaded.events), loaded.user_ids, EngagementOptions{});
    for (ModelKind kind : {ModelKind::Tags, ModelKind::Behaviour, ModelKind::Hybrid, ModelKind::Ease}) {
      ModelParams p;
      p.als.factors = 16;
      p.als.iterations = 6;
      p.als.seed = 3;
      p.weights.tags = 0.5f;
      p.weights.popularity = 0.5f;
      p.ease_lambda = 50;
      auto model = make_model(kind, p);
      model->fit(tags, profiles);
      save_model_dir(model_dir(kind), *model, catalog);
    }
  }

  static std::string model_dir(ModelKind kind) { return dir() + "/model_" + model_kind_name(kind); }

  static std::string score_with_model(ModelKind kind, const std::string& events_path, const std::string& out) {
    ScoreJobOptions o;
    o.input.catalog_dir = catalog();
    o.input.events_path = events_path;
    o.model_dir = model_dir(kind);
    o.out_path = out;
    o.k = 10;
    o.backend = Backend::Cpu;
    run_score_job(o, nullptr);
    return out;
  }

  static EngineOptions model_engine_options(ModelKind kind) {
    EngineOptions o = engine_options();
    o.model_dir = model_dir(kind);
    return o;
  }

  static std::string version_of(ModelKind kind) {
    return json::parse(read_text(model_dir(kind) + "/manifest.json")).at("version").get<std::string>();
  }
};

class ServedModelFamily : public ServedModelTest, public ::testing::WithParamInterface<ModelKind> {};

TEST_P(ServedModelFamily, RecommendationsEqualTheScoreJobWithTheSameModel) {
  const ModelKind kind = GetParam();
  const auto want = read_recs(score_with_model(kind, events(), dir() + "/recs_model_" + model_kind_name(kind) + ".csv"));
  TestServer s(model_engine_options(kind), http_options());
  auto cli = s.client();
  size_t checked = 0;
  for (auto it = want.begin(); it != want.end(); std::advance(it, std::min<size_t>(7, std::distance(it, want.end())))) {
    const json got = body_of(cli.Get(("/v1/users/" + it->first + "/recommendations?k=10").c_str()));
    EXPECT_EQ(got["model_version"], version_of(kind));
    expect_same_ranking(items_of(got), it->second, it->first);
    ++checked;
  }
  EXPECT_GE(checked, 30u);
  const json ready = body_of(cli.Get("/readyz"));
  EXPECT_EQ(ready["model_family"], model_kind_name(kind));
  EXPECT_EQ(ready["model_version"], version_of(kind));
  const std::string metrics = cli.Get("/metrics")->body;
  EXPECT_NE(metrics.find(fmt::format("marquee_model_info{{family=\"{}\",version=\"{}\"}} 1", model_kind_name(kind),
                                     version_of(kind))),
            std::string::npos)
      << metrics.substr(0, 2000);
}

TEST_P(ServedModelFamily, SimilarTitlesUseTheModelsSimilarityVectors) {
  const ModelKind kind = GetParam();
  TestServer s(model_engine_options(kind), http_options());
  auto cli = s.client();
  const auto snap = s.engine->snapshot();
  const LoadedModel loaded = load_model_dir(model_dir(kind), snap->catalog, snap->titles);
  const TitleMatrix& sim = loaded.model->similarity_titles();
  for (const std::string id : {"t000001", "t000050", "t000333"}) {
    const uint32_t t = *snap->catalog.find_title(id);
    // The naive reference: every other title's inner product with this one, best first.
    std::vector<std::pair<float, uint32_t>> all;
    for (uint32_t o = 0; o < sim.num_titles(); ++o) {
      if (o == t) continue;
      float dot = 0;
      for (size_t j = 0; j < sim.dim(); ++j) dot += sim.row(t)[j] * sim.row(o)[j];
      all.emplace_back(-dot, o);
    }
    std::sort(all.begin(), all.end());
    std::vector<std::string> want;
    for (size_t r = 0; r < 5; ++r)
      want.push_back(snap->catalog.title(all[r].second).id + ":" + fmt::format("{:.6f}", -all[r].first));
    const json got = body_of(cli.Get(("/v1/titles/" + id + "/similar?k=5").c_str()));
    EXPECT_EQ(got["model_version"], version_of(kind));
    expect_same_ranking(items_of(got), want, id);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryFamily, ServedModelFamily,
                         ::testing::Values(ModelKind::Tags, ModelKind::Behaviour, ModelKind::Hybrid, ModelKind::Ease),
                         [](const auto& info) { return std::string(model_kind_name(info.param)); });

TEST_F(ServedModelTest, PostedEventsFoldTheUserInAsScoreOverTheEventsFileWould) {
  const ModelKind kind = ModelKind::Behaviour;
  TestServer s(model_engine_options(kind), http_options());
  auto cli = s.client();
  const auto before = read_recs(score_with_model(kind, events(), dir() + "/recs_fold_before.csv"));
  const std::string user = std::next(before.begin(), 5)->first;
  const std::string top = split_item(before.at(user)[0]).first;
  const auto snap = s.engine->snapshot();
  const double duration = snap->catalog.title(*snap->catalog.find_title(top)).duration_s;
  const std::vector<std::string> rows = {
      fmt::format("2026-06-01T20:00:00Z,{},{},play,0,", user, top),
      fmt::format("2026-06-01T21:30:00Z,{},{},complete,{},", user, top, duration),
      fmt::format("2026-06-02T08:00:00Z,model-newcomer,{},play,0,", top),
      fmt::format("2026-06-02T08:40:00Z,model-newcomer,{},stop,{},", top, duration * 0.9),
  };
  json evs = json::array();
  for (const auto& row : rows) {
    const auto f = split(row, ',');
    evs.push_back({{"ts", f[0]}, {"user_id", f[1]}, {"title_id", f[2]}, {"event", f[3]}, {"position_s", std::stod(f[4])}});
  }
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  const auto r = cli.Post("/v1/events", auth, json{{"events", evs}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_of(r)["model_version"], version_of(kind));

  // The reference: the nightly job with the same model over the events file plus these rows.
  const std::string appended = dir() + "/events_model_appended.csv";
  std::string text = read_text(events());
  for (const auto& row : rows) text += row + "\n";
  write_text(appended, text);
  const auto after = read_recs(score_with_model(kind, appended, dir() + "/recs_fold_after.csv"));
  ASSERT_TRUE(after.count("model-newcomer"));
  for (const std::string& u : {user, std::string("model-newcomer")}) {
    const json got = body_of(cli.Get(("/v1/users/" + u + "/recommendations?k=10").c_str()));
    expect_same_ranking(items_of(got), after.at(u), u);
  }
  const json mine = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()));
  for (const auto& it : mine["items"]) EXPECT_NE(it["title_id"], top) << "a watched title is excluded";
  EXPECT_NE(items_of(mine), before.at(user)) << "the fold-in used the new events";
}

TEST_F(ServedModelTest, ReloadSwitchesModelFolderAtomicallyAndABadFolderKeepsTheOldOne) {
  TestServer s(model_engine_options(ModelKind::Behaviour), http_options());
  const auto want_ease = read_recs(score_with_model(ModelKind::Ease, events(), dir() + "/recs_reload_ease.csv"));
  std::vector<std::string> users;
  for (const auto& [u, rows] : want_ease) users.push_back(u);
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};

  // Requests keep flowing while the model changes: every one is answered, by one model or the other.
  std::atomic<bool> stop{false};
  std::atomic<size_t> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&, c] {
      auto cc = s.client();
      for (size_t i = c; !stop; i += 3) {
        const auto r = cc.Get(("/v1/users/" + users[i % users.size()] + "/recommendations?k=10").c_str());
        const bool good = r && r->status == 200 &&
                          (json::parse(r->body)["model_version"] == version_of(ModelKind::Behaviour) ||
                           json::parse(r->body)["model_version"] == version_of(ModelKind::Ease));
        (good ? ok : failed)++;
      }
    });
  auto cli = s.client();
  const auto switched = cli.Post("/v1/admin/reload", auth, json{{"model_dir", model_dir(ModelKind::Ease)}}.dump(),
                                 "application/json");
  ASSERT_TRUE(switched);
  EXPECT_EQ(switched->status, 200) << switched->body;
  EXPECT_EQ(body_of(switched)["model_version"], version_of(ModelKind::Ease));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_GT(ok.load(), 0u);

  const std::string u = users[11];
  expect_same_ranking(items_of(body_of(cli.Get(("/v1/users/" + u + "/recommendations?k=10").c_str()))),
                      want_ease.at(u), u);
  const std::string metrics = cli.Get("/metrics")->body;
  EXPECT_NE(metrics.find("version=\"" + version_of(ModelKind::Ease) + "\"} 1"), std::string::npos);
  EXPECT_EQ(metrics.find("version=\"" + version_of(ModelKind::Behaviour) + "\""), std::string::npos)
      << "the old model's info series is gone";

  // A later plain reload re-reads the folder switched to.
  EXPECT_EQ(body_of(cli.Post("/v1/admin/reload", auth, "", "application/json"))["model_version"],
            version_of(ModelKind::Ease));

  // A folder that is not a model: 500 with the reason, and the EASE model keeps serving.
  const std::string bogus = dir() + "/not_a_model";
  std::filesystem::create_directories(bogus);
  expect_error(cli.Post("/v1/admin/reload", auth, json{{"model_dir", bogus}}.dump(), "application/json"), 500,
               "manifest.json");
  expect_error(cli.Post("/v1/admin/reload", auth, json{{"model_dir", 3}}.dump(), "application/json"), 400,
               "model_dir must be a non-empty string");
  expect_error(cli.Post("/v1/admin/reload", auth, json{{"modeldir", "x"}}.dump(), "application/json"), 400,
               "unknown field 'modeldir'");
  EXPECT_EQ(body_of(cli.Get("/readyz"))["model_version"], version_of(ModelKind::Ease));
}

TEST_F(ServedModelTest, QueriesStayInTheTagSpaceAndRejectModelSizedVectors) {
  TestServer s(model_engine_options(ModelKind::Behaviour), http_options());
  auto cli = s.client();
  TestServer plain(engine_options(), http_options());
  auto pc = plain.client();
  const json q{{"tags", {s.engine->snapshot()->catalog.tag(0).name, s.engine->snapshot()->catalog.tag(9).name}}, {"k", 8}};
  const json with_model = body_of(cli.Post("/v1/query", q.dump(), "application/json"));
  EXPECT_EQ(items_of(with_model), items_of(body_of(pc.Post("/v1/query", q.dump(), "application/json"))));
  EXPECT_EQ(with_model["model_version"], version_of(ModelKind::Behaviour));
  // A 16-value vector (the model's factor count) is not a tag vector.
  expect_error(cli.Post("/v1/query", json{{"vector", std::vector<float>(16, 0.25f)}}.dump(), "application/json"), 400,
               "one per tag");
}
