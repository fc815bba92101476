// The routes of `marquee serve` (docs/openapi.yaml), apart from the transport: JSON in and out,
// errors as {"error": message}, bearer-token auth for writes, the engine's outcomes as status codes.
// http_server.cpp carries requests here from the wire; tests and other transports can call handle().
#pragma once

#include "host/server/router.h"
#include "host/server/serving_engine.h"

#include <memory>
#include <string>

namespace marquee::server {

struct HttpOptions;

class Api {
 public:
  Api(ServingEngine& engine, const HttpOptions& options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Answers one request: its route's answer, or a JSON 404. Never throws.
  void handle(Request& req, Response& res);
  /// /readyz answers 503 from now on.
  void set_draining();

  /// The metrics label of a request: "GET /v1/users/{id}/recommendations", or "other".
  static std::string route_label(const std::string& method, const std::string& path);
  /// A JSON error answer, {"error": message, "code": code} (code: the status's default when null):
  /// the transport's own refusals (400, 413, 431, 503) use it too.
  static void error(Response& res, int status, const std::string& message, const char* code = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace marquee::server
