// The HTTP/1.1 front of `marquee serve` (Boost.Beast over Asio): reads requests off the wire within
// deadlines and limits, hands complete requests to the routes (api.h) on a small pool of request
// threads, and writes the answers back (issue #15: slow or hostile clients cannot take it down).
//
// Connections are event-driven: a few I/O threads multiplex every open connection, so a client that
// trickles its headers costs a socket and a few KiB, never a thread. Each request must deliver its
// whole header within --header-timeout-ms and its body within --body-timeout-ms (deadlines for the
// whole header/body, not per read); headers are bounded in bytes (--max-header-bytes) and lines
// (--max-headers), bodies in bytes whatever their encoding (--max-body-bytes, chunked included).
// Only a request that has been read whole takes a request thread (--http-threads); when all are
// busy the request is answered 503 at once. At --max-connections the oldest connection that is not
// being answered (idle keep-alive, or still sending its request) is closed to make room.
#pragma once

#include "host/server/serving_engine.h"

#include <cstdint>
#include <memory>
#include <string>

namespace marquee::server {

struct HttpOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;                      // 0: an ephemeral port (see port())
  std::string token;                    // non-empty: writes need "Authorization: Bearer TOKEN"
  bool anonymous_writes = false;        // no token: writes are refused (403) unless this is set
  size_t max_body_bytes = 1 << 20;      // larger request bodies (any encoding): 413
  size_t max_k = 0;                     // K above min(max_k, titles): 400; 0 = the catalogue size
  size_t max_events = 10000;            // events per POST /v1/events; more: 413
  size_t max_batch_users = 100;         // users per POST /v1/recommendations; more: 413
  int threads = 128;                    // request threads: requests being answered at once
  size_t max_pending_requests = 0;      // complete requests waiting for a busy request thread; beyond: 503
  int io_threads = 2;                   // threads that read and write every connection
  uint32_t header_timeout_ms = 10000;   // the whole request line + headers must arrive within this
  uint32_t body_timeout_ms = 30000;     // the whole body must arrive within this (after the headers)
  uint32_t write_timeout_ms = 10000;    // an answer must be taken by the client within this
  size_t max_header_bytes = 16 * 1024;  // request line + headers; more: 431
  size_t max_headers = 100;             // header lines; more: 431
  size_t max_connections = 10000;       // open connections; clamped below the process's file limit
  int keep_alive_seconds = 2;           // an idle keep-alive connection is closed after this
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
  /// Stops accepting, closes idle connections, lets the requests in progress finish, and makes
  /// serve() return once they are answered. Returns at once; safe from any thread.
  void stop();

  int port() const { return port_; }
  const HttpOptions& options() const { return options_; }

  struct Impl;  // the transport's state (http_server.cpp)

 private:
  HttpOptions options_;
  std::unique_ptr<Impl> impl_;
  int port_ = -1;
};

}  // namespace marquee::server
