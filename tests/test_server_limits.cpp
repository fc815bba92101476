// The front service's limits (docs/serving.md): overload answers 503 instead of queueing forever, a
// search queued past its deadline is answered 503, connections beyond the thread pool are refused at
// once, stop drains the request in flight; and the metrics and probes report it all. The server runs
// in-process (server_fixture.h); Gate holds the batch worker.
#include "server_fixture.h"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace marquee;
using namespace marquee::server;
using namespace marquee::test;
using json = nlohmann::json;

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Overload, deadlines, connection threads, drain

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
      EXPECT_NE(bodies[i].find("\"code\":\"overloaded\""), std::string::npos) << bodies[i];
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
  EXPECT_NE(second_body.find("\"code\":\"deadline_exceeded\""), std::string::npos) << second_body;
}

TEST_F(ServerTest, RequestsBeyondTheRequestThreadsAreAnswered503AtOnce) {
  Gate gate;
  EngineOptions eo = engine_options();
  eo.on_batch = gate.hook();
  HttpOptions ho = http_options();
  ho.threads = 1;
  TestServer s(eo, ho);
  const std::string path = "/v1/users/" + read_recs(recs_path("watched")).begin()->first + "/recommendations";
  // One search holds the only request thread (its batch is held by the gate).
  int first = -1;
  std::thread held([&] { auto r = s.client().Get(path.c_str()); first = r ? r->status : 0; });
  ASSERT_TRUE(gate.wait_entered(1));
  const auto t0 = std::chrono::steady_clock::now();
  expect_error(s.client().Get("/healthz"), 503, "request threads are busy", "overloaded");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "a refusal must not wait for the held request";
  gate.release();
  held.join();
  EXPECT_EQ(first, 200);
  EXPECT_EQ(s.engine->metrics().value("marquee_http_connections_shed_total"), 1);
}

TEST_F(ServerTest, IdleKeepAliveConnectionsHoldNoRequestThread) {
  HttpOptions ho = http_options();
  ho.threads = 2;
  TestServer s(engine_options(), ho);
  // More idle keep-alive connections than request threads: with a thread per connection (the
  // cpp-httplib server before issue #15) the third would be refused.
  std::vector<std::unique_ptr<httplib::Client>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<httplib::Client>("127.0.0.1", s.port));
    held.back()->set_keep_alive(true);
    const auto r = held.back()->Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << "connection " << i << ": " << r->body;
  }
  EXPECT_EQ(s.client().Get("/healthz")->status, 200);
  for (auto& c : held) c->stop();
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
  expect_error(s.client().Get("/readyz"), 503, "draining", "shutting_down");
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

TEST_F(ServerTest, MetricsCarryTheProcessSeriesAndBuildInfo) {
  TestServer s(engine_options(), http_options());
  const std::string t = s.client().Get("/metrics")->body;
  // The value of an unlabelled series in the exposition text; NaN when absent.
  auto value = [&](const std::string& name) {
    const size_t at = t.find("\n" + name + " ");
    return at == std::string::npos ? NAN : std::stod(t.substr(at + name.size() + 2));
  };
  EXPECT_NE(t.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_GT(value("process_resident_memory_bytes"), 1e6);  // this test process: tens of MB at least
  EXPECT_GT(value("process_virtual_memory_bytes"), value("process_resident_memory_bytes"));
  EXPECT_GT(value("process_cpu_seconds_total"), 0);
  EXPECT_GE(value("process_open_fds"), 3);  // stdio, the listening socket, the scrape's connection
  EXPECT_GE(value("process_max_fds"), value("process_open_fds"));
  const double now = double(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
  EXPECT_LE(value("process_start_time_seconds"), now + 1);
  EXPECT_GT(value("process_start_time_seconds"), now - 24 * 3600) << "a test process started within a day";
  EXPECT_NE(t.find("marquee_build_info{version=\"" MARQUEE_TEST_VERSION "\",backend=\"cpu\"} 1"), std::string::npos) << t;
}

// ---------------------------------------------------------------------------------------------
// Hostile or careless bodies get 400 with a reason, never 500 (issue #15, item 5)

TEST_F(ServerTest, MalformedValuesAre400WithAReasonNot500) {
  TestServer s(engine_options(), http_options());
  auto cli = s.client();
  // A number that overflows a double.
  expect_error(cli.Post("/v1/query", R"({"vector": [1e400], "k": 3})", "application/json"), 400,
               "JSON numbers cannot hold");
  // A non-string title_id in /v1/audience.
  const std::string tag = s.engine->snapshot()->catalog.tag(0).name;
  expect_error(cli.Post("/v1/audience", json{{"tags", {tag}}, {"title_id", 42}}.dump(), "application/json"), 400,
               "wrong type");
  // An id that is not UTF-8 in the path: a JSON 404 (the id replaced), not a failed dump.
  const auto r = cli.Get("/v1/users/%FF%FE/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NO_THROW((void)json::parse(r->body)) << r->body;
  // A POST without Content-Length (sent raw: client libraries add one): the reason, not "HTTP 400".
  const std::string answer = raw_exchange(s.port, "POST /v1/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(answer.find("400"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Content-Length"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("HTTP 400\""), std::string::npos) << answer;
}

// Chunked bodies are read, and bounded by --max-body-bytes like any other body.
TEST_F(ServerTest, ChunkedBodiesAreReadWithinTheBodyLimit) {
  TestServer s(engine_options(), http_options());
  const std::string body = R"({"tags": ["no-such-tag"]})";
  const std::string small =
      raw_exchange(s.port, fmt::format("POST /v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                       "Content-Type: application/json\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n",
                                       body.size(), body));
  EXPECT_NE(small.find(" 400 "), std::string::npos) << small;
  EXPECT_NE(small.find("unknown tag 'no-such-tag'"), std::string::npos) << "the body was read: " << small;
  // 100 chunks of 1 KiB past the 64 KiB limit: 413 once the limit is crossed, not after the whole body.
  std::string big = "POST /v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 100; ++i) big += fmt::format("400\r\n{}\r\n", std::string(1024, ' '));
  big += "0\r\n\r\n";
  const std::string answer = raw_exchange(s.port, big);
  EXPECT_NE(answer.find(" 413 "), std::string::npos) << answer;
  EXPECT_NE(answer.find("limit of 65536 bytes (--max-body-bytes)"), std::string::npos) << answer;
  // The server still answers normally afterwards.
  EXPECT_EQ(s.client().Get("/healthz")->status, 200);
}

TEST_F(ServerTest, OneUsersHeldEventsAreBoundedWithAReason) {
  EngineOptions eo = engine_options();
  const auto want = read_recs(recs_path("watched"));
  const std::string user = want.begin()->first;
  {
    TestServer probe(engine_options(), http_options());
    eo.max_user_events = probe.engine->snapshot()->users.find(user)->events.size() + 2;
  }
  TestServer s(eo, http_options());
  auto cli = s.client();
  json evs = json::array();
  for (int i = 0; i < 4; ++i)
    evs.push_back({{"ts", fmt::format("2026-06-0{}T20:00:00Z", i + 1)}, {"user_id", user}, {"title_id", "t000002"},
                   {"event", "play"}, {"position_s", 0}});
  httplib::Headers auth{{"Authorization", "Bearer " + kToken}};
  const auto r = cli.Post("/v1/events", auth, json{{"events", evs}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json b = body_of(r);
  EXPECT_EQ(b["accepted"], 2);
  ASSERT_EQ(b["rejected"].size(), 2u);
  EXPECT_EQ(b["rejected"][0]["index"], 2);
  EXPECT_NE(b["rejected"][0]["reason"].get<std::string>().find("--max-user-events"), std::string::npos) << r->body;
  EXPECT_EQ(s.engine->snapshot()->users.find(user)->events.size(), eo.max_user_events);
}
