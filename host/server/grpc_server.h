// The gRPC front of `marquee serve --grpc-port` (host/server/proto/marquee.proto, docs/serving.md,
// "gRPC"): each RPC is turned into the HTTP route's request (method, path, query, body, the
// "authorization" metadata as the Authorization header) and answered by the same routes (api.h),
// so that answers, limits and errors are those of HTTP; the route's JSON answer is translated into
// the RPC's reply, its error status into a gRPC status code.
//
// Built only with gRPC (Debian libgrpc++-dev, protobuf-compiler-grpc; CMake option MARQUEE_WITH_GRPC);
// without it, constructing a GrpcServer throws ArgumentError saying so.
#pragma once

#include "host/server/http_server.h"
#include "host/server/serving_engine.h"

#include <memory>
#include <string>

namespace marquee::server {

struct GrpcOptions {
  int port = 0;  // 0: an ephemeral port (start() returns it); `serve` makes no GrpcServer when --grpc-port is 0
};

/// True when this build has the gRPC transport.
bool grpc_available();

class GrpcServer {
 public:
  /// Shares `http`'s limits: bind address, token, --max-body-bytes (the largest message), request
  /// threads (--http-threads: RPCs answered at once), --max-k, --max-events, --max-batch-users.
  GrpcServer(ServingEngine& engine, const HttpOptions& http, GrpcOptions options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  /// Binds and starts serving on gRPC's own threads; returns the port. Throws ArgumentError when
  /// the address cannot be bound.
  int start();
  /// Health answers UNAVAILABLE from now on.
  void set_draining();
  /// Stops accepting and waits for the RPCs in flight. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace marquee::server
