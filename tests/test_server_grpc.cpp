// The gRPC transport (host/server/grpc_server.h, docs/serving.md "gRPC"): a generated client stub
// against the same engine as HTTP. Every RPC's answer equals its HTTP route's (titles, scores, the
// fields around them) and the score job's; errors carry the HTTP route's message and the mapped code.
#include "host/server/grpc_server.h"
#include "host/server/proto/marquee.grpc.pb.h"
#include "server_fixture.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

using namespace marquee;
using namespace marquee::test;
using json = nlohmann::json;
namespace pb = marquee::v1;

namespace {

/// A TestServer (HTTP) with the gRPC transport on the same engine, and a stub for it.
struct BothServers {
  TestServer http;
  std::unique_ptr<server::GrpcServer> grpc;
  std::unique_ptr<pb::Marquee::Stub> stub;
  int grpc_port = -1;

  BothServers(server::EngineOptions eo, server::HttpOptions ho) : http(std::move(eo), ho) {
    ho.bind = "127.0.0.1";
    grpc = std::make_unique<server::GrpcServer>(*http.engine, ho, server::GrpcOptions{0});
    grpc_port = grpc->start();
    stub = pb::Marquee::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials()));
  }
  ~BothServers() { grpc->stop(); }
};

/// A client context with a deadline (a broken server cannot hang the suite) and, optionally, a token.
std::unique_ptr<grpc::ClientContext> context(const std::string& token = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

std::vector<std::string> items_of(const google::protobuf::RepeatedPtrField<pb::Item>& items) {
  std::vector<std::string> out;
  for (const auto& it : items) out.push_back(it.title_id() + ":" + fmt::format("{:.6f}", it.score()));
  return out;
}

std::string error_code_of(const grpc::ClientContext& ctx) {
  const auto& md = ctx.GetServerTrailingMetadata();
  auto it = md.find("marquee-error-code");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

/// The HTTP error answer `r` and the gRPC status `st` say the same: message, code string, and the mapped code.
void expect_same_error(const httplib::Result& r, const grpc::Status& st, const grpc::ClientContext& ctx,
                       grpc::StatusCode want) {
  ASSERT_TRUE(r);
  const json b = body_of(r);
  EXPECT_EQ(st.error_code(), want) << st.error_message();
  EXPECT_EQ(st.error_message(), b.value("error", "?"));
  EXPECT_EQ(error_code_of(ctx), b.value("code", "?"));
}

}  // namespace

TEST_F(ServerTest, GrpcRecommendEqualsHttpAndTheScoreJob) {
  BothServers s(engine_options(), http_options());
  auto cli = s.http.client();
  for (const char* policy : {"watched", "completed"}) {
    const auto want = read_recs(recs_path(policy));
    ASSERT_GT(want.size(), 200u);
    size_t users = 0;
    for (const auto& [user, rows] : want) {
      if (++users > 60) break;
      pb::RecommendRequest req;
      req.set_user_id(user);
      req.set_k(10);
      req.set_exclude(policy);
      pb::Recommendations got;
      auto ctx = context();
      const grpc::Status st = s.stub->Recommend(ctx.get(), req, &got);
      ASSERT_TRUE(st.ok()) << st.error_message();
      EXPECT_EQ(items_of(got.items()), rows) << user;
      const json h = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10&exclude=" + policy).c_str()));
      EXPECT_EQ(items_of(got.items()), marquee::test::items_of(h)) << user;
      EXPECT_EQ(got.user_id(), user);
      EXPECT_EQ(got.k(), 10u);
      EXPECT_EQ(got.exclude(), policy);
      EXPECT_EQ(got.search(), "exact");
      EXPECT_EQ(got.model_version(), h["model_version"].get<std::string>());
      EXPECT_FALSE(got.has_hour());
      if (HasFailure()) return;
    }
  }
  // k = 0: the route's default (20), as an HTTP request without ?k=.
  const std::string user = read_recs(recs_path("watched")).begin()->first;
  pb::RecommendRequest req;
  req.set_user_id(user);
  pb::Recommendations got;
  ASSERT_TRUE(s.stub->Recommend(context().get(), req, &got).ok());
  EXPECT_EQ(got.k(), 20u);
  EXPECT_EQ(items_of(got.items()),
            marquee::test::items_of(body_of(cli.Get(("/v1/users/" + user + "/recommendations").c_str()))));
  // explain = true: the explanation is the HTTP answer's, as a Struct.
  req.set_k(3);
  req.set_explain(true);
  ASSERT_TRUE(s.stub->Recommend(context().get(), req, &got).ok());
  const json h = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=3&explain=true").c_str()));
  ASSERT_EQ(got.items_size(), 3);
  for (int i = 0; i < 3; ++i) {
    std::string text;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(got.items(i).explanation(), &text).ok());
    EXPECT_EQ(json::parse(text), h["items"][i]["explanation"]) << i;
  }
}

TEST_F(ServerTest, GrpcFiltersAndSimilarEqualHttp) {
  BothServers s(engine_options(), http_options());
  auto cli = s.http.client();
  const auto snap = s.http.engine->snapshot();
  const std::string t0 = snap->catalog.title(0).id, t5 = snap->catalog.title(5).id, t9 = snap->catalog.title(9).id;
  size_t users = 0;
  for (const auto& [user, rows] : read_recs(recs_path("watched"))) {
    if (++users > 10) break;
    pb::RecommendRequest req;
    req.set_user_id(user);
    req.set_k(7);
    req.set_filter("genre:comedy OR genre:drama");
    req.add_deny_titles(t5);
    req.add_deny_titles(t9);
    pb::Recommendations got;
    ASSERT_TRUE(s.stub->Recommend(context().get(), req, &got).ok());
    const json h = body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=7&filter=genre%3Acomedy%20OR%20genre%3Adrama&deny=" +
                                    t5 + "," + t9).c_str()));
    EXPECT_EQ(items_of(got.items()), marquee::test::items_of(h)) << user;
    EXPECT_EQ(got.items_size(), 7);
  }
  for (uint32_t t = 0; t < 40; ++t) {
    const std::string id = snap->catalog.title(t).id;
    pb::SimilarRequest req;
    req.set_title_id(id);
    req.set_k(8);
    if (t % 2) req.add_allow_titles(t0), req.add_allow_titles(t5), req.add_allow_titles(t9);
    pb::SimilarTitles got;
    const grpc::Status st = s.stub->Similar(context().get(), req, &got);
    ASSERT_TRUE(st.ok()) << st.error_message();
    const json h = body_of(
        cli.Get(("/v1/titles/" + id + "/similar?k=8" + (t % 2 ? "&allow=" + t0 + "," + t5 + "," + t9 : "")).c_str()));
    EXPECT_EQ(items_of(got.items()), marquee::test::items_of(h)) << id;
    EXPECT_EQ(got.title_id(), id);
    EXPECT_EQ(got.k(), 8u);
    EXPECT_FALSE(got.items().empty());
  }
}

TEST_F(ServerTest, GrpcRecommendBatchEqualsHttp) {
  BothServers s(engine_options(), http_options());
  auto cli = s.http.client();
  const auto want = read_recs(recs_path("completed"));
  pb::RecommendBatchRequest req;
  json users = json::array();
  for (auto it = want.rbegin(); it != want.rend() && users.size() < 30; ++it) users.push_back(it->first);
  users.insert(users.begin() + 3, "nobody");
  for (const auto& u : users) req.add_users(u.get<std::string>());
  req.set_k(10);
  req.set_exclude("completed");
  pb::BatchRecommendations got;
  const grpc::Status st = s.stub->RecommendBatch(context().get(), req, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const json h = body_of(cli.Post("/v1/recommendations", json{{"users", users}, {"k", 10}, {"exclude", "completed"}}.dump(),
                                  "application/json"));
  EXPECT_EQ(got.k(), 10u);
  EXPECT_EQ(got.exclude(), "completed");
  ASSERT_EQ(got.results_size(), int(users.size()));
  for (int i = 0; i < got.results_size(); ++i) {
    const auto& r = got.results(i);
    EXPECT_EQ(r.user_id(), users[size_t(i)].get<std::string>());
    EXPECT_EQ(items_of(r.items()), marquee::test::items_of(h["results"][size_t(i)])) << r.user_id();
    if (r.user_id() == "nobody") {
      EXPECT_EQ(r.code(), "not_found");
      EXPECT_EQ(r.error(), h["results"][size_t(i)]["error"].get<std::string>());
    } else {
      EXPECT_EQ(items_of(r.items()), want.at(r.user_id()));
    }
  }
}

TEST_F(ServerTest, GrpcErrorsAreTheHttpRoutesMapped) {
  marquee::server::HttpOptions ho = http_options();
  ho.max_batch_users = 3;
  BothServers s(engine_options(), ho);
  auto cli = s.http.client();
  {  // an unknown user: NOT_FOUND with the route's message
    pb::RecommendRequest req;
    req.set_user_id("nobody");
    pb::Recommendations got;
    auto ctx = context();
    const grpc::Status st = s.stub->Recommend(ctx.get(), req, &got);
    expect_same_error(cli.Get("/v1/users/nobody/recommendations"), st, *ctx, grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(st.error_message().find("unknown user_id 'nobody'"), std::string::npos);
  }
  {  // a bad k: INVALID_ARGUMENT
    pb::SimilarRequest req;
    req.set_title_id(s.http.engine->snapshot()->catalog.title(0).id);
    req.set_k(100000);
    pb::SimilarTitles got;
    auto ctx = context();
    const grpc::Status st = s.stub->Similar(ctx.get(), req, &got);
    expect_same_error(cli.Get(("/v1/titles/" + req.title_id() + "/similar?k=100000").c_str()), st, *ctx,
                      grpc::StatusCode::INVALID_ARGUMENT);
  }
  {  // too many users: RESOURCE_EXHAUSTED (413)
    pb::RecommendBatchRequest req;
    for (int i = 0; i < 4; ++i) req.add_users("u" + std::to_string(i));
    pb::BatchRecommendations got;
    auto ctx = context();
    const grpc::Status st = s.stub->RecommendBatch(ctx.get(), req, &got);
    expect_same_error(cli.Post("/v1/recommendations", json{{"users", {"u0", "u1", "u2", "u3"}}}.dump(), "application/json"),
                      st, *ctx, grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  {  // a write without the token: UNAUTHENTICATED (401); a wrong one too
    pb::JsonRequest req;
    req.set_json(R"({"events": []})");
    pb::JsonReply got;
    auto ctx = context();
    const grpc::Status st = s.stub->PostEvents(ctx.get(), req, &got);
    expect_same_error(cli.Post("/v1/events", req.json(), "application/json"), st, *ctx, grpc::StatusCode::UNAUTHENTICATED);
    auto wrong = context("not-the-token");
    EXPECT_EQ(s.stub->Reload(wrong.get(), pb::JsonRequest(), &got).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(error_code_of(*wrong), "unauthorized");
  }
  {  // a message larger than --max-body-bytes (64 KiB here): refused by gRPC itself
    pb::JsonRequest req;
    req.set_json(std::string(ho.max_body_bytes + 1, ' '));
    pb::JsonReply got;
    EXPECT_EQ(s.stub->Query(context().get(), req, &got).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
}

TEST_F(ServerTest, GrpcWritesWithoutATokenConfiguredArePermissionDenied) {
  marquee::server::HttpOptions ho = http_options();
  ho.token.clear();
  BothServers s(engine_options(), ho);
  pb::JsonRequest req;
  req.set_json(R"({"events": []})");
  pb::JsonReply got;
  auto ctx = context(kToken);
  const grpc::Status st = s.stub->PostEvents(ctx.get(), req, &got);
  expect_same_error(s.http.client().Post("/v1/events", req.json(), "application/json"), st, *ctx,
                    grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ServerTest, GrpcJsonRoutesAnswerAsHttpAndWritesTakeTheToken) {
  BothServers s(engine_options(), http_options());
  auto cli = s.http.client();
  const auto snap = s.http.engine->snapshot();
  {  // Query: the same JSON answer byte for byte
    const std::string body = json{{"tags", {snap->catalog.tag(0).name, snap->catalog.tag(3).name}}, {"k", 5}}.dump();
    pb::JsonRequest req;
    req.set_json(body);
    pb::JsonReply got;
    const grpc::Status st = s.stub->Query(context().get(), req, &got);
    ASSERT_TRUE(st.ok()) << st.error_message();
    const auto h = cli.Post("/v1/query", body, "application/json");
    ASSERT_TRUE(h);
    EXPECT_EQ(got.json(), h->body);
  }
  {  // PostEvents with the token: accepted, and the user's recommendations change for both transports
    const std::string user = read_recs(recs_path("watched")).begin()->first;
    pb::RecommendRequest rq;
    rq.set_user_id(user);
    rq.set_k(10);
    pb::Recommendations before, after;
    ASSERT_TRUE(s.stub->Recommend(context().get(), rq, &before).ok());
    const std::string top = before.items(0).title_id();
    const json ev{{"events", {{{"ts", "2026-06-01T20:00:00Z"}, {"user_id", user}, {"title_id", top}, {"event", "play"},
                               {"position_s", 0}}}}};
    pb::JsonRequest req;
    req.set_json(ev.dump());
    pb::JsonReply got;
    const grpc::Status st = s.stub->PostEvents(context(kToken).get(), req, &got);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(json::parse(got.json())["accepted"], 1) << got.json();
    ASSERT_TRUE(s.stub->Recommend(context().get(), rq, &after).ok());
    EXPECT_NE(after.items(0).title_id(), top) << "a watched title is excluded from then on";
    EXPECT_EQ(items_of(after.items()),
              marquee::test::items_of(body_of(cli.Get(("/v1/users/" + user + "/recommendations?k=10").c_str()))));
  }
  {  // Health: /readyz's answer; UNAVAILABLE once draining
    pb::JsonReply got;
    ASSERT_TRUE(s.stub->Health(context().get(), pb::HealthRequest(), &got).ok());
    EXPECT_EQ(json::parse(got.json())["status"], "ready");
    s.grpc->set_draining();
    auto ctx = context();
    EXPECT_EQ(s.stub->Health(ctx.get(), pb::HealthRequest(), &got).error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(error_code_of(*ctx), "shutting_down");
  }
}
