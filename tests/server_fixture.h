// The front service's test harness, shared by the test_server_*.cpp files (marquee_server_tests):
// a server in-process on an ephemeral loopback port (TestServer), a gate that holds the batch worker
// (Gate), helpers to read results and errors, and the ServerTest fixture: a small generated data set
// and the nightly score job's results over it, which every route's answers are checked against.
#pragma once

#include "generated_data.h"
#include "host/io/record_reader.h"
#include "host/jobs/jobs.h"
#include "host/server/http_server.h"
#include "host/server/serving_engine.h"
#include "test_util.h"

#include <fmt/format.h>
#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace marquee::test {

inline const std::string kToken = "s3cret-token";

/// A server on an ephemeral loopback port, serving until destroyed.
struct TestServer {
  std::unique_ptr<server::ServingEngine> engine;
  std::unique_ptr<server::HttpServer> http;
  std::thread thread;
  int port = -1;

  TestServer(server::EngineOptions eo, server::HttpOptions ho = {}) {
    engine = std::make_unique<server::ServingEngine>(std::move(eo));
    ho.bind = "127.0.0.1";
    ho.port = 0;
    http = std::make_unique<server::HttpServer>(*engine, ho);
    port = http->bind();
    thread = std::thread([this] { http->serve(); });
    // Bounded wait until it answers.
    httplib::Client c("127.0.0.1", port);
    for (int i = 0; i < 500; ++i) {
      if (auto r = c.Get("/healthz"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
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
      // bounded: a broken test cannot hang the suite
      cv.wait_for(lock, std::chrono::seconds(20), [&] { return open; });
    };
  }
  bool wait_entered(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return entered >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

/// user -> ["title:score", ...] in rank order, from a score job's CSV.
inline std::map<std::string, std::vector<std::string>> read_recs(const std::string& path) {
  std::map<std::string, std::vector<std::string>> out;
  RecordReader reader(path, {"user_id", "rank", "title_id", "score"});
  Record r;
  while (reader.next(r)) out[r.fields[0]].push_back(r.fields[2] + ":" + r.fields[3]);
  return out;
}

/// A response's items as "title:score", as read_recs gives them.
inline std::vector<std::string> items_of(const nlohmann::json& body) {
  std::vector<std::string> out;
  for (const auto& it : body.at("items"))
    out.push_back(it.at("title_id").get<std::string>() + ":" + fmt::format("{:.6f}", it.at("score").get<double>()));
  return out;
}

inline nlohmann::json body_of(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no response";
  if (!r) return nlohmann::json();
  try {
    return nlohmann::json::parse(r->body);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): " << r->body;
    return nlohmann::json();
  }
}

/// The "code" of an error answer that names no more specific one (docs/serving.md, "Errors").
inline std::string default_error_code(int status) {
  static const std::map<int, std::string> codes{{400, "bad_request"},       {401, "unauthorized"},
                                                {403, "forbidden"},         {404, "not_found"},
                                                {413, "payload_too_large"}, {431, "headers_too_large"},
                                                {500, "internal"},          {503, "unavailable"}};
  auto it = codes.find(status);
  return it == codes.end() ? "?" : it->second;
}

/// An error answer: the status, a JSON {"error": message, "code": code} whose message contains
/// `fragment`, and `code` (the status's default when empty).
inline void expect_error(const httplib::Result& r, int status, const std::string& fragment, std::string code = "") {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const nlohmann::json b = body_of(r);
  ASSERT_TRUE(b.is_object() && b.contains("error")) << r->body;
  EXPECT_EQ(b.value("code", ""), code.empty() ? default_error_code(status) : code) << r->body;
  EXPECT_NE(b["error"].get<std::string>().find(fragment), std::string::npos)
      << "'" << b["error"].get<std::string>() << "' should mention '" << fragment << "'";
}

/// A plain TCP connection to the loopback port, for what client libraries never send (slow or
/// malformed requests); -1 when it cannot connect. The caller closes it.
inline int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

/// Everything the server sends on `fd` until it closes the connection or `seconds` pass (or, with
/// `until_json`, until a whole JSON answer has arrived).
inline std::string read_answer(int fd, int seconds = 10, bool until_json = true) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
    out.append(buf, size_t(n));
    if (until_json && out.find("\r\n\r\n") != std::string::npos && out.back() == '}') break;  // our answers are JSON
  }
  return out;
}

/// Sends `request` as bytes on a fresh loopback connection and returns everything answered.
inline std::string raw_exchange(int port, const std::string& request) {
  const int fd = connect_loopback(port);
  std::string out;
  if (fd >= 0 && send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) out = read_answer(fd);
  if (fd >= 0) close(fd);
  return out;
}

}  // namespace marquee::test

/// 300 users, 400 titles, 250 tags (seed 7), and the score job's results for each exclusion policy.
class ServerTest : public marquee::test::GeneratedDataTest<ServerTest> {
 public:
  static marquee::GenOptions generator_options() {
    // 250 tags: a real taxonomy's density (~7 %): the sparse path, bit-exact whatever the batch
    return marquee::test::gen_options(300, 400, 250, 7);
  }

 protected:
  static void SetUpTestSuite() {
    GeneratedDataTest::SetUpTestSuite();
    for (const char* policy : {"watched", "completed", "none"}) score_job(events(), policy, recs_path(policy));
  }

  static std::string recs_path(const std::string& policy) { return dir() + "/recs_" + policy + ".csv"; }

  // The nightly job, exactly as `marquee score --backend cpu --top 10 --exclude POLICY` runs it.
  static void score_job(const std::string& events_path, const std::string& policy, const std::string& out) {
    marquee::ScoreJobOptions o;
    o.input.catalog_dir = catalog();
    o.input.events_path = events_path;
    o.out_path = out;
    o.k = 10;
    o.exclude = marquee::parse_exclude_policy(policy);
    o.backend = marquee::Backend::Cpu;
    marquee::run_score_job(o, nullptr);
  }

  static marquee::server::EngineOptions engine_options() {
    marquee::server::EngineOptions o;
    o.input.catalog_dir = catalog();
    o.input.events_path = events();
    o.backend = marquee::Backend::Cpu;
    o.title_shards = 2;  // exercises the sharded exact path; results must not change
    return o;
  }
  static marquee::server::HttpOptions http_options() {
    marquee::server::HttpOptions h;
    h.token = marquee::test::kToken;
    h.max_body_bytes = 64 * 1024;
    h.max_events = 100;
    h.threads = 16;
    return h;
  }
};
