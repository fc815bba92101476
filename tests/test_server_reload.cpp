// Reloading the front service (docs/serving.md): /v1/admin/reload under concurrent requests fails
// none and keeps online events, a failed reload keeps serving the previous snapshot; and the
// `marquee serve` binary reloads on SIGHUP and drains and exits 0 on SIGTERM.
#include "server_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace marquee;
using namespace marquee::server;
using namespace marquee::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Reload under load, a failed reload

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

// ---------------------------------------------------------------------------------------------
// The binary: SIGHUP reloads, SIGTERM drains and exits 0

TEST_F(ServerTest, TheServeCommandReloadsOnSighupAndStopsOnSigterm) {
  const std::string log = dir() + "/serve.log";
  const std::string token_file = dir() + "/token";
  write_text(token_file, "  " + kToken + " \r\nsecond line ignored\n");  // the token, not in `ps`
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    const std::string cat = catalog(), ev = events();
    execl(MARQUEE_BIN, MARQUEE_BIN, "serve", "--catalog", cat.c_str(), "--events", ev.c_str(), "--port", "0",
          "--backend", "cpu", "--token-file", token_file.c_str(), static_cast<char*>(nullptr));
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
  // The token from --token-file (blanks and the line end trimmed) authorises writes.
  expect_error(cli.Post("/v1/events", "{\"events\": []}", "application/json"), 401, "needs a bearer token");
  const json one = {{"events",
                     {{{"ts", "2026-06-01T20:00:00Z"}, {"user_id", "u-token-file-check"}, {"title_id", "t000001"}, {"event", "play"},
                       {"position_s", 0}}}}};
  const auto posted = cli.Post("/v1/events", {{"Authorization", "Bearer " + kToken}}, one.dump(), "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 200) << posted->body;
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
