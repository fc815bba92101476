// `marquee serve`: the front service (docs/serving.md). Loads the snapshot, listens, reloads on
// SIGHUP, and on SIGINT/SIGTERM stops accepting, drains the requests in flight and returns 0.
#pragma once

#include "host/server/grpc_server.h"
#include "host/server/http_server.h"
#include "host/server/serving_engine.h"

#include <functional>

namespace marquee::server {

struct ServeOptions {
  EngineOptions engine;
  HttpOptions http;
  /// grpc.port > 0: gRPC on that port too (same bind address and limits as HTTP); 0: HTTP only.
  GrpcOptions grpc;
  /// Called once the socket is bound and the snapshot loaded, with the port (tests, tools).
  std::function<void(int port)> on_listening;
};

/// Blocks until SIGINT or SIGTERM; returns 0 after a graceful drain. Throws the engine's errors when
/// the first load fails (ArgumentError, InputError, BackendError: the CLI maps them to exit codes).
int run_serve(const ServeOptions& options);

}  // namespace marquee::server
