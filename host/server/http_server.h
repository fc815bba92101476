// The HTTP front of `marquee serve` (cpp-httplib): routes (docs/openapi.yaml), JSON errors, limits,
// bearer-token auth for writes, per-route request metrics, and a connection queue that sheds load.
//
// Connections are served by a fixed pool of threads (one connection at a time each, keep-alive).
// When every thread is busy (and `max_pending_connections` connections already wait), a new
// connection is answered 503 at once by a small shedding pool and closed, so overload never turns
// into an unbounded wait; searches that get in are bounded again by the engine's queue limit and
// deadline.
#pragma once

#include "host/server/serving_engine.h"

#include <atomic>
#include <memory>
#include <string>

namespace marquee::server {

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;                     // 0: an ephemeral port (see port())
  std::string token;                   // non-empty: writes need "Authorization: Bearer TOKEN"
  bool anonymous_writes = false;       // no token: writes are refused (403) unless this is set
  size_t max_body_bytes = 1 << 20;     // larger request bodies: 413
  size_t max_k = 0;                    // K above min(max_k, titles): 400; 0 = the catalogue size
  size_t max_events = 10000;           // events per POST /v1/events; more: 413
  int threads = 128;                   // connection threads = most connections served at once
  size_t max_pending_connections = 0;  // accepted connections waiting for a busy pool; beyond: 503
                                       // (a keep-alive connection holds its thread until it closes,
                                       // so a waiting connection could wait for seconds)
  int keep_alive_seconds = 2;          // an idle keep-alive connection is closed after this
  size_t keep_alive_max_requests = 10000;
};

class HttpServer {
 public:
  HttpServer(ServingEngine& engine, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds the listening socket; returns the port (the ephemeral one when options.port is 0).
  /// Throws ArgumentError when the address cannot be bound.
  int bind();
  /// Serves until stop(); returns false when listening failed.
  bool serve();
  /// /readyz answers 503 from now on (a load balancer stops sending); requests are still served.
  void set_draining();
  /// Stops accepting, lets the requests in progress finish, and makes serve() return.
  void stop();

  int port() const { return port_; }
  const HttpOptions& options() const { return options_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  HttpOptions options_;
  int port_ = -1;
};

}  // namespace marquee::server
