#include "host/server/api.h"

#include "host/report/html.h"
#include "host/server/audience.h"
#include "host/server/http_server.h"
#include "host/server/openapi_doc.h"
#include "host/server/title_filter.h"
#include "host/server/process_metrics.h"

#include "engine/artwork.h"
#include "engine/error.h"
#include "engine/explain.h"
#include "host/io/artwork_io.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <mutex>

namespace marquee::server {
namespace {

using json = nlohmann::ordered_json;  // keys in the order written: user_id first, then items

// ---------------------------------------------------------------------------------------------
// Responses

// Engine messages carry the source location for logs; a client gets the message alone.
std::string client_message(const std::string& what) {
  const auto open = what.rfind(" [");
  if (open != std::string::npos && !what.empty() && what.back() == ']') return what.substr(0, open);
  return what;
}

void send_json(Response& res, int status, const json& body) {
  res.status = status;
  // Ids echoed from a request may not be UTF-8 (a %FF in the path): replaced, never a failed dump.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// The machine-readable code of an error answer when the route gives none (docs/serving.md, "Errors").
const char* default_code(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 413: return "payload_too_large";
    case 431: return "headers_too_large";
    case 500: return "internal";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "bad_request";
  }
}

// {"error": message, "code": code}: "error" stays the human message it always was; "code" is for programs.
void send_error(Response& res, int status, const std::string& message, const char* code = nullptr) {
  send_json(res, status, json{{"error", message}, {"code", code ? code : default_code(status)}});
}

/// A failure that answers with this status, message and (when not the status's default) code.
struct HttpError : std::runtime_error {
  HttpError(int s, const std::string& m, const char* c) : std::runtime_error(m), status(s), code(c) {}
  int status;
  const char* code;
};

[[noreturn]] void fail(int status, const std::string& message, const char* code = nullptr) {
  throw HttpError(status, message, code);
}

double score6(float s) { return std::stod(fmt::format("{:.6f}", s)); }  // the 6 decimals `marquee score` writes

std::string route_of(const std::string& method, const std::string& path) {
  auto starts = [&](const char* p) { return path.rfind(p, 0) == 0; };
  auto ends = [&](const std::string& s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
  if (starts("/v1/users/") && ends("/recommendations")) return method + " /v1/users/{id}/recommendations";
  if (starts("/v1/titles/") && ends("/similar")) return method + " /v1/titles/{id}/similar";
  static const char* fixed[] = {"/v1/recommendations", "/v1/query", "/v1/audience", "/v1/events", "/v1/admin/reload", "/healthz", "/readyz",
                                "/metrics", "/openapi.yaml", "/"};
  for (const char* f : fixed)
    if (path == f) return method + " " + f;
  return "other";
}

// ---------------------------------------------------------------------------------------------
// Parameters

size_t parse_k(const std::string& text, size_t limit) {
  size_t pos = 0;
  long long v = 0;
  bool ok = !text.empty() && text.size() < 19;
  if (ok) {
    try {
      v = std::stoll(text, &pos);
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok || pos != text.size())
    fail(400, fmt::format("k must be an integer between 1 and {}; got '{}'", limit, text));
  if (v < 1 || size_t(v) > limit) fail(400, fmt::format("k must be between 1 and {}; got {}", limit, v));
  return size_t(v);
}

size_t query_k(const Request& req, size_t limit) {
  return req.has_param("k") ? parse_k(req.get_param_value("k"), limit) : std::min<size_t>(20, limit);
}

bool query_bool(const Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  if (v == "true" || v == "1" || v.empty()) return true;
  if (v == "false" || v == "0") return false;
  fail(400, fmt::format("{} must be true or false; got '{}'", name, v));
}

json parse_body(const Request& req) {
  if (req.body.empty() && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding"))
    fail(400, "a POST needs a body with a Content-Length header (or chunked transfer encoding)");
  if (req.body.empty()) fail(400, "the request needs a JSON body");
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    fail(400, fmt::format("the request body is not valid JSON: {}", e.what()));
  } catch (const json::exception& e) {  // e.g. out_of_range: a number like 1e400 that overflows a double
    fail(400, fmt::format("the request body has a value JSON numbers cannot hold: {}", e.what()));
  }
}

// A tag set as clients send it: ["name", ...] (weight 1 each) or {"name": weight, ...}. Calls
// add(name, weight) for each entry; what a name or weight may be is the caller's rule.
template <typename Add>
void for_each_tag(const json& tags, Add&& add) {
  if (tags.is_array()) {
    for (const auto& e : tags) {
      if (!e.is_string()) fail(400, fmt::format("tags must be tag names; got {}", e.dump()));
      add(e.get<std::string>(), json(1.0));
    }
  } else if (tags.is_object()) {
    for (const auto& [name, w] : tags.items()) add(name, w);
  } else {
    fail(400, "tags must be an array of tag names or an object {\"tag\": weight}");
  }
}

// A field as text, as the JSON Lines reader takes it: strings as they are, numbers as written.
std::optional<std::string> field_text(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return std::string("\x01");  // not a scalar: reported by the caller
}

}  // namespace

struct Api::Impl {
  ServingEngine& engine;
  const HttpOptions& options;
  Router router;
  std::atomic<bool> draining{false};

  Impl(ServingEngine& e, const HttpOptions& o) : engine(e), options(o) {
    declare_process_metrics(engine.metrics(), engine.snapshot()->on_gpu ? "cuda" : "cpu");
    install();
  }

  size_t k_limit(size_t available) const {
    return options.max_k == 0 ? available : std::min(options.max_k, available);
  }

  void require_token(const Request& req) const {
    // Writes change what everyone is recommended: without a token they are off unless the operator
    // said this host is trusted (docs/serving.md, "Authentication").
    if (options.token.empty()) {
      if (options.anonymous_writes) return;
      fail(403,
           "writes are disabled: this server was started without --token or --token-file (start it with one, "
           "or with --anonymous-writes on a trusted host)");
    }
    const std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) fail(401, "this route needs a bearer token: send 'Authorization: Bearer <token>'");
    const std::string want = "Bearer " + options.token;
    // Constant-time comparison: the time taken does not reveal how much of the token matched.
    unsigned diff = auth.size() != want.size();
    for (size_t i = 0; i < auth.size() && i < want.size(); ++i) diff |= unsigned(auth[i] ^ want[i]);
    if (diff) fail(401, "the bearer token is not valid");
  }

  // Runs a search and turns every non-Ok outcome into its HTTP error.
  SearchOutcome run(SearchQuery q) { return checked(submit(std::move(q)).get()); }

  std::future<SearchOutcome> submit(SearchQuery q) {
    try {
      return engine.submit(std::move(q));
    } catch (const ArgumentError& e) {
      fail(400, client_message(e.what()));
    }
  }

  // An outcome that is not Ok becomes its HTTP error.
  static SearchOutcome checked(SearchOutcome o) {
    switch (o.status) {
      case SearchStatus::Ok: return o;
      case SearchStatus::Overloaded: fail(503, o.message, "overloaded");
      case SearchStatus::DeadlineExceeded: fail(503, o.message, "deadline_exceeded");
      case SearchStatus::ShuttingDown: fail(503, o.message, "shutting_down");
      case SearchStatus::Failed: fail(500, o.message);
    }
    fail(500, "unknown search outcome");
  }

  // `artwork_for`: with --artwork, each item's artwork_id is chosen for this user (docs/artwork.md:
  // on the CPU here, K titles x a few variants each). `user`: explanations.
  json items_json(const Snapshot& snap, const SearchOutcome& o, const UserState* user,
                  const UserState* artwork_for = nullptr) const {
    json items = json::array();
    for (const ScoredTitle& s : o.items) {
      json item{{"title_id", snap.catalog.title(s.title).id}, {"score", score6(s.score)}};
      if (artwork_for && snap.artwork) {
        const ArtworkPick pick = choose_artwork(*snap.artwork, artwork_for->vector.data(), s.title);
        item["artwork_id"] = pick.variant == kNoArtwork ? json(nullptr) : json(snap.artwork->artwork_id(pick.variant));
      }
      if (user) {
        const Explanation ex = explain(snap.titles, user->vector.data(), user->seen.data(),
                                       user->seen.data() + user->seen.size(), s.title, 5, 3);
        json tags = json::array(), because = json::array();
        for (const auto& c : ex.tags)
          tags.push_back({{"tag", snap.catalog.tag(c.tag).name},
                          {"category", snap.catalog.tag(c.tag).category},
                          {"contribution", score6(c.contribution)}});
        for (const auto& b : ex.because)
          because.push_back({{"title_id", snap.catalog.title(b.title).id},
                             {"similarity", score6(b.similarity)},
                             {"weight", score6(b.weight)}});
        item["explanation"] = {{"tags", tags}, {"because_you_watched", because}};
        if (snap.artwork)
          item["explanation"]["artwork"] =
              json::parse(artwork_explanation_json(*snap.artwork, snap.catalog, user->vector.data(), s.title, 5).dump());
      }
      items.push_back(std::move(item));
    }
    return items;
  }

  // Filters (docs/serving.md, "Filters"): the titles that fail become exclusions of the search, so the
  // top-K is selected among the titles that pass. The per-tag title lists are built once per snapshot.
  struct Filter {
    std::vector<uint8_t> passes;  // empty: no tag expression
    std::vector<uint32_t> allow, deny;
    bool active() const { return !passes.empty() || !allow.empty() || !deny.empty(); }
  };
  std::mutex tag_titles_mu;
  std::shared_ptr<const TagTitles> tag_titles;
  uint64_t tag_titles_generation = 0;

  std::shared_ptr<const TagTitles> tag_titles_of(const Snapshot& snap) {
    std::lock_guard<std::mutex> lock(tag_titles_mu);
    if (!tag_titles || tag_titles_generation != snap.generation) {
      tag_titles = std::make_shared<TagTitles>(snap.catalog);
      tag_titles_generation = snap.generation;
    }
    return tag_titles;
  }

  static uint32_t title_index(const Snapshot& snap, const char* list, const std::string& id) {
    const auto t = snap.catalog.find_title(id);
    if (!t) fail(400, fmt::format("{}: unknown title_id '{}'", list, id));
    return *t;
  }

  Filter make_filter(const Snapshot& snap, const std::string& expression, const std::vector<std::string>& allow,
                     const std::vector<std::string>& deny) {
    Filter f;
    if (!expression.empty()) f.passes = evaluate_tag_expression(expression, snap.catalog, *tag_titles_of(snap));
    for (const auto& id : allow) f.allow.push_back(title_index(snap, "allow", id));
    for (const auto& id : deny) f.deny.push_back(title_index(snap, "deny", id));
    return f;
  }

  // GET: ?filter=EXPR&allow=ID,ID&deny=ID,ID
  Filter filter_of(const Request& req, const Snapshot& snap) {
    auto ids = [&](const char* name) {
      std::vector<std::string> out;
      const std::string text = req.get_param_value(name);
      for (size_t start = 0; start <= text.size();) {
        size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) out.push_back(text.substr(start, end - start));
        start = end + 1;
      }
      return out;
    };
    if (req.has_param("filter") && req.get_param_value("filter").empty()) fail(400, "filter is empty: give a tag expression");
    return make_filter(snap, req.get_param_value("filter"), ids("allow"), ids("deny"));
  }

  // JSON: "filter": "EXPR", "allow_titles": [ids], "deny_titles": [ids]
  Filter filter_of(const json& body, const Snapshot& snap) {
    auto ids = [&](const char* name) {
      std::vector<std::string> out;
      if (!body.contains(name)) return out;
      const json& list = body[name];
      if (!list.is_array()) fail(400, fmt::format("{} must be an array of title ids", name));
      for (const auto& e : list) {
        if (!e.is_string()) fail(400, fmt::format("{}: title ids are strings; got {}", name, e.dump()));
        out.push_back(e.get<std::string>());
      }
      return out;
    };
    std::string expression;
    if (body.contains("filter")) {
      if (!body["filter"].is_string() || body["filter"].get<std::string>().empty())
        fail(400, "filter must be a non-empty tag expression string");
      expression = body["filter"].get<std::string>();
    }
    return make_filter(snap, expression, ids("allow_titles"), ids("deny_titles"));
  }

  // A filtered search is exact: an index would have to over-fetch by every excluded title.
  static void apply(const Filter& f, SearchQuery& q) {
    if (!f.active()) return;
    add_filter_exclusions(q.exclude, q.snapshot->catalog.num_titles(), f.passes, f.allow, f.deny);
    q.exact = true;
  }

  // The search behind a user's recommendations, for the single and the batch route alike.
  static SearchQuery recs_query(const std::shared_ptr<const Snapshot>& snap, const UserState& user, size_t k,
                                ExcludePolicy policy, bool exact, int hour) {
    SearchQuery q;
    q.snapshot = snap;
    q.vector = snap->ranking_vector(user);  // the model's fold-in of the user's current engagement
    q.k = k;
    q.exact = exact;
    q.hour = hour;
    if (policy != ExcludePolicy::None)
      for (const auto& s : user.seen)
        if (policy == ExcludePolicy::Watched || s.completed) q.exclude.push_back(s.title);
    return q;
  }

  // POST /v1/recommendations: the single-user route for many users in one request. Their searches
  // are submitted together, so they share micro-batches, in waves of kBatchWave so that one request
  // cannot fill the engine's queue (--queue-limit) by itself. Results come in request order.
  static constexpr size_t kBatchWave = 16;

  void batch_recommendations(const Request& req, Response& res) {
    const auto snap = engine.snapshot();
    const json body = parse_body(req);
    if (!body.is_object() || !body.contains("users"))
      fail(400, "the request body must be {\"users\": [user ids], \"k\": K, \"exclude\": \"watched\"}");
    for (const auto& [key, value] : body.items())
      if (key != "users" && key != "k" && key != "exclude" && key != "exact" && key != "hour" && key != "filter" &&
          key != "allow_titles" && key != "deny_titles")
        fail(400, fmt::format("unknown field '{}' (the batch takes users, k, exclude, exact, hour, filter, "
                              "allow_titles, deny_titles)",
                              key));
    const json& ju = body["users"];
    if (!ju.is_array() || ju.empty()) fail(400, "users must be a non-empty array of user ids");
    if (ju.size() > options.max_batch_users)
      fail(413, fmt::format("{} users in one request; the limit is {} (--max-batch-users)", ju.size(),
                            options.max_batch_users));
    const size_t limit = k_limit(snap->catalog.num_titles());
    size_t k = std::min<size_t>(20, limit);
    if (body.contains("k")) {
      if (!body["k"].is_number_integer())
        fail(400, fmt::format("k must be an integer between 1 and {}; got {}", limit, body["k"].dump()));
      k = parse_k(body["k"].dump(), limit);
    }
    ExcludePolicy policy = ExcludePolicy::Watched;
    if (body.contains("exclude")) {
      if (!body["exclude"].is_string()) fail(400, "exclude must be one of \"watched\", \"completed\", \"none\"");
      policy = parse_exclude_policy(body["exclude"].get<std::string>());  // ArgumentError: 400
    }
    bool exact = false;
    if (body.contains("exact")) {
      if (!body["exact"].is_boolean()) fail(400, "exact must be true or false");
      exact = body["exact"].get<bool>();
    }
    int hour = -1;
    if (body.contains("hour")) {
      hour = parse_hour(body["hour"].is_string() ? body["hour"].get<std::string>() : body["hour"].dump());
      if (!snap->daypart)
        fail(400, "hour needs a daypart model: start the server with --daypart FILE (from `marquee daypart`)");
    }
    const Filter filter = filter_of(body, *snap);
    std::vector<json> results(ju.size());
    std::vector<std::pair<size_t, std::shared_ptr<const UserState>>> searched;
    for (size_t i = 0; i < ju.size(); ++i) {
      if (!ju[i].is_string()) fail(400, fmt::format("users[{}] must be a user id string; got {}", i, ju[i].dump()));
      const std::string id = ju[i].get<std::string>();
      results[i] = json{{"user_id", id}};
      const auto user = snap->users.find(id);
      if (!user) {
        results[i]["items"] = json::array();
        results[i]["error"] = fmt::format("unknown user_id '{}' (no events for this user)", id);
        results[i]["code"] = "not_found";
      } else if (!user->summary.usable) {
        results[i]["items"] = json::array();
        results[i]["unscored"] = "no usable events";
      } else {
        searched.emplace_back(i, user);
      }
    }
    for (size_t start = 0; start < searched.size(); start += kBatchWave) {
      const size_t end = std::min(searched.size(), start + kBatchWave);
      std::vector<std::future<SearchOutcome>> pending;
      for (size_t j = start; j < end; ++j) {
        SearchQuery q = recs_query(snap, *searched[j].second, k, policy, exact, hour);
        apply(filter, q);
        pending.push_back(submit(std::move(q)));
      }
      std::vector<SearchOutcome> outcomes;
      for (auto& f : pending) outcomes.push_back(f.get());  // all of the wave, before any error is raised
      for (size_t j = start; j < end; ++j) {
        const SearchOutcome o = checked(std::move(outcomes[j - start]));
        json& r = results[searched[j].first];
        r["search"] = o.used_index ? "index" : "exact";
        r["items"] = items_json(*snap, o, nullptr, searched[j].second.get());
      }
    }
    json out{{"k", k}, {"exclude", exclude_policy_name(policy)}, {"model_version", snap->model_version}};
    if (hour >= 0) out["hour"] = hour;
    out["results"] = std::move(results);
    send_json(res, 200, out);
  }

  void recommendations(const Request& req, Response& res) {
    const auto snap = engine.snapshot();
    const std::string id = req.matches[1];
    const size_t k = query_k(req, k_limit(snap->catalog.num_titles()));
    ExcludePolicy policy = ExcludePolicy::Watched;
    if (req.has_param("exclude")) {
      try {
        policy = parse_exclude_policy(req.get_param_value("exclude"));
      } catch (const ArgumentError& e) {
        fail(400, client_message(e.what()));
      }
    }
    const bool want_explain = query_bool(req, "explain");
    const bool exact = query_bool(req, "exact");
    int hour = -1;
    if (req.has_param("hour")) {
      try {
        hour = parse_hour(req.get_param_value("hour"));
      } catch (const ArgumentError& e) {
        fail(400, client_message(e.what()));
      }
      if (!snap->daypart)
        fail(400, "hour needs a daypart model: start the server with --daypart FILE (from `marquee daypart`)");
    }
    const auto user = snap->users.find(id);
    if (!user) fail(404, fmt::format("unknown user_id '{}' (no events for this user)", id));
    json body{{"user_id", id}, {"k", k}, {"exclude", exclude_policy_name(policy)}, {"model_version", snap->model_version}};
    if (!user->summary.usable) {
      // `marquee score` lists such users as unscored and writes no rows for them.
      body["items"] = json::array();
      body["unscored"] = "no usable events";
      return send_json(res, 200, body);
    }
    SearchQuery q = recs_query(snap, *user, k, policy, exact, hour);
    apply(filter_of(req, *snap), q);
    const SearchOutcome o = run(std::move(q));
    body["search"] = o.used_index ? "index" : "exact";
    if (hour >= 0) body["hour"] = hour;
    body["items"] = items_json(*snap, o, want_explain ? user.get() : nullptr, user.get());
    send_json(res, 200, body);
  }

  void similar(const Request& req, Response& res) {
    const auto snap = engine.snapshot();
    const std::string id = req.matches[1];
    const size_t n = snap->catalog.num_titles();
    if (n < 2) fail(404, "the catalogue has no other titles");
    const size_t k = query_k(req, k_limit(n - 1));
    const bool exact = query_bool(req, "exact");
    const auto t = snap->catalog.find_title(id);
    if (!t) fail(404, fmt::format("unknown title_id '{}'", id));
    // The model's similarity vectors (behaviour similarity for ALS-based models); tags without a model.
    const TitleMatrix& space = snap->space_titles(SearchSpace::Similarity);
    SearchQuery q;
    q.snapshot = snap;
    q.space = SearchSpace::Similarity;
    q.vector.assign(space.row(*t), space.row(*t) + space.dim());
    q.exclude = {*t};
    apply(filter_of(req, *snap), q);
    q.k = k;
    q.exact = exact;
    const SearchOutcome o = run(std::move(q));
    send_json(res, 200,
              json{{"title_id", id}, {"k", k}, {"search", o.used_index ? "index" : "exact"},
                   {"model_version", snap->model_version}, {"items", items_json(*snap, o, nullptr)}});
  }

  void query(const Request& req, Response& res) {
    const auto snap = engine.snapshot();
    const json body = parse_body(req);
    if (!body.is_object()) fail(400, "the request body must be a JSON object with \"vector\" or \"tags\"");
    const size_t limit = k_limit(snap->catalog.num_titles());
    size_t k = std::min<size_t>(20, limit);
    if (body.contains("k")) {
      const json& jk = body["k"];
      if (!jk.is_number_integer()) fail(400, fmt::format("k must be an integer between 1 and {}; got {}", limit, jk.dump()));
      k = parse_k(jk.dump(), limit);
    }
    const bool has_vector = body.contains("vector"), has_tags = body.contains("tags");
    if (has_vector == has_tags) fail(400, "give exactly one of \"vector\" (one value per tag) or \"tags\"");
    const size_t dim = snap->titles.dim();
    std::vector<float> v(dim, 0.0f);
    if (has_vector) {
      const json& jv = body["vector"];
      if (!jv.is_array() || jv.size() != dim)
        fail(400, fmt::format("vector must be an array of {} numbers (one per tag, in tags.csv order); got {}", dim,
                              jv.is_array() ? std::to_string(jv.size()) + " values" : std::string(jv.type_name())));
      for (size_t i = 0; i < dim; ++i) {
        if (!jv[i].is_number() || !std::isfinite(jv[i].get<double>()))
          fail(400, fmt::format("vector[{}] must be a finite number; got {}", i, jv[i].dump()));
        v[i] = jv[i].get<float>();
      }
    } else {
      // A tag set is scored like a title carrying those tags: weight (default 1) x idf.
      const json& jt = body["tags"];
      auto add = [&](const std::string& name, const json& w) {
        const auto tag = snap->catalog.find_tag(name);
        if (!tag) fail(400, fmt::format("unknown tag '{}'", name));
        if (!w.is_number() || !std::isfinite(w.get<double>()))
          fail(400, fmt::format("the weight of tag '{}' must be a finite number; got {}", name, w.dump()));
        v[*tag] += w.get<float>() * snap->titles.idf()[*tag];
      };
      for_each_tag(jt, add);
      if (jt.empty()) fail(400, "tags is empty: give at least one tag");
    }
    if (l2_normalise(v.data(), dim) <= 1e-12) fail(400, "the query vector is all zeros: nothing to rank by");
    SearchQuery q;
    q.snapshot = snap;
    q.space = SearchSpace::Tags;
    q.vector = std::move(v);
    q.k = k;
    if (body.contains("exact")) {
      if (!body["exact"].is_boolean()) fail(400, "exact must be true or false");
      q.exact = body["exact"].get<bool>();
    }
    if (body.contains("exclude_titles")) {
      const json& je = body["exclude_titles"];
      if (!je.is_array()) fail(400, "exclude_titles must be an array of title ids");
      for (const auto& e : je) {
        const auto t = e.is_string() ? snap->catalog.find_title(e.get<std::string>()) : std::nullopt;
        if (!t) fail(400, fmt::format("exclude_titles: unknown title_id {}", e.dump()));
        q.exclude.push_back(*t);
      }
      std::sort(q.exclude.begin(), q.exclude.end());
      q.exclude.erase(std::unique(q.exclude.begin(), q.exclude.end()), q.exclude.end());
    }
    apply(filter_of(body, *snap), q);
    const SearchOutcome o = run(std::move(q));
    send_json(res, 200, json{{"k", k}, {"search", o.used_index ? "index" : "exact"}, {"model_version", snap->model_version},
                             {"items", items_json(*snap, o, nullptr)}});
  }

  // The projector is calibrated once per snapshot, on the first request that needs it.
  std::mutex audience_mu;
  std::shared_ptr<const AudienceProjector> projector;

  void audience(const Request& req, Response& res) {
    const auto snap = engine.snapshot();
    const json body = parse_body(req);
    if (!body.is_object() || !body.contains("tags"))
      fail(400, "the request body must be {\"tags\": [names] or {\"name\": weight}, \"top\": N}");
    NewTitle title;
    title.id = body.value("title_id", std::string("new"));
    std::vector<std::string> ignored;
    auto add = [&](const std::string& name, const json& w) {
      if (!w.is_number() || !(w.get<double>() > 0) || w.get<double>() > 1)
        fail(400, fmt::format("the weight of tag '{}' must be in (0, 1]; got {}", name, w.dump()));
      const auto tag = snap->catalog.find_tag(name);
      if (!tag) ignored.push_back(name);  // reported, not fatal: docs/projection.md
      else title.tags.emplace_back(*tag, w.get<float>());
    };
    const json& jt = body["tags"];
    for_each_tag(jt, add);
    if (title.tags.empty())
      fail(400, ignored.empty() ? std::string("tags is empty: give at least one tag")
                                : fmt::format("none of the tags is in the taxonomy (unknown: {})", fmt::join(ignored, ", ")));
    size_t top = 10;
    if (body.contains("top")) {
      if (!body["top"].is_number_integer() || body["top"].get<long long>() < 0 || body["top"].get<long long>() > 1000)
        fail(400, fmt::format("top must be an integer between 0 and 1000; got {}", body["top"].dump()));
      top = body["top"].get<size_t>();
    }
    std::shared_ptr<const AudienceProjector> proj;
    {
      std::lock_guard<std::mutex> lock(audience_mu);
      if (!projector || projector->generation() != snap->generation)
        projector = std::make_shared<AudienceProjector>(*snap);
      proj = projector;
    }
    json out = proj->project(*snap, title, top);
    out["title_id"] = title.id;
    out["ignored_tags"] = ignored;
    out["model_version"] = snap->model_version;
    send_json(res, 200, out);
  }

  void events(const Request& req, Response& res) {
    require_token(req);
    const json body = parse_body(req);
    const json* list = body.is_array() ? &body : body.is_object() && body.contains("events") ? &body["events"] : nullptr;
    if (!list || !list->is_array())
      fail(400, "the request body must be {\"events\": [...]} (or a JSON array of events)");
    if (list->empty()) fail(400, "events is empty: nothing to ingest");
    if (list->size() > options.max_events)
      fail(413, fmt::format("{} events in one request; the limit is {} (--max-events)", list->size(), options.max_events));
    std::vector<RawEvent> raw;
    std::vector<size_t> index_of;  // raw[i] is event index_of[i] of the request
    std::vector<std::pair<size_t, std::string>> rejected;
    for (size_t i = 0; i < list->size(); ++i) {
      const json& e = (*list)[i];
      if (!e.is_object()) {
        rejected.emplace_back(i, "an event must be a JSON object");
        continue;
      }
      RawEvent r;
      std::string missing;
      auto take = [&](const char* name, std::string& out) {
        const auto v = field_text(e, name);
        if (!v || v->empty()) missing += missing.empty() ? name : std::string(", ") + name;
        else if (*v == "\x01") missing += fmt::format("{}{} (not a string or number)", missing.empty() ? "" : ", ", name);
        else out = *v;
      };
      take("ts", r.ts);
      take("user_id", r.user_id);
      take("title_id", r.title_id);
      take("event", r.event);
      take("position_s", r.position_s);
      r.seek_to_s = field_text(e, "seek_to_s");
      if (!missing.empty()) {
        rejected.emplace_back(i, "missing or empty field: " + missing);
        continue;
      }
      raw.push_back(std::move(r));
      index_of.push_back(i);
    }
    IngestReport report = engine.ingest(raw);
    for (auto& [i, reason] : report.rejected) rejected.emplace_back(index_of[i], std::move(reason));
    std::sort(rejected.begin(), rejected.end());
    json jr = json::array();
    for (const auto& [i, reason] : rejected) jr.push_back({{"index", i}, {"reason", reason}});
    json out{{"accepted", report.accepted}, {"rejected", jr}, {"users_updated", report.users_updated},
             {"users_added", report.users_added}, {"model_version", engine.snapshot()->model_version}};
    if (report.accepted == 0) {
      out["error"] = fmt::format("no event accepted; first: event {}: {}", rejected[0].first, rejected[0].second);
      out["code"] = "bad_request";
      return send_json(res, 400, out);
    }
    send_json(res, 200, out);
  }

  void reload(const Request& req, Response& res) {
    require_token(req);
    // An optional {"model_dir": "DIR"} switches to another model folder; no body re-reads the inputs.
    std::optional<std::string> model_dir;
    if (!req.body.empty()) {
      const json body = parse_body(req);
      if (!body.is_object()) fail(400, "the request body must be a JSON object, e.g. {\"model_dir\": \"DIR\"}");
      for (const auto& [key, value] : body.items()) {
        if (key != "model_dir") fail(400, fmt::format("unknown field '{}' (reload takes \"model_dir\")", key));
        if (!value.is_string() || value.get<std::string>().empty())
          fail(400, "model_dir must be a non-empty string: the path of a `marquee train` model folder");
        model_dir = value.get<std::string>();
      }
    }
    ReloadReport r;
    try {
      r = engine.reload(model_dir);
    } catch (const std::exception& e) {
      fail(500, "reload failed (still serving the previous snapshot): " + client_message(e.what()));
    }
    send_json(res, 200,
              json{{"generation", r.generation}, {"seconds", r.seconds}, {"users", r.users}, {"titles", r.titles},
                   {"replayed_events", r.replayed_events}, {"dropped_events", r.dropped_events},
                   {"model_version", r.model_version}});
  }

  void ready(Response& res) {
    if (draining) return send_error(res, 503, "draining: the server is shutting down", "shutting_down");
    const auto snap = engine.snapshot();
    json body{{"status", "ready"},
              {"generation", snap->generation},
              {"users", snap->users.size()},
              {"titles", snap->catalog.num_titles()},
              {"profiles", snap->source},
              {"model_family", snap->model_family},
              {"model_version", snap->model_version},
              {"backend", snap->scorer->describe()}};
    if (snap->index) body["index"] = snap->index->describe();
    send_json(res, 200, body);
  }

  // Wraps a route: HttpError and engine errors become JSON errors.
  template <typename F>
  Handler wrap(F f) {
    return [this, f](const Request& req, Response& res) {
      try {
        f(req, res);
      } catch (const HttpError& e) {
        if (e.status == 503) res.set_header("Retry-After", "1");
        send_error(res, e.status, e.what(), e.code);
      } catch (const ArgumentError& e) {
        send_error(res, 400, client_message(e.what()));
      } catch (const json::exception& e) {
        // A field of the wrong type (e.g. a number where a string id belongs): the client's mistake.
        send_error(res, 400, fmt::format("a field of the request has the wrong type or value: {}", e.what()));
      } catch (const std::exception& e) {
        spdlog::error("serve: {} {}: {}", req.method, req.path, e.what());
        send_error(res, 500, client_message(e.what()));
      }
    };
  }


  const Clock::time_point started = Clock::now();

  // GET /: a page for people: what is served, since when, and where the API is described.
  void home(Response& res) {
    const auto snap = engine.snapshot();
    const auto esc = [](const std::string& text) { return html_escape(text); };
    const auto up = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
    const std::string uptime = fmt::format("{}d {:02}:{:02}:{:02}", up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
    std::string rows;
    auto row = [&](const std::string& name, const std::string& value) {
      rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", name, esc(value));
    };
    row("status", draining ? "draining" : "ready");
    row("model version", snap->model_version);
    row("model family", snap->model_family);
    row("titles", std::to_string(snap->catalog.num_titles()));
    row("users", std::to_string(snap->users.size()));
    row("snapshot generation", std::to_string(snap->generation));
    row("profiles", snap->source);
    row("search", snap->scorer->describe() + (snap->index ? ", index " + snap->index->describe() : std::string()));
    row("uptime", uptime);
    res.set_content(fmt::format(R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Marquee</title>
<style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em}}</style></head>
<body><h1>Marquee front service</h1>
<table>
{}</table>
<p>API: <a href="/openapi.yaml">/openapi.yaml</a> (OpenAPI 3) &middot; probes: <a href="/healthz">/healthz</a>,
<a href="/readyz">/readyz</a> &middot; <a href="/metrics">/metrics</a> (Prometheus)</p>
</body></html>
)",
                                rows),
                    "text/html; charset=utf-8");
  }

  void install() {
    router.add("GET", "/", [this](const Request&, Response& res) { home(res); });
    router.add("GET", "/openapi.yaml", [](const Request&, Response& res) {
      res.set_content(std::string(openapi_yaml()), "application/yaml; charset=utf-8");
    });
    router.add("GET", R"(/v1/users/([^/]+)/recommendations)", wrap([this](auto& q, auto& r) { recommendations(q, r); }));
    router.add("GET", R"(/v1/titles/([^/]+)/similar)", wrap([this](auto& q, auto& r) { similar(q, r); }));
    router.add("POST", "/v1/recommendations", wrap([this](auto& q, auto& r) { batch_recommendations(q, r); }));
    router.add("POST", "/v1/query", wrap([this](auto& q, auto& r) { query(q, r); }));
    router.add("POST", "/v1/audience", wrap([this](auto& q, auto& r) { audience(q, r); }));
    router.add("POST", "/v1/events", wrap([this](auto& q, auto& r) { events(q, r); }));
    router.add("POST", "/v1/admin/reload", wrap([this](auto& q, auto& r) { reload(q, r); }));
    router.add("GET", "/healthz", [](const Request&, Response& res) { send_json(res, 200, json{{"status", "ok"}}); });
    router.add("GET", "/readyz", wrap([this](auto&, auto& r) { ready(r); }));
    router.add("GET", "/metrics", [this](const Request&, Response& res) {
      update_process_metrics(engine.metrics());
      res.set_content(engine.render_metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
  }
};

Api::Api(ServingEngine& engine, const HttpOptions& options) : impl_(std::make_unique<Impl>(engine, options)) {}
Api::~Api() = default;

void Api::handle(Request& req, Response& res) {
  try {
    if (!impl_->router.dispatch(req, res))
      send_error(res, 404, fmt::format("no route {} {} (see docs/openapi.yaml)", req.method, req.path));
  } catch (const std::exception& e) {  // wrap() catches the routes' errors; this is a last resort
    send_error(res, 500, client_message(e.what()));
  }
}

void Api::set_draining() { impl_->draining = true; }

std::string Api::route_label(const std::string& method, const std::string& path) { return route_of(method, path); }

void Api::error(Response& res, int status, const std::string& message, const char* code) {
  send_error(res, status, message, code);
}

}  // namespace marquee::server
