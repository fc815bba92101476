// The front service's routes against the engine called directly (docs/serving.md): recommendations
// equal the score job behind `marquee score`, explanations the engine's explain(), similar titles and
// /v1/query the CPU scorer, /v1/audience the projector; and every error path answers JSON with the
// right status. The server runs in-process (server_fixture.h).
#include "engine/error.h"
#include "engine/explain.h"
#include "engine/scorer.h"
#include "host/io/catalog_io.h"
#include "host/server/audience.h"
#include "server_fixture.h"

#include <functional>
#include <set>
#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::test;
using json = nlohmann::json;

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

// ---------------------------------------------------------------------------------------------
// Audience

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

// Without a token, writes are refused unless the operator started the server with
// --anonymous-writes (docs/serving.md, "Authentication"); reads are never affected.
TEST_F(ServerTest, WritesWithoutATokenAreRefusedUnlessAnonymousWritesWereAsked) {
  const std::string body = R"({"events": [{"ts": "2026-06-01T20:00:00Z", "user_id": "uX", "title_id": "t000001",
                               "event": "play", "position_s": 0}]})";
  server::HttpOptions closed = http_options();
  closed.token.clear();
  TestServer s(engine_options(), closed);
  httplib::Client cli("127.0.0.1", s.port);
  expect_error(cli.Post("/v1/events", body, "application/json"), 403, "writes are disabled");
  expect_error(cli.Post("/v1/admin/reload", "{}", "application/json"), 403, "--anonymous-writes");
  const auto read = cli.Get("/readyz");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200);

  server::HttpOptions open = closed;
  open.anonymous_writes = true;
  TestServer t(engine_options(), open);
  httplib::Client cli2("127.0.0.1", t.port);
  const auto posted = cli2.Post("/v1/events", body, "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 200) << posted->body;
}

// ---------------------------------------------------------------------------------------------
// The API document and the status page

TEST_F(ServerTest, ServesItsOpenApiDocumentAndAStatusPage) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  // The document of this build, byte for byte: embedded at build time, not read at run time.
  const auto doc = cli.Get("/openapi.yaml");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
  EXPECT_NE(doc->get_header_value("Content-Type").find("application/yaml"), std::string::npos);
  EXPECT_EQ(doc->body, read_text(std::string(MARQUEE_SOURCE_DIR) + "/docs/openapi.yaml"));
  const auto page = cli.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  const auto snap = s.engine->snapshot();
  for (const std::string& want : {std::string("href=\"/openapi.yaml\""), "<td>" + snap->model_version + "</td>",
                                 std::string("<th>titles</th><td>400</td>"), std::string("<th>users</th><td>300</td>"),
                                 std::string("<th>status</th><td>ready</td>"), std::string("<th>uptime</th><td>0d 00:00:0")})
    EXPECT_NE(page->body.find(want), std::string::npos) << "missing " << want << " in\n" << page->body;
  s.http->set_draining();
  EXPECT_NE(cli.Get("/")->body.find("<th>status</th><td>draining</td>"), std::string::npos);
  expect_error(cli.Get("/nothing-here"), 404, "no route GET /nothing-here");
}

// ---------------------------------------------------------------------------------------------
// Batch recommendations

TEST_F(ServerTest, BatchRecommendationsEqualTheSingleUserRouteInRequestOrder) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  for (const char* policy : {"watched", "completed"}) {
    const auto want = read_recs(recs_path(policy));
    // 40 users (more than one wave of searches), in reverse order, with an unknown one in the middle.
    json users = json::array();
    for (auto it = want.rbegin(); it != want.rend() && users.size() < 40; ++it) users.push_back(it->first);
    users.insert(users.begin() + 7, "nobody");
    const auto r = cli.Post("/v1/recommendations", json{{"users", users}, {"k", 10}, {"exclude", policy}}.dump(),
                            "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json b = body_of(r);
    EXPECT_EQ(b["k"], 10);
    EXPECT_EQ(b["exclude"], policy);
    ASSERT_EQ(b["results"].size(), users.size());
    for (size_t i = 0; i < users.size(); ++i) {
      const json& got = b["results"][i];
      const std::string user = users[i];
      EXPECT_EQ(got["user_id"], user);
      if (user == "nobody") {
        EXPECT_TRUE(got["items"].empty());
        EXPECT_EQ(got["code"], "not_found");
        EXPECT_NE(got["error"].get<std::string>().find("unknown user_id 'nobody'"), std::string::npos);
        continue;
      }
      const json single =
          body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10&exclude=" + policy).c_str()));
      EXPECT_EQ(items_of(got), items_of(single)) << user;
      EXPECT_EQ(items_of(got), want.at(user)) << user << ": the score job";
      EXPECT_EQ(got["search"], "exact");
    }
  }
}

TEST_F(ServerTest, BatchRecommendationsAreBoundedAndValidated) {
  marquee::server::HttpOptions ho = http_options();
  ho.max_batch_users = 5;
  TestServer s(engine_options(), ho);
  auto cli = s.client();
  const std::string u = read_recs(recs_path("watched")).begin()->first;
  auto post = [&](const json& body) { return cli.Post("/v1/recommendations", body.dump(), "application/json"); };
  expect_error(post(json{{"users", json::array({u, u, u, u, u, u})}}), 413,
               "6 users in one request; the limit is 5 (--max-batch-users)");
  expect_error(post(json{{"users", json::array()}}), 400, "users must be a non-empty array");
  expect_error(post(json{{"users", u}}), 400, "users must be a non-empty array");
  expect_error(post(json{{"users", json::array({u, 42})}}), 400, "users[1] must be a user id string");
  expect_error(post(json{{"users", json::array({u})}, {"explain", true}}), 400, "unknown field 'explain'");
  expect_error(post(json{{"users", json::array({u})}, {"k", 0}}), 400, "k must be between 1 and 400; got 0");
  expect_error(post(json{{"users", json::array({u})}, {"exclude", "all"}}), 400, "all");
  expect_error(post(json{{"users", json::array({u})}, {"hour", 3}}), 400, "hour needs a daypart model");
  // Five of the same user: five equal answers.
  const json b = body_of(post(json{{"users", json::array({u, u, u, u, u})}, {"k", 3}}));
  ASSERT_EQ(b["results"].size(), 5u);
  for (const auto& r : b["results"]) EXPECT_EQ(items_of(r), items_of(b["results"][0]));
  EXPECT_EQ(b["results"][0]["items"].size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Filters: inside the top-K, against a naive reference (the unfiltered full ranking, filtered after)

namespace {
std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == ':' || c == '-' || c == '_' || c == '.' || c == ',') out += char(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}
}  // namespace

TEST_F(ServerTest, FiltersSelectInsideTheTopKAsTheFilteredFullRankingWould) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const auto snap = s.engine->snapshot();
  const Catalog& cat = snap->catalog;
  const size_t n = cat.num_titles();
  std::vector<std::set<std::string>> tags_of(n);
  for (const auto& a : cat.assignments()) tags_of[a.title].insert(cat.tag(a.tag).name);
  auto has = [&](const std::string& title, const char* tag) {
    return tags_of[*cat.find_title(title)].count(tag) > 0;
  };
  using Holds = std::function<bool(const std::string& title)>;
  std::vector<std::pair<std::string, Holds>> cases = {
      {"genre:comedy", [&](const std::string& t) { return has(t, "genre:comedy"); }},
      {"genre:comedy AND NOT genre:drama", [&](const std::string& t) { return has(t, "genre:comedy") && !has(t, "genre:drama"); }},
      {"NOT (genre:comedy OR genre:drama)", [&](const std::string& t) { return !has(t, "genre:comedy") && !has(t, "genre:drama"); }},
      {"genre:thriller OR genre:comedy AND genre:drama",  // AND binds tighter than OR
       [&](const std::string& t) { return has(t, "genre:thriller") || (has(t, "genre:comedy") && has(t, "genre:drama")); }}};
  // An allow list of 5 % of the catalogue: a filter that removes 95 % still fills k.
  std::string allow;
  std::set<std::string> allowed;
  for (size_t t = 0; t < n; t += 20) {
    allow += (allow.empty() ? "" : ",") + cat.title(uint32_t(t)).id;
    allowed.insert(cat.title(uint32_t(t)).id);
  }
  cases.emplace_back("", [&](const std::string& t) { return allowed.count(t) > 0; });
  // The reference: the first k titles of `full` that pass.
  auto reference = [](const std::vector<std::string>& full, const Holds& holds, size_t k) {
    std::vector<std::string> out;
    for (const auto& item : full)
      if (out.size() < k && holds(item.substr(0, item.rfind(':'))))  // item: "title:score"
        out.push_back(item);
    return out;
  };
  const auto recs = read_recs(recs_path("watched"));
  size_t users = 0, changed = 0;
  for (const auto& [user, rows] : recs) {
    if (++users > 15) break;
    const std::string base = "/v1/users/" + user + "/recommendations?";
    const auto full = items_of(body_of(cli.Get((base + "k=" + std::to_string(n)).c_str())));
    for (const auto& [expr, holds] : cases) {
      const std::string query = expr.empty() ? "allow=" + allow : "filter=" + url_encode(expr);
      const auto r = cli.Get((base + "k=10&" + query).c_str());
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const auto want = reference(full, holds, 10);
      EXPECT_EQ(items_of(body_of(r)), want) << user << " filter " << (expr.empty() ? "allow 5 %" : expr);
      if (expr.empty()) {
        EXPECT_EQ(want.size(), 10u) << "the allow list should leave enough titles for k";
      }
      changed += want != std::vector<std::string>(full.begin(), full.begin() + 10);
    }
    // deny: the unfiltered top 3 are gone, the rest move up.
    const std::string top3 = full[0].substr(0, full[0].rfind(':')) + "," + full[1].substr(0, full[1].rfind(':')) + "," +
                             full[2].substr(0, full[2].rfind(':'));
    EXPECT_EQ(items_of(body_of(cli.Get((base + "k=5&deny=" + top3).c_str()))),
              std::vector<std::string>(full.begin() + 3, full.begin() + 8));
    // The batch route filters the same way.
    const json b = body_of(cli.Post("/v1/recommendations",
                                    json{{"users", {user}}, {"k", 10}, {"filter", cases[1].first}}.dump(), "application/json"));
    EXPECT_EQ(items_of(b["results"][0]), reference(full, cases[1].second, 10)) << user;
  }
  EXPECT_GT(changed, 60u) << "the filters should change most of the 75 answers";
  // Similar titles and /v1/query.
  const std::string title = cat.title(3).id;
  const auto similar_full = items_of(body_of(cli.Get(("/v1/titles/" + title + "/similar?k=" + std::to_string(n - 1)).c_str())));
  EXPECT_EQ(items_of(body_of(cli.Get(("/v1/titles/" + title + "/similar?k=7&filter=" + url_encode(cases[1].first)).c_str()))),
            reference(similar_full, cases[1].second, 7));
  const json q{{"tags", {"genre:comedy"}}, {"k", n}};
  const auto query_full = items_of(body_of(cli.Post("/v1/query", q.dump(), "application/json")));
  json qf = q;
  qf["k"] = 6;
  qf["filter"] = cases[2].first;
  EXPECT_EQ(items_of(body_of(cli.Post("/v1/query", qf.dump(), "application/json"))), reference(query_full, cases[2].second, 6));
  qf.erase("filter");
  qf["allow_titles"] = std::vector<std::string>(allowed.begin(), allowed.end());
  EXPECT_EQ(items_of(body_of(cli.Post("/v1/query", qf.dump(), "application/json"))), reference(query_full, cases[4].second, 6));
}

TEST_F(ServerTest, FilterErrorsNameTheProblemAndWhere) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  const std::string base = "/v1/users/" + read_recs(recs_path("watched")).begin()->first + "/recommendations?filter=";
  expect_error(cli.Get((base + "nope").c_str()), 400, "filter: unknown tag 'nope' at character 1");
  expect_error(cli.Get((base + url_encode("genre:comedy AND")).c_str()), 400, "expected a tag, NOT or '(' at character 17");
  expect_error(cli.Get((base + url_encode("(genre:comedy OR genre:drama")).c_str()), 400, "'(' is never closed at character 1");
  expect_error(cli.Get((base + url_encode("genre:comedy genre:drama")).c_str()), 400, "expected AND, OR or the end at character 14");
  expect_error(cli.Get((base + url_encode("AND genre:comedy")).c_str()), 400, "expected a tag before 'AND'");
  expect_error(cli.Get((base + std::string(70, '(') + "genre:comedy" + std::string(70, ')')).c_str()), 400, "levels of nesting");
  expect_error(cli.Get((base.substr(0, base.size() - 7) + "allow=t999999").c_str()), 400, "allow: unknown title_id 't999999'");
  expect_error(cli.Post("/v1/query", json{{"tags", {"genre:comedy"}}, {"deny_titles", "t000001"}}.dump(), "application/json"), 400,
               "deny_titles must be an array of title ids");
}
