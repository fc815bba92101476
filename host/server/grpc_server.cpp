// The gRPC transport (grpc_server.h): the synchronous gRPC C++ server, one RPC per gRPC thread (at most
// --http-threads of them, gRPC's ResourceQuota), each answered by the HTTP routes through Api::handle.
#include "host/server/grpc_server.h"

#include "host/server/api.h"
#include "host/server/proto/marquee.grpc.pb.h"

#include "engine/error.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>

namespace marquee::server {
namespace {

namespace pb = marquee::v1;
using json = nlohmann::ordered_json;

// The HTTP status of a route's answer as a gRPC code (docs/serving.md, "gRPC").
grpc::StatusCode grpc_code(int http_status) {
  switch (http_status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 401: return grpc::StatusCode::UNAUTHENTICATED;
    case 403: return grpc::StatusCode::PERMISSION_DENIED;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 413: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    case 500: return grpc::StatusCode::INTERNAL;
    default: return grpc::StatusCode::UNKNOWN;
  }
}

std::string join(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

json id_list(const google::protobuf::RepeatedPtrField<std::string>& ids) { return json(std::vector<std::string>(ids.begin(), ids.end())); }

// The filter fields of a JSON body ("filter", "allow_titles", "deny_titles"), present only when set.
template <typename Message>
void add_filter(json& body, const Message& m) {
  if (!m.filter().empty()) body["filter"] = m.filter();
  if (m.allow_titles_size() > 0) body["allow_titles"] = id_list(m.allow_titles());
  if (m.deny_titles_size() > 0) body["deny_titles"] = id_list(m.deny_titles());
}

class Service final : public pb::Marquee::Service {
 public:
  Service(ServingEngine& engine, const HttpOptions& http) : api_(engine, http) {}
  void set_draining() { api_.set_draining(); }

  grpc::Status Recommend(grpc::ServerContext* ctx, const pb::RecommendRequest* in, pb::Recommendations* out) override {
    Request req = request(ctx, "GET", "/v1/users/" + in->user_id() + "/recommendations");
    if (in->k() > 0) req.params.emplace("k", std::to_string(in->k()));
    if (!in->exclude().empty()) req.params.emplace("exclude", in->exclude());
    if (in->exact()) req.params.emplace("exact", "true");
    if (in->explain()) req.params.emplace("explain", "true");
    if (!in->filter().empty()) req.params.emplace("filter", in->filter());
    if (in->allow_titles_size() > 0) req.params.emplace("allow", join(in->allow_titles()));
    if (in->deny_titles_size() > 0) req.params.emplace("deny", join(in->deny_titles()));
    if (in->has_hour()) req.params.emplace("hour", std::to_string(in->hour()));
    return answer(ctx, req, out);
  }

  grpc::Status RecommendBatch(grpc::ServerContext* ctx, const pb::RecommendBatchRequest* in,
                              pb::BatchRecommendations* out) override {
    json body{{"users", id_list(in->users())}};
    if (in->k() > 0) body["k"] = in->k();
    if (!in->exclude().empty()) body["exclude"] = in->exclude();
    if (in->exact()) body["exact"] = true;
    if (in->has_hour()) body["hour"] = in->hour();
    add_filter(body, *in);
    Request req = request(ctx, "POST", "/v1/recommendations", body.dump());
    return answer(ctx, req, out);
  }

  grpc::Status Similar(grpc::ServerContext* ctx, const pb::SimilarRequest* in, pb::SimilarTitles* out) override {
    Request req = request(ctx, "GET", "/v1/titles/" + in->title_id() + "/similar");
    if (in->k() > 0) req.params.emplace("k", std::to_string(in->k()));
    if (in->exact()) req.params.emplace("exact", "true");
    if (!in->filter().empty()) req.params.emplace("filter", in->filter());
    if (in->allow_titles_size() > 0) req.params.emplace("allow", join(in->allow_titles()));
    if (in->deny_titles_size() > 0) req.params.emplace("deny", join(in->deny_titles()));
    return answer(ctx, req, out);
  }

  grpc::Status Query(grpc::ServerContext* ctx, const pb::JsonRequest* in, pb::JsonReply* out) override {
    return json_route(ctx, "POST", "/v1/query", in->json(), out);
  }
  grpc::Status Audience(grpc::ServerContext* ctx, const pb::JsonRequest* in, pb::JsonReply* out) override {
    return json_route(ctx, "POST", "/v1/audience", in->json(), out);
  }
  grpc::Status PostEvents(grpc::ServerContext* ctx, const pb::JsonRequest* in, pb::JsonReply* out) override {
    return json_route(ctx, "POST", "/v1/events", in->json(), out);
  }
  grpc::Status Reload(grpc::ServerContext* ctx, const pb::JsonRequest* in, pb::JsonReply* out) override {
    return json_route(ctx, "POST", "/v1/admin/reload", in->json(), out);
  }
  grpc::Status Health(grpc::ServerContext* ctx, const pb::HealthRequest*, pb::JsonReply* out) override {
    return json_route(ctx, "GET", "/readyz", "", out);
  }

 private:
  Api api_;

  // The HTTP request an RPC stands for: its bearer token from the "authorization" metadata, and a
  // Content-Length as the wire would carry (a route tells "no body" from "an empty one" by it).
  static Request request(const grpc::ServerContext* ctx, std::string method, std::string path, std::string body = "") {
    Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    const auto& md = ctx->client_metadata();
    if (auto it = md.find("authorization"); it != md.end())
      req.headers.emplace("Authorization", std::string(it->second.data(), it->second.size()));
    if (req.method == "POST") req.headers.emplace("Content-Length", std::to_string(body.size()));
    req.body = std::move(body);
    return req;
  }

  grpc::Status json_route(grpc::ServerContext* ctx, const char* method, const char* path, const std::string& body,
                          pb::JsonReply* out) {
    Request req = request(ctx, method, path, body);
    Response res;
    api_.handle(req, res);
    if (res.status != 200) return error(ctx, res);
    out->set_json(std::move(res.body));
    return grpc::Status::OK;
  }

  // Runs the route and parses its JSON answer into `out` (field names are the JSON answer's).
  template <typename Reply>
  grpc::Status answer(grpc::ServerContext* ctx, Request& req, Reply* out) {
    Response res;
    api_.handle(req, res);
    if (res.status != 200) return error(ctx, res);
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // a field the routes gained before the .proto did
    const auto parsed = google::protobuf::util::JsonStringToMessage(res.body, out, options);
    if (!parsed.ok())
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "the route's answer does not fit " + Reply::descriptor()->full_name() + ": " +
                              std::string(parsed.message()));
    return grpc::Status::OK;
  }

  // An error answer {"error": message, "code": code}: the message as the status message, the code in
  // the trailing metadata "marquee-error-code".
  static grpc::Status error(grpc::ServerContext* ctx, const Response& res) {
    std::string message = res.body, code;
    try {
      const json b = json::parse(res.body);
      message = b.value("error", res.body);
      code = b.value("code", "");
    } catch (const std::exception&) {
      // not JSON: the body is the message
    }
    if (!code.empty()) ctx->AddTrailingMetadata("marquee-error-code", code);
    return grpc::Status(grpc_code(res.status), message);
  }
};

}  // namespace

struct GrpcServer::Impl {
  HttpOptions http;
  GrpcOptions options;
  Service service;
  std::unique_ptr<grpc::Server> server;
  std::once_flag stopped;

  Impl(ServingEngine& engine, const HttpOptions& h, GrpcOptions o) : http(h), options(o), service(engine, http) {}
};

bool grpc_available() { return true; }

GrpcServer::GrpcServer(ServingEngine& engine, const HttpOptions& http, GrpcOptions options)
    : impl_(std::make_unique<Impl>(engine, http, options)) {
  MARQUEE_CHECK_ARG(options.port >= 0 && options.port <= 65535, "--grpc-port must be between 0 and 65535; got {}",
                    options.port);
}

GrpcServer::~GrpcServer() { stop(); }

int GrpcServer::start() {
  const HttpOptions& http = impl_->http;
  const std::string host = http.bind.find(':') != std::string::npos ? "[" + http.bind + "]" : http.bind;
  const std::string address = host + ":" + std::to_string(impl_->options.port);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&impl_->service);
  // The HTTP limits: the largest request body is the largest message; --http-threads RPCs at once
  // (beyond, gRPC answers RESOURCE_EXHAUSTED).
  builder.SetMaxReceiveMessageSize(int(std::min<size_t>(http.max_body_bytes, size_t(INT32_MAX))));
  grpc::ResourceQuota quota("marquee-grpc");
  quota.SetMaxThreads(std::max(2, http.threads));
  builder.SetResourceQuota(quota);
  impl_->server = builder.BuildAndStart();
  MARQUEE_CHECK_ARG(impl_->server && port > 0, "serve: cannot listen for gRPC on {}", address);
  return port;
}

void GrpcServer::set_draining() { impl_->service.set_draining(); }

void GrpcServer::stop() {
  if (!impl_->server) return;
  std::call_once(impl_->stopped, [this] {
    // RPCs in flight have until then to finish; the engine's deadlines bound them well before.
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
    impl_->server->Wait();
  });
}

}  // namespace marquee::server
