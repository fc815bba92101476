// The HTTP routes' request parsing and validation (host/server/http_server.cpp). Those parsers are
// private to the server (the route handlers of HttpServer::Impl), so this harness runs the real
// server in-process — `marquee serve` on the fixed data set (fuzz_common.h), CPU, on an ephemeral
// loopback port — and sends each input as one request over a keep-alive connection:
//
//   byte 0 % 5   0: POST /v1/query   1: POST /v1/events   2: POST /v1/audience   (the rest: the body)
//                3: GET /v1/users/{id}/recommendations    4: GET /v1/titles/{id}/similar
//                (the rest split at 0x1E: id, k, hour, exclude, explain, exact; each percent-encoded)
//
// A finding: a crash or sanitizer report in the server, no answer, a 500 (every malformed request
// must be a 4xx with a reason: issue #15 item 5), or a body that is not a JSON object.
#include "fuzz_common.h"

#include "host/server/http_server.h"
#include "host/server/serving_engine.h"

#include <httplib.h>

#include <cstdio>
#include <thread>

using namespace marquee;

namespace {

struct Server {
  std::unique_ptr<server::ServingEngine> engine;
  std::unique_ptr<server::HttpServer> http;
  std::thread thread;
  std::unique_ptr<httplib::Client> client;
};

Server& the_server() {
  static Server* s = [] {
    const fuzz::FuzzData& d = fuzz::fuzz_data();
    auto* s = new Server;  // never destroyed: the server runs until the process exits
    server::EngineOptions eo;
    eo.input.catalog_dir = d.catalog;
    eo.input.events_path = d.events;
    eo.input.engagement.as_of = fuzz::kAsOf;
    eo.model_dir = d.model_dir;
    eo.backend = Backend::Cpu;
    eo.max_batch = 1;
    eo.max_wait_us = 0;
    eo.deadline_ms = 60000;  // sanitizers are slow: no 503 for a late search
    eo.max_user_events = 500;
    s->engine = std::make_unique<server::ServingEngine>(eo);
    server::HttpOptions ho;
    ho.bind = "127.0.0.1";
    ho.port = 0;
    ho.threads = 4;
    ho.max_events = 100;
    ho.max_body_bytes = 64 * 1024;
    s->http = std::make_unique<server::HttpServer>(*s->engine, ho);
    const int port = s->http->bind();
    s->thread = std::thread([s] { s->http->serve(); });
    s->client = std::make_unique<httplib::Client>("127.0.0.1", port);
    s->client->set_keep_alive(true);
    s->client->set_read_timeout(30, 0);
    s->client->set_connection_timeout(5, 0);
    for (int i = 0; i < 500; ++i) {
      if (auto r = s->client->Get("/healthz"); r && r->status == 200) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::fprintf(stderr, "fuzz_http: the server did not come up\n");
    std::abort();
  }();
  return *s;
}

std::string percent_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(char(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& s = the_server();
  if (size == 0) return 0;
  const int route = data[0] % 5;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string what;
  auto send = [&]() -> httplib::Result {
  if (route <= 2) {
    static const char* paths[] = {"/v1/query", "/v1/events", "/v1/audience"};
    what = std::string("POST ") + paths[route];
    return s.client->Post(paths[route], rest, "application/json");
  } else {
    const std::vector<std::string> p = fuzz::split_input(data + 1, size - 1, '\x1e', 6);
    auto part = [&](size_t i) { return i < p.size() ? p[i] : std::string(); };
    std::string path = route == 3 ? "/v1/users/" + percent_encode(part(0)) + "/recommendations"
                                  : "/v1/titles/" + percent_encode(part(0)) + "/similar";
    const char* names[] = {"k", "hour", "exclude", "explain", "exact"};
    char sep = '?';
    for (size_t i = 1; i < 6; ++i)
      if (i < p.size()) {
        path += sep + std::string(names[i - 1]) + "=" + percent_encode(p[i]);
        sep = '&';
      }
    what = "GET " + path;
    return s.client->Get(path);
  }
  };
  const httplib::Result r = send();
  if (!r) {
    // A request the client refused to send (e.g. an empty path segment) is no finding; the
    // server not answering is.
    if (r.error() == httplib::Error::Connection || r.error() == httplib::Error::Read) {
      std::fprintf(stderr, "fuzz_http: no answer to %s (%s)\n", what.c_str(), httplib::to_string(r.error()).c_str());
      std::abort();
    }
    return 0;
  }
  bool json_ok = false;
  try {
    json_ok = nlohmann::json::parse(r->body).is_object();
  } catch (const nlohmann::json::exception&) {
  }
  if (r->status >= 500 || !json_ok) {
    std::fprintf(stderr, "fuzz_http: %s -> %d %s\n", what.c_str(), r->status, r->body.substr(0, 400).c_str());
    std::abort();
  }
  return 0;
}
