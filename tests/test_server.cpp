// Integration tests of the front service (`marquee serve`, docs/serving.md): the server runs
// in-process on an ephemeral loopback port over a small generated data set and is driven with
// httplib::Client. Every route's results are checked against the engine called directly (the score
// job behind `marquee score`, the CPU scorer), every error path, online event ingestion, reload under
// concurrent requests, overload (503, never a hang) and the graceful drain. One test runs the
// `marquee serve` binary for SIGHUP and SIGTERM.
#include "engine/error.h"
#include "engine/explain.h"
#include "engine/scorer.h"
#include "host/io/catalog_io.h"
#include "host/jobs/generator.h"
#include "host/jobs/jobs.h"
#include "host/io/profile_io.h"
#include "host/io/record_reader.h"
#include "host/server/ann_index.h"
#include "host/server/audience.h"
#include "host/server/http_server.h"
#include "host/server/serving_engine.h"
#include "host/server/sharded_scorer.h"
#include "test_util.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

using namespace marquee;
using namespace marquee::server;
using namespace marquee::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "s3cret-token";

/// A server on an ephemeral loopback port, serving until destroyed.
struct TestServer {
  std::unique_ptr<ServingEngine> engine;
  std::unique_ptr<HttpServer> http;
  std::thread thread;
  int port = -1;

  TestServer(EngineOptions eo, HttpOptions ho = {}) {
    engine = std::make_unique<ServingEngine>(std::move(eo));
    ho.bind = "127.0.0.1";
    ho.port = 0;
    http = std::make_unique<HttpServer>(*engine, ho);
    port = http->bind();
    thread = std::thread([this] { http->serve(); });
    // Bounded wait until it answers.
    httplib::Client c("127.0.0.1", port);
    for (int i = 0; i < 500; ++i) {
      if (auto r = c.Get("/healthz"); r && r->status == 200) return;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "the server did not come up on port " << port;
  }
  ~TestServer() {
    http->stop();
    if (thread.joinable()) thread.join();
    engine->stop();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }
};

/// Lets a test hold the batch worker (EngineOptions::on_batch) and know when it is held.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  size_t entered = 0;

  std::function<void(size_t)> hook() {
    return [this](size_t) {
      std::unique_lock<std::mutex> lock(mu);
      ++entered;
      cv.notify_all();
      cv.wait_for(lock, 20s, [&] { return open; });  // bounded: a broken test cannot hang the suite
    };
  }
  bool wait_entered(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return entered >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

// user -> ["title:score", ...] in rank order, from a score job's CSV.
std::map<std::string, std::vector<std::string>> read_recs(const std::string& path) {
  std::map<std::string, std::vector<std::string>> out;
  RecordReader reader(path, {"user_id", "rank", "title_id", "score"});
  Record r;
  while (reader.next(r)) out[r.fields[0]].push_back(r.fields[2] + ":" + r.fields[3]);
  return out;
}

std::vector<std::string> items_of(const json& body) {
  std::vector<std::string> out;
  for (const auto& it : body.at("items"))
    out.push_back(it.at("title_id").get<std::string>() + ":" + fmt::format("{:.6f}", it.at("score").get<double>()));
  return out;
}

json body_of(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no response";
  if (!r) return json();
  try {
    return json::parse(r->body);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): " << r->body;
    return json();
  }
}

void expect_error(const httplib::Result& r, int status, const std::string& fragment) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const json b = body_of(r);
  ASSERT_TRUE(b.is_object() && b.contains("error")) << r->body;
  EXPECT_NE(b["error"].get<std::string>().find(fragment), std::string::npos)
      << "'" << b["error"].get<std::string>() << "' should mention '" << fragment << "'";
}

}  // namespace

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    GenOptions g;
    g.users = 300;
    g.titles = 400;
    g.tags = 250;  // a real taxonomy's density (~7 %): the sparse path, bit-exact whatever the batch
    g.seed = 7;
    g.out_dir = dir() + "/data";
    generate_dataset(g);
    for (const char* policy : {"watched", "completed", "none"}) score_job(events(), policy, recs_path(policy));
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string dir() { return dir_->path(); }
  static std::string catalog() { return dir() + "/data/catalog"; }
  static std::string events() { return dir() + "/data/events.csv"; }
  static std::string recs_path(const std::string& policy) { return dir() + "/recs_" + policy + ".csv"; }

  // The nightly job, exactly as `marquee score --backend cpu --top 10 --exclude POLICY` runs it.
  static void score_job(const std::string& events_path, const std::string& policy, const std::string& out) {
    ScoreJobOptions o;
    o.input.catalog_dir = catalog();
    o.input.events_path = events_path;
    o.out_path = out;
    o.k = 10;
    o.exclude = parse_exclude_policy(policy);
    o.backend = Backend::Cpu;
    run_score_job(o, nullptr);
  }

  static EngineOptions engine_options() {
    EngineOptions o;
    o.input.catalog_dir = catalog();
    o.input.events_path = events();
    o.backend = Backend::Cpu;
    o.title_shards = 2;  // exercises the sharded exact path; results must not change
    return o;
  }
  static HttpOptions http_options() {
    HttpOptions h;
    h.token = kToken;
    h.max_body_bytes = 64 * 1024;
    h.max_events = 100;
    h.threads = 16;
    return h;
  }

  static inline TempDir* dir_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Results against the engine

TEST_F(ServerTest, RecommendationsEqualTheScoreJob) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  for (const char* policy : {"watched", "completed", "none"}) {
    const auto want = read_recs(recs_path(policy));
    std::vector<std::string> unscored;
    for (const auto& line : lines(read_text(recs_path(policy) + ".unscored.csv")))
      if (line != "user_id,reason" && !line.empty()) unscored.push_back(split(line, ',')[0]);
    ASSERT_GT(want.size(), 200u);
    for (const auto& [user, rows] : want) {
      const auto r = cli.Get(("/v1/users/" + user + "/recommendations?k=10&exclude=" + policy).c_str());
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const json b = body_of(r);
      EXPECT_EQ(b["user_id"], user);
      EXPECT_EQ(b["search"], "exact");
      EXPECT_EQ(items_of(b), rows) << "user " << user << ", exclude=" << policy;
      if (HasFailure()) return;
    }
    for (const auto& user : unscored) {
      const json b = body_of(cli.Get(("/v1/users/" + user + "/recommendations?exclude=" + policy).c_str()));
      EXPECT_TRUE(b["items"].empty()) << user;
      EXPECT_EQ(b["unscored"], "no usable events");
    }
  }
  // The default is k = 20, exclude = watched; a smaller k is the head of the list.
  const auto want = read_recs(recs_path("watched"));
  const std::string user = want.begin()->first;
  const json b20 = body_of(cli.Get(("/v1/users/" + user + "/recommendations").c_str()));
  EXPECT_EQ(b20["k"], 20);
  EXPECT_EQ(b20["items"].size(), 20u);
  const auto head = items_of(b20);
  EXPECT_EQ(std::vector<std::string>(head.begin(), head.begin() + 10), want.at(user));
  const json b3 = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=3").c_str()));
  EXPECT_EQ(items_of(b3), std::vector<std::string>(head.begin(), head.begin() + 3));
}

TEST_F(ServerTest, ExplainGivesTheEnginesExplanation) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const auto want = read_recs(recs_path("watched"));
  const std::string user = want.begin()->first;
  const json b = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=5&explain=true").c_str()));
  ASSERT_EQ(b["items"].size(), 5u);
  EXPECT_EQ(items_of(b), std::vector<std::string>(want.at(user).begin(), want.at(user).begin() + 5));
  const auto snap = s.engine->snapshot();
  const auto st = snap->users.find(user);
  ASSERT_TRUE(st);
  for (const auto& item : b["items"]) {
    const uint32_t t = *snap->catalog.find_title(item["title_id"].get<std::string>());
    const Explanation ex = explain(snap->titles, st->vector.data(), st->seen.data(), st->seen.data() + st->seen.size(), t, 5, 3);
    const json& e = item.at("explanation");
    ASSERT_EQ(e["tags"].size(), ex.tags.size());
    for (size_t i = 0; i < ex.tags.size(); ++i) {
      EXPECT_EQ(e["tags"][i]["tag"], snap->catalog.tag(ex.tags[i].tag).name);
      EXPECT_NEAR(e["tags"][i]["contribution"].get<double>(), ex.tags[i].contribution, 1e-6);
    }
    ASSERT_EQ(e["because_you_watched"].size(), ex.because.size());
    for (size_t i = 0; i < ex.because.size(); ++i)
      EXPECT_EQ(e["because_you_watched"][i]["title_id"], snap->catalog.title(ex.because[i].title).id);
  }
}

TEST_F(ServerTest, SimilarEqualsTheScorerWithTheTitleExcluded) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  RejectLog rejects("", false);
  const Catalog cat = load_catalog(catalog(), rejects);
  const TitleMatrix tm = TitleMatrix::build(cat);
  auto scorer = make_cpu_scorer(tm);  // what `marquee similar` runs
  for (uint32_t t = 0; t < cat.num_titles(); t += 13) {
    Exclusions self;
    self.titles.push_back(t);
    self.offsets.push_back(1);
    TopKResult r;
    scorer->search(UserBatchView{1, tm.dim(), tm.row(t), &self}, 7, r);
    std::vector<std::string> want;
    for (size_t i = 0; i < r.counts[0]; ++i) want.push_back(cat.title(r.titles[i]).id + ":" + fmt::format("{:.6f}", r.scores[i]));
    const json b = body_of(cli.Get(("/v1/titles/" + cat.title(t).id + "/similar?k=7").c_str()));
    EXPECT_EQ(b["title_id"], cat.title(t).id);
    EXPECT_EQ(items_of(b), want) << "title " << cat.title(t).id;
  }
}

TEST_F(ServerTest, QueryByVectorAndByTagSetEqualsTheScorer) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const auto snap = s.engine->snapshot();
  auto scorer = make_cpu_scorer(snap->titles);
  auto expected = [&](std::vector<float> v, size_t k, std::vector<uint32_t> exclude) {
    l2_normalise(v.data(), v.size());
    Exclusions ex;
    ex.titles = exclude;
    ex.offsets.push_back(exclude.size());
    TopKResult r;
    scorer->search(UserBatchView{1, v.size(), v.data(), &ex}, k, r);
    std::vector<std::string> out;
    for (size_t i = 0; i < r.counts[0]; ++i)
      out.push_back(snap->catalog.title(r.titles[i]).id + ":" + fmt::format("{:.6f}", r.scores[i]));
    return out;
  };

  // A behaviour vector: a user's profile vector, unnormalised (the server normalises).
  const auto user = snap->users.find(read_recs(recs_path("watched")).begin()->first);
  std::vector<float> v = user->vector;
  for (float& x : v) x *= 3.0f;
  json req{{"vector", v}, {"k", 8}};
  auto r = cli.Post("/v1/query", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(items_of(body_of(r)), expected(user->vector, 8, {}));

  // A tag set, scored like a title carrying those tags (weight x idf), with exclusions.
  const std::string a = snap->catalog.tag(0).name, b = snap->catalog.tag(5).name;
  std::vector<float> tv(snap->titles.dim(), 0.0f);
  tv[0] = 1.0f * snap->titles.idf()[0];
  tv[5] = 0.5f * snap->titles.idf()[5];
  const std::vector<float> unexcluded = tv;
  std::vector<std::string> top = expected(unexcluded, 5, {});
  const std::string first = top[0].substr(0, top[0].find(':'));
  req = json{{"tags", {{a, 1.0}, {b, 0.5}}}, {"k", 5}, {"exclude_titles", {first}}};
  r = cli.Post("/v1/query", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(items_of(body_of(r)), expected(tv, 5, {*snap->catalog.find_title(first)}));
  // A plain list of tags weighs each 1.
  std::vector<float> ones(snap->titles.dim(), 0.0f);
  ones[0] = snap->titles.idf()[0];
  ones[5] = snap->titles.idf()[5];
  r = cli.Post("/v1/query", json{{"tags", {a, b}}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(items_of(body_of(r)), expected(ones, 20, {}));
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST_F(ServerTest, EveryErrorPathAnswersJsonWithTheRightStatus) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const std::string user = read_recs(recs_path("watched")).begin()->first;
  const std::string rec = "/v1/users/" + user + "/recommendations";

  expect_error(cli.Get("/v1/users/nobody/recommendations"), 404, "unknown user_id 'nobody'");
  expect_error(cli.Get("/v1/titles/no-such-title/similar"), 404, "unknown title_id 'no-such-title'");
  expect_error(cli.Get((rec + "?k=401").c_str()), 400, "k must be between 1 and 400; got 401");
  expect_error(cli.Get((rec + "?k=0").c_str()), 400, "k must be between 1 and 400; got 0");
  expect_error(cli.Get((rec + "?k=ten").c_str()), 400, "k must be an integer between 1 and 400; got 'ten'");
  expect_error(cli.Get("/v1/titles/t000001/similar?k=400"), 400, "k must be between 1 and 399; got 400");
  expect_error(cli.Get((rec + "?exclude=everything").c_str()), 400, "unknown exclusion policy 'everything'");
  expect_error(cli.Get((rec + "?explain=maybe").c_str()), 400, "explain must be true or false");
  expect_error(cli.Post("/v1/query", "{\"tags\": [", "application/json"), 400, "not valid JSON");
  expect_error(cli.Post("/v1/query", "[1,2]", "application/json"), 400, "must be a JSON object");
  expect_error(cli.Post("/v1/query", "{\"k\": 5}", "application/json"), 400, "exactly one of");
  expect_error(cli.Post("/v1/query", "{\"vector\": [1, 2]}", "application/json"), 400, "vector must be an array of 250 numbers");
  expect_error(cli.Post("/v1/query", "{\"tags\": [\"no-such-tag\"]}", "application/json"), 400, "unknown tag 'no-such-tag'");
  expect_error(cli.Post("/v1/query", json{{"vector", std::vector<float>(250, 0.0f)}}.dump(), "application/json"), 400,
               "all zeros");
  expect_error(cli.Post("/v1/query", json{{"tags", {"x"}}, {"k", 100000}}.dump(), "application/json"), 400,
               "k must be between 1 and 400; got 100000");
  // Oversized body: refused before it is read, with the limit named.
  const std::string big(100 * 1024, ' ');
  expect_error(cli.Post("/v1/query", big, "application/json"), 413, "exceeds the limit of 65536 bytes");
  // Writes need the token.
  const std::string ev = R"({"events":[{"ts":"2026-01-01T10:00:00Z","user_id":"x","title_id":"t000001","event":"play","position_s":0}]})";
  expect_error(cli.Post("/v1/events", ev, "application/json"), 401, "needs a bearer token");
  expect_error(cli.Post("/v1/admin/reload", "", "application/json"), 401, "needs a bearer token");
  httplib::Headers wrong{{"Authorization", "Bearer not-the-token"}};
  expect_error(cli.Post("/v1/events", wrong, ev, "application/json"), 401, "not valid");
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  expect_error(cli.Post("/v1/events", auth, "{oops", "application/json"), 400, "not valid JSON");
  expect_error(cli.Post("/v1/events", auth, "{\"events\": []}", "application/json"), 400, "events is empty");
  json many{{"events", json::array()}};
  for (int i = 0; i < 101; ++i) many["events"].push_back(json::parse(ev)["events"][0]);
  expect_error(cli.Post("/v1/events", auth, many.dump(), "application/json"), 413, "101 events in one request; the limit is 100");
  // Every event bad: 400, with each reason.
  const auto bad = cli.Post("/v1/events", auth,
                            R"({"events":[{"ts":"soon","user_id":"x","title_id":"t000001","event":"play","position_s":0},
                                          {"ts":"2026-01-01T10:00:00Z","user_id":"x","title_id":"nope","event":"play","position_s":0},
                                          {"user_id":"x"}]})",
                            "application/json");
  expect_error(bad, 400, "no event accepted");
  const json bb = body_of(bad);
  ASSERT_EQ(bb["rejected"].size(), 3u);
  EXPECT_EQ(bb["rejected"][0]["reason"], "unparseable timestamp 'soon'");
  EXPECT_EQ(bb["rejected"][1]["reason"], "unknown title_id 'nope'");
  EXPECT_NE(bb["rejected"][2]["reason"].get<std::string>().find("missing or empty field: ts"), std::string::npos);
  // Audience: no known tag, a bad weight, a bad body.
  expect_error(cli.Post("/v1/audience", R"({"tags":["nope","nada"]})", "application/json"), 400,
               "none of the tags is in the taxonomy (unknown: nope, nada)");
  expect_error(cli.Post("/v1/audience", R"({"tags":{"genre:drama":1.5}})", "application/json"), 400,
               "the weight of tag 'genre:drama' must be in (0, 1]; got 1.5");
  expect_error(cli.Post("/v1/audience", R"({"top":3})", "application/json"), 400, "the request body must be");
  expect_error(cli.Get("/v1/nothing-here"), 404, "no route GET /v1/nothing-here");
}

TEST_F(ServerTest, AudienceEqualsTheProjectorCalledDirectly) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const auto snap = s.engine->snapshot();
  const std::string a = snap->catalog.tag(0).name, b = snap->catalog.tag(3).name;
  const json req{{"title_id", "pilot"}, {"tags", {{a, 1.0}, {b, 0.5}, {"not-a-tag", 1.0}}}, {"top", 5}};
  const auto r = cli.Post("/v1/audience", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json got = body_of(r);
  EXPECT_EQ(got["title_id"], "pilot");
  EXPECT_EQ(got["ignored_tags"], json::array({"not-a-tag"}));

  NewTitle t;
  t.id = "pilot";
  t.tags = {{0, 1.0f}, {3, 0.5f}};
  const json want = server::AudienceProjector(*snap).project(*snap, t, 5);
  EXPECT_NEAR(got["audience"]["expected"].get<double>(), want["audience"]["expected"].get<double>(), 1e-6);
  EXPECT_EQ(got["top_users"], want["top_users"]);
  EXPECT_EQ(got["comparables"], want["comparables"]);
  const json& au = got["audience"];
  EXPECT_EQ(au["users"].get<size_t>(), snap->users.size());
  EXPECT_GT(au["expected"].get<double>(), 0.0);
  EXPECT_LE(au["lo95"].get<double>(), au["expected"].get<double>());
  EXPECT_GE(au["hi95"].get<double>(), au["expected"].get<double>());
  ASSERT_EQ(got["top_users"].size(), 5u);
  for (size_t i = 1; i < 5; ++i)
    EXPECT_GE(got["top_users"][i - 1]["p_watch"].get<double>(), got["top_users"][i]["p_watch"].get<double>());
  EXPECT_EQ(got["daypart"].size(), 24u);
  EXPECT_FALSE(got["comparables"].empty());
}

// ---------------------------------------------------------------------------------------------
// Online events

TEST_F(ServerTest, IngestedEventsChangeTheNextRecommendationsExactlyAsAFileWould) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const auto want = read_recs(recs_path("watched"));
  const std::string user = std::next(want.begin(), 3)->first;
  const std::string top = want.at(user)[0].substr(0, want.at(user)[0].find(':'));
  const auto snap = s.engine->snapshot();
  const double duration = snap->catalog.title(*snap->catalog.find_title(top)).duration_s;
  // The user watches their top recommendation to the end; a new user watches one title.
  const std::vector<std::string> rows = {
      fmt::format("2026-06-01T20:00:00Z,{},{},play,0,", user, top),
      fmt::format("2026-06-01T21:30:00Z,{},{},complete,{},", user, top, duration),
      fmt::format("2026-06-02T08:00:00+02:00,newcomer,{},play,0,", top),
      fmt::format("2026-06-02T08:40:00+02:00,newcomer,{},stop,{},", top, duration * 0.8),
  };
  json evs = json::array();
  for (const auto& row : rows) {
    const auto f = split(row, ',');
    evs.push_back({{"ts", f[0]}, {"user_id", f[1]}, {"title_id", f[2]}, {"event", f[3]}, {"position_s", std::stod(f[4])}});
  }
  evs.push_back(evs[0]);  // a duplicate in the same request is rejected
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  const auto r = cli.Post("/v1/events", auth, json{{"events", evs}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json b = body_of(r);
  EXPECT_EQ(b["accepted"], 4);
  EXPECT_EQ(b["users_updated"], 2);
  EXPECT_EQ(b["users_added"], 1);
  ASSERT_EQ(b["rejected"].size(), 1u);
  EXPECT_EQ(b["rejected"][0]["index"], 4);
  // Sent again: all duplicates now, nothing changes.
  expect_error(cli.Post("/v1/events", auth, json{{"events", {evs[0]}}}.dump(), "application/json"), 400,
               "duplicate event");

  // The reference: the nightly job over the events file with these rows appended.
  const std::string appended = dir() + "/events_appended.csv";
  std::string text = read_text(events());
  for (const auto& row : rows) text += row + "\n";
  write_text(appended, text);
  score_job(appended, "watched", dir() + "/recs_appended.csv");
  const auto after = read_recs(dir() + "/recs_appended.csv");
  ASSERT_TRUE(after.count("newcomer"));
  for (const std::string& u : {user, std::string("newcomer")}) {
    const json got = body_of(cli.Get(("/v1/users/" + u + "/recommendations?k=10").c_str()));
    EXPECT_EQ(items_of(got), after.at(u)) << u;
  }
  const json mine = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()));
  for (const auto& it : mine["items"]) EXPECT_NE(it["title_id"], top) << "a watched title is excluded";
  EXPECT_NE(items_of(mine), want.at(user));
  // Users the events did not touch are unchanged.
  const std::string other = want.begin()->first;
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/users/" + other + "/recommendations?k=10").c_str()))), want.at(other));
}

TEST_F(ServerTest, OnlineUpdatesFromAProfilesFileReplaceTheTouchedTitlesWeight) {
  const std::string profiles = dir() + "/profiles.bin";
  ProfileJobOptions po;
  po.input.catalog_dir = catalog();
  po.input.events_path = events();
  po.out_path = profiles;
  run_profile_job(po);
  EngineOptions eo = engine_options();
  eo.input.events_path.clear();
  eo.input.profiles_path = profiles;
  TestServer s(eo, http_options());
  auto cli = s.client();
  // Same answers as from events, before any update.
  const auto want = read_recs(recs_path("watched"));
  const std::string user = std::next(want.begin(), 5)->first;
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()))), want.at(user));
  // A new title for this user: its events decide its weight, the file's other weights stay.
  const std::string top = want.at(user)[0].substr(0, want.at(user)[0].find(':'));
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  const json ev{{"events",
                 {{{"ts", 1780000000}, {"user_id", user}, {"title_id", top}, {"event", "play"}, {"position_s", 0}},
                  {{"ts", 1780003000}, {"user_id", user}, {"title_id", top}, {"event", "complete"}, {"position_s", 100}}}}};
  ASSERT_EQ(cli.Post("/v1/events", auth, ev.dump(), "application/json")->status, 200);
  const auto before = s.engine->snapshot();
  const auto st = before->users.find(user);
  ASSERT_TRUE(st);
  EXPECT_TRUE(std::any_of(st->seen.begin(), st->seen.end(),
                          [&](const SeenTitle& x) { return before->catalog.title(x.title).id == top; }));
  const json got = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()));
  for (const auto& it : got["items"]) EXPECT_NE(it["title_id"], top);
}

// ---------------------------------------------------------------------------------------------
// Reload, overload, drain

TEST_F(ServerTest, ReloadUnderConcurrentRequestsFailsNone) {
  TestServer s(engine_options(), http_options());
  const auto want = read_recs(recs_path("watched"));
  std::vector<std::string> users;
  for (const auto& [u, rows] : want) users.push_back(u);
  // An online event first: it must survive the reloads (re-applied to each new snapshot).
  auto cli = s.client();
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  const auto snap0 = s.engine->snapshot();
  const double duration = snap0->catalog.title(*snap0->catalog.find_title("t000003")).duration_s;
  const json ev{{"events", {{{"ts", "2026-07-01T12:00:00Z"}, {"user_id", "reload-user"}, {"title_id", "t000003"},
                             {"event", "play"}, {"position_s", 0}},
                            {{"ts", "2026-07-01T12:50:00Z"}, {"user_id", "reload-user"}, {"title_id", "t000003"},
                             {"event", "stop"}, {"position_s", duration * 0.7}}}}};
  const auto posted = cli.Post("/v1/events", auth, ev.dump(), "application/json");
  ASSERT_EQ(posted->status, 200);
  ASSERT_EQ(body_of(posted)["accepted"], 2) << posted->body << " duration " << duration;
  const auto reload_user_before = items_of(body_of(cli.Get("/v1/users/reload-user/recommendations")));

  std::atomic<bool> stop{false};
  std::atomic<size_t> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto cc = s.client();
      for (size_t i = c; !stop && i < 100000; i += 4) {
        const std::string& u = users[i % users.size()];
        auto r = cc.Get(("/v1/users/" + u + "/recommendations?k=10").c_str());
        if (r && r->status == 200 && items_of(json::parse(r->body)) == want.at(u)) ++ok;
        else ++failed;
      }
    });
  }
  for (int i = 0; i < 3; ++i) {
    // Wait for traffic before each reload (bounded).
    const size_t seen = ok.load();
    for (int w = 0; w < 1000 && ok.load() < seen + 20; ++w) std::this_thread::sleep_for(2ms);
    const auto r = cli.Post("/v1/admin/reload", auth, "", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_of(r)["generation"], 2 + i);
    EXPECT_EQ(body_of(r)["replayed_events"], 2);
  }
  const size_t seen = ok.load();
  for (int w = 0; w < 1000 && ok.load() < seen + 20; ++w) std::this_thread::sleep_for(2ms);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_GT(ok.load(), 60u);
  EXPECT_EQ(s.engine->snapshot()->generation, 4u);
  EXPECT_EQ(items_of(body_of(cli.Get("/v1/users/reload-user/recommendations"))), reload_user_before);
}

TEST_F(ServerTest, AFailedReloadKeepsServingThePreviousSnapshot) {
  // The server reads its own copy of the events, so the test can break and restore it.
  const std::string copy = dir() + "/events_copy.csv";
  std::filesystem::copy_file(events(), copy, std::filesystem::copy_options::overwrite_existing);
  EngineOptions eo = engine_options();
  eo.input.events_path = copy;
  TestServer s(eo, http_options());
  auto cli = s.client();
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  std::filesystem::remove(copy);
  expect_error(cli.Post("/v1/admin/reload", auth, "", "application/json"), 500, "still serving the previous snapshot");
  EXPECT_EQ(s.engine->snapshot()->generation, 1u);
  const auto want = read_recs(recs_path("watched"));
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/users/" + want.begin()->first + "/recommendations?k=10").c_str()))),
            want.begin()->second);
  std::filesystem::copy_file(events(), copy);
  const auto r = cli.Post("/v1/admin/reload", auth, "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(s.engine->snapshot()->generation, 2u);
}

TEST_F(ServerTest, OverloadAnswers503InsteadOfQueueingForever) {
  Gate gate;
  EngineOptions eo = engine_options();
  eo.queue_limit = 2;
  eo.max_batch = 1;
  eo.deadline_ms = 60000;  // this test is about the queue bound, not the deadline
  eo.on_batch = gate.hook();
  TestServer s(eo, http_options());
  const std::string path = "/v1/users/" + read_recs(recs_path("watched")).begin()->first + "/recommendations";
  std::vector<int> status(8, -1);
  std::vector<std::string> bodies(8);
  auto fire = [&](int i) {
    auto c = s.client();
    auto r = c.Get(path.c_str());
    status[i] = r ? r->status : 0;
    bodies[i] = r ? r->body : "";
  };
  std::vector<std::thread> threads;
  threads.emplace_back(fire, 0);
  ASSERT_TRUE(gate.wait_entered(1)) << "the worker never took the first search";
  for (int i = 1; i < 8; ++i) threads.emplace_back(fire, i);
  // Two fit in the queue; the other five are refused at once, while the worker is still held.
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    const size_t refused = std::count(status.begin(), status.end(), 503);
    if (refused == 5 || std::chrono::steady_clock::now() - t0 > 10s) break;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(std::count(status.begin(), status.end(), 503), 5) << "refusals must not wait for the held batch";
  gate.release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(status.begin(), status.end(), 200), 3);
  for (int i = 0; i < 8; ++i)
    if (status[i] == 503) {
      EXPECT_NE(bodies[i].find("queue limit 2"), std::string::npos) << bodies[i];
    }
  const std::string metrics = s.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("marquee_searches_total{outcome=\"overloaded\"} 5"), std::string::npos);
}

TEST_F(ServerTest, ASearchQueuedPastItsDeadlineIsAnswered503) {
  Gate gate;
  EngineOptions eo = engine_options();
  eo.deadline_ms = 30;
  eo.max_batch = 1;
  eo.on_batch = gate.hook();
  TestServer s(eo, http_options());
  const std::string path = "/v1/users/" + read_recs(recs_path("watched")).begin()->first + "/recommendations";
  int first = -1, second = -1;
  std::string second_body;
  std::thread a([&] { auto r = s.client().Get(path.c_str()); first = r ? r->status : 0; });
  ASSERT_TRUE(gate.wait_entered(1));
  std::thread b([&] {
    auto r = s.client().Get(path.c_str());
    second = r ? r->status : 0;
    second_body = r ? r->body : "";
  });
  // The second search waits in the queue behind the held batch until its deadline has passed.
  for (int i = 0; i < 1000 && s.engine->queue_depth() == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(s.engine->queue_depth(), 1u);
  std::this_thread::sleep_for(60ms);
  gate.release();
  a.join();
  b.join();
  EXPECT_EQ(first, 200);
  EXPECT_EQ(second, 503);
  EXPECT_NE(second_body.find("deadline of 30 ms"), std::string::npos) << second_body;
}

TEST_F(ServerTest, ConnectionsBeyondTheThreadPoolAreAnswered503AtOnce) {
  HttpOptions ho = http_options();
  ho.threads = 2;
  TestServer s(engine_options(), ho);
  // Two keep-alive connections hold both connection threads.
  httplib::Client a("127.0.0.1", s.port), b("127.0.0.1", s.port);
  a.set_keep_alive(true);
  b.set_keep_alive(true);
  // (A thread may still be closing the start-up probe's connection: retry a refused connect, bounded.)
  auto hold = [](httplib::Client& cl) {
    for (int i = 0; i < 200; ++i) {
      if (auto r = cl.Get("/healthz"); r && r->status == 200) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  };
  ASSERT_TRUE(hold(a));
  ASSERT_TRUE(hold(b));
  httplib::Client c("127.0.0.1", s.port);
  c.set_read_timeout(5, 0);
  const auto t0 = std::chrono::steady_clock::now();
  expect_error(c.Get("/healthz"), 503, "connection threads are busy");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  a.stop();
  b.stop();
}

TEST_F(ServerTest, StopDrainsTheRequestInFlight) {
  Gate gate;
  EngineOptions eo = engine_options();
  eo.on_batch = gate.hook();
  TestServer s(eo, http_options());
  const std::string path = "/v1/users/" + read_recs(recs_path("watched")).begin()->first + "/recommendations";
  int status = -1;
  std::thread req([&] { auto r = s.client().Get(path.c_str()); status = r ? r->status : 0; });
  ASSERT_TRUE(gate.wait_entered(1));
  EXPECT_EQ(s.client().Get("/readyz")->status, 200);
  s.http->set_draining();
  EXPECT_EQ(s.client().Get("/readyz")->status, 503);
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s.http->stop();
    s.thread.join();
    stopped = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(stopped) << "stop must wait for the request in flight";
  gate.release();
  req.join();
  stopper.join();
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(stopped);
}

// ---------------------------------------------------------------------------------------------
// Metrics and probes

TEST_F(ServerTest, MetricsReportRoutesLatencyBatchesAndQueue) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const std::string user = read_recs(recs_path("watched")).begin()->first;
  for (int i = 0; i < 5; ++i) cli.Get(("/v1/users/" + user + "/recommendations").c_str());
  cli.Get("/v1/users/nobody/recommendations");
  EXPECT_EQ(body_of(cli.Get("/healthz"))["status"], "ok");
  const json ready = body_of(cli.Get("/readyz"));
  EXPECT_EQ(ready["status"], "ready");
  EXPECT_EQ(ready["generation"], 1);
  // A request is counted by the HTTP logger, which runs just after its response is written: poll
  // briefly so that the last request's count has landed (under load it can trail the response).
  std::string t;
  for (int i = 0; i < 100; ++i) {
    const auto m = cli.Get("/metrics");
    ASSERT_TRUE(m);
    EXPECT_NE(m->get_header_value("Content-Type").find("text/plain"), std::string::npos);
    t = m->body;
    if (t.find("code=\"404\"} 1") != std::string::npos && t.find("recommendations\",le=\"+Inf\"} 6") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const char* want : {
           "marquee_http_requests_total{route=\"GET /v1/users/{id}/recommendations\",code=\"200\"} 5",
           "marquee_http_requests_total{route=\"GET /v1/users/{id}/recommendations\",code=\"404\"} 1",
           "# TYPE marquee_http_request_seconds histogram",
           "marquee_http_request_seconds_bucket{route=\"GET /v1/users/{id}/recommendations\",le=\"+Inf\"} 6",
           "# TYPE marquee_batch_size histogram", "marquee_batch_size_count", "marquee_queue_depth 0",
           "marquee_queue_limit 64", "marquee_users 300", "marquee_titles 400", "marquee_snapshot_generation 1"})
    EXPECT_NE(t.find(want), std::string::npos) << "missing: " << want;
}

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

// ---------------------------------------------------------------------------------------------
// The binary: SIGHUP reloads, SIGTERM drains and exits 0

TEST_F(ServerTest, TheServeCommandReloadsOnSighupAndStopsOnSigterm) {
  const std::string log = dir() + "/serve.log";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    const std::string cat = catalog(), ev = events();
    execl(MARQUEE_BIN, MARQUEE_BIN, "serve", "--catalog", cat.c_str(), "--events", ev.c_str(), "--port", "0",
          "--backend", "cpu", "--token", kToken.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The port from the log line "listening on http://127.0.0.1:PORT".
  int port = -1;
  for (int i = 0; i < 3000 && port < 0; ++i) {
    const std::string text = read_text(log);
    const auto at = text.find("listening on http://127.0.0.1:");
    if (at != std::string::npos) port = std::atoi(text.c_str() + at + std::string("listening on http://127.0.0.1:").size());
    else std::this_thread::sleep_for(10ms);
  }
  if (port < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << "the server never said where it listens:\n" << read_text(log);
  }
  httplib::Client cli("127.0.0.1", port);
  const auto want = read_recs(recs_path("watched"));
  const std::string user = want.begin()->first;
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()))), want.at(user));
  kill(pid, SIGHUP);
  json ready;
  for (int i = 0; i < 3000; ++i) {
    auto r = cli.Get("/readyz");
    if (r && r->status == 200 && (ready = json::parse(r->body))["generation"] == 2) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ready["generation"], 2);
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()))), want.at(user));
  kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(10ms);
    if (i == 999) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL() << "serve did not stop on SIGTERM:\n" << read_text(log);
    }
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(log);
  const std::string text = read_text(log);
  EXPECT_NE(text.find("SIGHUP: reloading"), std::string::npos);
  EXPECT_NE(text.find("SIGTERM: draining"), std::string::npos);
  EXPECT_NE(text.find("serve: stopped"), std::string::npos);
}
