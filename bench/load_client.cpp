// Open-loop HTTP load generator for `marquee serve` (bench/load_server.sh drives it).
//
// Requests are scheduled at a fixed rate (evenly spaced) independently of how fast the server
// answers, and each latency is measured from the request's *scheduled* start, so a slow server is
// not hidden by the client waiting for it (no coordinated omission). Worker threads each hold one
// keep-alive connection (cpp-httplib client) and take the next due request; when all are busy the
// backlog shows up in the measured latency, as it would for a real caller.
//
// Prints one JSON object: offered and achieved rate, status counts, and latency percentiles of the
// successful (200) responses and of all responses.
//
// --slow-clients N adds N hostile connections for the whole run (issue #15, "slowloris"): each sends
// a request line and then one header byte every --slow-interval seconds, forever; a connection the
// server closes is opened again at the next tick. The JSON reports how many the server closed.
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#ifdef MARQUEE_LOAD_CLIENT_GRPC
#include "host/server/proto/marquee.grpc.pb.h"

#include <grpcpp/grpcpp.h>
#endif

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  double latency_s;  // from the scheduled start (open loop)
  double service_s;  // from the moment the request was sent (what the server took, plus the wire)
  double done_s;     // completion, seconds after the start of the schedule
  int status;        // 0: connection error; -1: never sent
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return NAN;
  const size_t i = std::min(v.size() - 1, size_t(std::ceil(p * double(v.size()))) - (p > 0 ? 1 : 0));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

// Connections that trickle an endless header, one byte per tick, until `stop`.
class SlowClients {
 public:
  SlowClients(const std::string& host, int port, size_t n, double interval_s) : fds_(n, -1), sent_(n, 0) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr);
    thread_ = std::thread([this, addr, interval_s] {
      while (!stop_) {
        const auto next = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s));
        for (size_t i = 0; i < fds_.size() && !stop_; ++i) tick(i, addr);
        std::this_thread::sleep_until(next);
      }
      for (int fd : fds_)
        if (fd >= 0) close(fd);
    });
  }
  ~SlowClients() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t opened() const { return opened_; }
  size_t closed_by_server() const { return closed_by_server_; }

 private:
  void tick(size_t i, const sockaddr_in& addr) {
    static const std::string start = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    static const std::string line = "X-Slow: aaaaaaaa\r\n";  // repeated forever, a byte at a time
    int& fd = fds_[i];
    if (fd >= 0) {
      char buf[512];
      const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      const bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      const char byte = line[sent_[i]++ % line.size()];
      if (closed || n > 0 || send(fd, &byte, 1, MSG_NOSIGNAL) != 1) {  // closed, or answered (e.g. 503)
        ++closed_by_server_;
        close(fd);
        fd = -1;
      }
      return;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        send(fd, start.data(), start.size(), MSG_NOSIGNAL) != ssize_t(start.size())) {
      close(fd);
      fd = -1;
      return;
    }
    sent_[i] = 0;
    ++opened_;
  }

  std::vector<int> fds_;
  std::vector<size_t> sent_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> opened_{0}, closed_by_server_{0};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"open-loop load generator for marquee serve"};
  std::string host = "127.0.0.1", ids_path, route = "recommendations";
  int port = 8080, connections = 32;
  double rate = 500, duration = 10, warmup = 1;
  size_t k = 20;
  uint64_t seed = 1;
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->required();
  app.add_option("--rate", rate, "requests per second (offered, open loop)")->required();
  app.add_option("--duration", duration, "seconds measured")->capture_default_str();
  app.add_option("--warmup", warmup, "seconds sent before measuring (not counted)")->capture_default_str();
  app.add_option("--connections", connections, "keep-alive connections (one thread each)")->capture_default_str();
  app.add_option("--ids", ids_path, "file with one user id (or title id for --route similar) per line")->required();
  app.add_option("--route", route, "recommendations | similar")->capture_default_str();
  app.add_option("-k", k, "k of each request")->capture_default_str();
  app.add_option("--seed", seed, "random id choice")->capture_default_str();
  bool random_hour = false;
  app.add_flag("--random-hour", random_hour,
               "recommendations: add &hour=H, H drawn uniformly from 0..23 (needs serve --daypart)");
  size_t slow_clients = 0;
  double slow_interval = 1.0;
  app.add_option("--slow-clients", slow_clients, "hostile connections trickling headers during the run")->capture_default_str();
  app.add_option("--slow-interval", slow_interval, "seconds between the slow clients' bytes")->capture_default_str();
  std::string protocol = "http";
  app.add_option("--protocol", protocol, "http | grpc (--port is then serve's --grpc-port)")
      ->check(CLI::IsMember({"http", "grpc"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
#ifndef MARQUEE_LOAD_CLIENT_GRPC
  if (protocol == "grpc") {
    std::fprintf(stderr, "--protocol grpc: this build lacks gRPC (libgrpc++-dev protobuf-compiler-grpc)\n");
    return 2;
  }
#endif

  std::vector<std::string> ids;
  {
    std::ifstream in(ids_path);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) ids.push_back(line);
  }
  if (ids.empty()) {
    std::fprintf(stderr, "no ids in %s\n", ids_path.c_str());
    return 2;
  }
  std::vector<std::string> paths, request_ids;
  std::vector<int> hours;  // -1: none
  std::mt19937_64 rng(seed);
  const size_t total = size_t(std::llround(rate * (warmup + duration)));
  const size_t warm = size_t(std::llround(rate * warmup));
  paths.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    const std::string& id = ids[rng() % ids.size()];
    paths.push_back(route == "similar" ? "/v1/titles/" + id + "/similar?k=" + std::to_string(k)
                                       : "/v1/users/" + id + "/recommendations?k=" + std::to_string(k));
    request_ids.push_back(id);
    hours.push_back(random_hour && route != "similar" ? int(rng() % 24) : -1);
    if (hours.back() >= 0) paths.back() += "&hour=" + std::to_string(hours.back());
  }

  std::unique_ptr<SlowClients> slow;
  if (slow_clients > 0) {
    slow = std::make_unique<SlowClients>(host, port, slow_clients, slow_interval);
    std::this_thread::sleep_for(std::chrono::seconds(1));  // connected before the first real request
  }
  const auto t0 = Clock::now() + std::chrono::milliseconds(100);
  const double interval = 1.0 / rate;
  const auto window_end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup + duration + 2.0));
  std::atomic<size_t> next{0};
  std::vector<Sample> samples(total, Sample{NAN, NAN, NAN, -1});
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
#ifdef MARQUEE_LOAD_CLIENT_GRPC
      std::unique_ptr<marquee::v1::Marquee::Stub> stub;
      if (protocol == "grpc") {
        grpc::ChannelArguments args;
        args.SetInt("marquee.worker", c);  // distinct arguments: a channel of its own, not a shared connection
        stub = marquee::v1::Marquee::NewStub(grpc::CreateCustomChannel(host + ":" + std::to_string(port),
                                                                       grpc::InsecureChannelCredentials(), args));
      }
      // The RPC for request i; its status as the HTTP one it stands for (see the top of this file).
      auto call_grpc = [&](size_t i) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        grpc::Status st;
        if (route == "similar") {
          marquee::v1::SimilarRequest req;
          req.set_title_id(request_ids[i]);
          req.set_k(uint32_t(k));
          marquee::v1::SimilarTitles out;
          st = stub->Similar(&ctx, req, &out);
        } else {
          marquee::v1::RecommendRequest req;
          req.set_user_id(request_ids[i]);
          req.set_k(uint32_t(k));
          if (hours[i] >= 0) req.set_hour(hours[i]);
          marquee::v1::Recommendations out;
          st = stub->Recommend(&ctx, req, &out);
        }
        if (st.ok()) return 200;
        return st.error_code() == grpc::StatusCode::UNAVAILABLE ? 503 : 1000 + int(st.error_code());
      };
#endif
      httplib::Client cli(host, port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      cli.set_connection_timeout(5);
      cli.set_read_timeout(10);
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= total) return;
        const auto due = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i * interval));
        // Past the window (plus a grace period) the rest is not sent: a server slower than the offered
        // rate would otherwise keep the run going long after its duration.
        if (Clock::now() > window_end) return;
        std::this_thread::sleep_until(due);
        const auto sent = Clock::now();
        int status = 0;
#ifdef MARQUEE_LOAD_CLIENT_GRPC
        if (stub) {
          status = call_grpc(i);
        } else
#endif
        {
          auto res = cli.Get(paths[i].c_str());
          status = res ? res->status : 0;
        }
        const auto got = Clock::now();
        samples[i] = Sample{std::chrono::duration<double>(got - due).count(),
                            std::chrono::duration<double>(got - sent).count(),
                            std::chrono::duration<double>(got - t0).count(), status};
      }
    });
  }
  for (auto& t : threads) t.join();
  if (slow) slow->finish();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

  // Latencies: the requests scheduled in the measured window [warmup, warmup + duration) that were
  // sent. Rates: the responses that arrived in that window of wall time (a saturated server answers
  // fewer than were scheduled; the rest are "unsent" or arrive late).
  std::map<int, size_t> codes;
  std::vector<double> ok, all, ok_service, shed_service;
  size_t unsent = 0, sent = 0, answered_in_window = 0, ok_in_window = 0;
  for (size_t i = 0; i < total; ++i) {
    const Sample& x = samples[i];
    if (x.status >= 0 && x.done_s >= warmup && x.done_s < warmup + duration) {
      ++answered_in_window;
      ok_in_window += x.status == 200;
    }
    if (i < warm) continue;
    if (x.status < 0) {
      ++unsent;
      continue;
    }
    ++sent;
    ++codes[x.status];
    all.push_back(x.latency_s);
    if (x.status == 200) ok.push_back(x.latency_s), ok_service.push_back(x.service_s);
    if (x.status == 503) shed_service.push_back(x.service_s);
  }
  nlohmann::ordered_json out;
  out["protocol"] = protocol;
  out["route"] = route;
  out["k"] = k;
  out["connections"] = connections;
  out["offered_rps"] = rate;
  out["duration_s"] = duration;
  out["requests"] = sent;
  out["unsent"] = unsent;  // scheduled but never sent: the client stopped at the end of the window
  out["achieved_rps"] = double(answered_in_window) / duration;
  out["ok_rps"] = double(ok_in_window) / duration;
  nlohmann::ordered_json jc = nlohmann::ordered_json::object();
  for (const auto& [code, n] : codes)
    jc[code == 0 ? "error" : code >= 1000 ? "grpc_" + std::to_string(code - 1000) : std::to_string(code)] = n;
  out["status"] = jc;
  auto ms = [](double s) { return std::isnan(s) ? nullptr : nlohmann::json(std::round(s * 1e6) / 1e3); };
  out["ok_ms"] = {{"p50", ms(percentile(ok, 0.5))}, {"p99", ms(percentile(ok, 0.99))},
                  {"p999", ms(percentile(ok, 0.999))}, {"max", ms(ok.empty() ? NAN : *std::max_element(ok.begin(), ok.end()))}};
  out["all_ms"] = {{"p50", ms(percentile(all, 0.5))}, {"p99", ms(percentile(all, 0.99))},
                   {"p999", ms(percentile(all, 0.999))}};
  out["ok_service_ms"] = {{"p50", ms(percentile(ok_service, 0.5))}, {"p99", ms(percentile(ok_service, 0.99))},
                          {"p999", ms(percentile(ok_service, 0.999))}};
  out["shed_service_ms"] = {{"p50", ms(percentile(shed_service, 0.5))}, {"p99", ms(percentile(shed_service, 0.99))}};
  if (slow)
    out["slow_clients"] = {{"connections", slow_clients}, {"interval_s", slow_interval}, {"opened", slow->opened()},
                           {"closed_by_server", slow->closed_by_server()}};
  out["wall_s"] = elapsed;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
