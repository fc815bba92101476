// The server's routes, apart from any transport: a request (method, path, query, headers, body) in,
// a response (status, content type, body, headers) out. The HTTP transport (http_server.cpp) fills a
// Request from the wire and writes the Response back; another transport (gRPC, a test) could call the
// same Router. Names follow the cpp-httplib ones the handlers were written against.
#pragma once

#include <functional>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace marquee::server {

/// Header names compare without case (RFC 9110 §5.1).
struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query
  std::multimap<std::string, std::string> params;                       // query, decoded
  std::multimap<std::string, std::string, CaseInsensitiveLess> headers;
  std::string body;
  std::vector<std::string> matches;  // [0] the path, [1..] the route pattern's groups

  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  /// The first value of a query parameter; "" when absent.
  std::string get_param_value(const std::string& name) const;
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
  /// The first value of a header; "" when absent.
  std::string get_header_value(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type and Content-Length

  void set_content(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
  void set_header(const std::string& name, const std::string& value) { headers.emplace_back(name, value); }
};

using Handler = std::function<void(const Request&, Response&)>;

/// Routes by method and a regular expression over the whole decoded path (groups land in
/// Request::matches). The first route that matches wins; none: dispatch returns false.
class Router {
 public:
  void add(const std::string& method, const std::string& pattern, Handler handler);
  /// Fills req.matches and runs the matching handler; false when no route matches.
  bool dispatch(Request& req, Response& res) const;

 private:
  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
  };
  std::vector<Route> routes_;
};

/// Percent-decodes `text` (`plus_is_space`: '+' is ' ', as in a query). A malformed escape is kept as written.
std::string decode_url(const std::string& text, bool plus_is_space);
/// Splits "path?query" into the decoded path and parameters.
void split_target(const std::string& target, std::string& path, std::multimap<std::string, std::string>& params);

}  // namespace marquee::server
