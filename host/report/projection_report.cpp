// The HTML report of `marquee project --report`: one self-contained page (opens offline) whose
// charts are Vega-Lite specs rendered by vega-embed, with the three libraries' minified builds
// inlined: the ones embedded into the binary at build time (report_js.cpp, from host/report/js/
// node_modules, installed by scripts/setup.sh: `npm ci` there), or those under $MARQUEE_REPORT_JS_DIR.
#include "engine/error.h"
#include "host/io/atomic_file.h"
#include "host/jobs/projection_jobs.h"
#include "host/report/report_js.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace marquee {
namespace {

using json = nlohmann::json;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MARQUEE_CHECK_INPUT(bool(in), "cannot read {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Text safe inside a <script> element: only "</script" (any case) ends one early, so only that is
// rewritten, to "<\/script" (the same text inside JavaScript strings and regular expressions).
// Escaping every "</" would corrupt regular expressions such as /</g in the inlined libraries.
std::string script_safe(std::string s) {
  static const std::string kEnd = "</script";
  for (size_t p = 0; p + kEnd.size() <= s.size(); ++p) {
    if (s[p] != '<' || s[p + 1] != '/') continue;
    bool match = true;
    for (size_t i = 2; i < kEnd.size() && match; ++i) match = std::tolower(static_cast<unsigned char>(s[p + i])) == kEnd[i];
    if (match) s.replace(p, 2, "<\\/");
  }
  return s;
}

json base_spec(const std::string& title, int width = 560, int height = 260) {
  return json{{"$schema", "https://vega.github.io/schema/vega-lite/v6.json"},
              {"title", title},
              {"width", width},
              {"height", height}};
}

json audience_spec(const json& result) {
  json values = json::array();
  for (const json& t : result["titles"]) {
    const json& a = t["audience"];
    json v{{"title", t["title_id"]}, {"expected", a["expected"]}, {"lo95", a["lo95"]}, {"hi95", a["hi95"]},
           {"lo80", a["lo80"]}, {"hi80", a["hi80"]}};
    if (t.contains("actual_viewers")) v["actual"] = t["actual_viewers"];
    values.push_back(v);
  }
  json spec = base_spec("Projected audience (bar), 95 % Poisson-binomial (thin) and 80 % title-level (thick) intervals",
                        560, 60 + 40 * int(values.size()));
  spec["data"] = {{"values", values}};
  const json y = {{"field", "title"}, {"type", "nominal"}, {"title", nullptr}};
  spec["layer"] = json::array(
      {{{"mark", {{"type", "bar"}, {"color", "#4c78a8"}, {"opacity", 0.6}}},
        {"encoding", {{"y", y}, {"x", {{"field", "expected"}, {"type", "quantitative"}, {"title", "viewers"}}},
                      {"tooltip", json::array({{{"field", "expected"}, {"format", ",.0f"}}})}}}},
       {{"mark", {{"type", "rule"}, {"strokeWidth", 6}, {"color", "#f58518"}, {"opacity", 0.7}}},
        {"encoding", {{"y", y}, {"x", {{"field", "lo80"}, {"type", "quantitative"}}}, {"x2", {{"field", "hi80"}}}}}},
       {{"mark", {{"type", "rule"}, {"strokeWidth", 2}, {"color", "#222"}}},
        {"encoding", {{"y", y}, {"x", {{"field", "lo95"}, {"type", "quantitative"}}}, {"x2", {{"field", "hi95"}}}}}},
       {{"mark", {{"type", "point"}, {"shape", "diamond"}, {"size", 120}, {"color", "#e45756"}, {"filled", true}}},
        {"encoding", {{"y", y}, {"x", {{"field", "actual"}, {"type", "quantitative"}}},
                      {"tooltip", json::array({{{"field", "actual"}, {"title", "actual viewers (held out)"}}})}}}}});
  return spec;
}

json cohorts_spec(const json& t) {
  json values = json::array();
  for (const json& c : t["cohorts"])
    values.push_back({{"cohort", "fans of " + c["name"].get<std::string>()}, {"lift", c["lift"]}, {"fans", c["fans"]},
                      {"expected", c["expected_fans"]}});
  json spec = base_spec("Fan cohorts: lift in the projected audience (share of audience / share of users)", 480,
                        40 + 22 * int(values.size()));
  spec["data"] = {{"values", values}};
  spec["mark"] = {{"type", "bar"}, {"color", "#54a24b"}};
  spec["encoding"] = {{"y", {{"field", "cohort"}, {"type", "nominal"}, {"sort", "-x"}, {"title", nullptr}}},
                      {"x", {{"field", "lift"}, {"type", "quantitative"}}},
                      {"tooltip", json::array({{{"field", "cohort"}}, {{"field", "lift"}, {"format", ".2f"}},
                                               {{"field", "fans"}}, {{"field", "expected"}, {"format", ",.0f"}}})}};
  return spec;
}

json segments_spec(const json& t) {
  json values = json::array();
  for (const json& s : t["segments"]) {
    const std::string name = "segment " + std::to_string(s["segment"].get<int>());
    values.push_back({{"segment", name}, {"share", s["user_share"]}, {"of", "users"}, {"lift", s["lift"]}});
    values.push_back({{"segment", name}, {"share", s["audience_share"]}, {"of", "projected audience"}, {"lift", s["lift"]}});
  }
  json spec = base_spec("Segment shares: users vs projected audience");
  spec["data"] = {{"values", values}};
  spec["mark"] = "bar";
  spec["encoding"] = {{"x", {{"field", "segment"}, {"type", "nominal"}, {"title", nullptr}}},
                      {"xOffset", {{"field", "of"}}},
                      {"y", {{"field", "share"}, {"type", "quantitative"}, {"axis", {{"format", "%"}}}}},
                      {"color", {{"field", "of"}, {"type", "nominal"}, {"title", nullptr}}},
                      {"tooltip", json::array({{{"field", "segment"}}, {{"field", "of"}},
                                               {{"field", "share"}, {"format", ".1%"}}, {{"field", "lift"}, {"format", ".2f"}}})}};
  return spec;
}

json trailers_spec(const json& t) {
  json values = json::array();
  const json& plan = t.contains("trailers") ? t["trailers"] : t["segments"];
  for (const json& s : plan) {
    const std::string name = "segment " + std::to_string(s["segment"].get<int>());
    for (const json& e : s["emphasis"])
      values.push_back({{"segment", name}, {"tag", e["tag"]}, {"score", e["score"]}, {"users", s["users"]},
                        {"lift", s["lift"]}});
  }
  json spec = base_spec("Trailer emphasis: the title's tags each segment over-weights", 420, 120);
  spec["data"] = {{"values", values}};
  spec["mark"] = "bar";
  spec["encoding"] = {{"row", {{"field", "segment"}, {"type", "nominal"}, {"title", nullptr}}},
                      {"y", {{"field", "tag"}, {"type", "nominal"}, {"sort", "-x"}, {"title", nullptr}}},
                      {"x", {{"field", "score"}, {"type", "quantitative"}, {"title", "emphasis"}}},
                      {"color", {{"field", "segment"}, {"type", "nominal"}, {"legend", nullptr}}},
                      {"tooltip", json::array({{{"field", "segment"}}, {{"field", "tag"}},
                                               {{"field", "score"}, {"format", ".4f"}}, {{"field", "users"}},
                                               {{"field", "lift"}, {"format", ".2f"}}})}};
  spec["resolve"] = {{"scale", {{"y", "independent"}}}};
  spec.erase("height");
  return spec;
}

json daypart_spec(const json& t) {
  json values = json::array();
  const std::vector<double> dp = t["daypart"].get<std::vector<double>>();
  for (size_t h = 0; h < dp.size(); ++h) values.push_back({{"hour", h}, {"viewers", dp[h]}});
  json spec = base_spec("Daypart: expected viewing sessions by local hour", 560, 200);
  spec["data"] = {{"values", values}};
  spec["mark"] = {{"type", "bar"}, {"color", "#b279a2"}};
  spec["encoding"] = {{"x", {{"field", "hour"}, {"type", "ordinal"}, {"title", "local hour"}}},
                      {"y", {{"field", "viewers"}, {"type", "quantitative"}, {"title", "expected viewers"}}},
                      {"tooltip", json::array({{{"field", "hour"}}, {{"field", "viewers"}, {"format", ",.0f"}}})}};
  return spec;
}

}  // namespace

std::vector<std::string> report_js_files() {
  const char* env = std::getenv("MARQUEE_REPORT_JS_DIR");
  if (!(env && *env)) {
    MARQUEE_CHECK_INPUT(!embedded_report_js().empty(),
                        "--report needs the Vega-Lite JavaScript, but this marquee was built without it: install "
                        "it with `npm ci --prefix host/report/js` and build again (scripts/setup.sh does this; npm "
                        "packages vega@6, vega-lite@6, vega-embed@7), or point MARQUEE_REPORT_JS_DIR at a "
                        "node_modules folder holding them");
    return {};
  }
  const std::string dir = env;
  const std::vector<std::string> files{dir + "/vega/build/vega.min.js", dir + "/vega-lite/build/vega-lite.min.js",
                                       dir + "/vega-embed/build/vega-embed.min.js"};
  for (const auto& f : files)
    MARQUEE_CHECK_INPUT(std::filesystem::is_regular_file(f),
                        "--report needs the Vega-Lite JavaScript, but {} is missing: install it with `npm ci "
                        "--prefix host/report/js` (scripts/setup.sh does this; npm packages vega@6, vega-lite@6, "
                        "vega-embed@7), or point MARQUEE_REPORT_JS_DIR at a node_modules folder holding them",
                        f);
  return files;
}

void write_projection_report(const std::string& path, const json& result) {
  std::vector<std::string> js = report_js_files();  // $MARQUEE_REPORT_JS_DIR's files, else none: the embedded ones
  if (js.empty())
    for (std::string_view lib : embedded_report_js()) js.emplace_back(lib);
  else
    for (std::string& f : js) f = read_all(f);
  std::vector<std::pair<std::string, json>> charts;
  charts.emplace_back("chart-audience", audience_spec(result));
  std::string sections;
  size_t i = 0;
  for (const json& t : result["titles"]) {
    const std::string id = std::to_string(i++);
    const json& a = t["audience"];
    sections += "<section><h2>" + html_escape(t["title_id"].get<std::string>()) +
                (t["name"].get<std::string>().empty() ? "" : " — " + html_escape(t["name"].get<std::string>())) +
                "</h2>\n<p>" +
                html_escape(fmt::format("Projected audience {:.0f} of {} users; 95 % interval {:.0f}–{:.0f} "
                                        "(Poisson-binomial), 80 % title-level interval {:.0f}–{:.0f}.",
                                        a["expected"].get<double>(), a["users"].get<size_t>(), a["lo95"].get<double>(),
                                        a["hi95"].get<double>(), a["lo80"].get<double>(), a["hi80"].get<double>())) +
                (t.contains("actual_viewers")
                     ? html_escape(fmt::format(" Held out: {} actual viewers.", t["actual_viewers"].get<size_t>()))
                     : "") +
                "</p>\n";
    std::string comps;
    for (const json& c : t["comparables"])
      comps += "<li>" + html_escape(fmt::format("{} ({}) — similarity {:.2f}, {} viewers", c["name"].get<std::string>(),
                                                c["title_id"].get<std::string>(), c["similarity"].get<double>(),
                                                c["viewers"].get<size_t>())) +
               "</li>";
    if (!comps.empty()) sections += "<h3>Comparable titles</h3><ul>" + comps + "</ul>\n";
    auto add = [&](const std::string& name, json spec) {
      const std::string div = "chart-" + name + "-" + id;
      sections += "<div class=\"chart\" id=\"" + div + "\"></div>\n";
      charts.emplace_back(div, std::move(spec));
    };
    if (!t["cohorts"].empty()) add("cohorts", cohorts_spec(t));
    if (!t["segments"].empty()) {
      add("segments", segments_spec(t));
      add("trailers", trailers_spec(t));
    }
    add("daypart", daypart_spec(t));
    sections += "</section>\n";
  }
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Marquee audience projection</title>\n"
      "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#222}"
      "section{border-top:1px solid #ccc;margin-top:2em}.chart{margin:1em 0}</style>\n";
  const char* names[] = {"vega", "vega-lite", "vega-embed"};
  for (size_t k = 0; k < js.size(); ++k)
    html += std::string("<script data-lib=\"") + names[k] + "\">\n" + script_safe(js[k]) + "\n</script>\n";
  html += "</head>\n<body>\n<h1>Audience projection</h1>\n<p>" +
          html_escape(fmt::format("{} users; space {}; calibration: {} titles x {} users; backend {}.",
                                  result["users"].get<size_t>(), result["space"].get<std::string>(),
                                  result["calibration"]["titles"].get<size_t>(),
                                  result["calibration"]["users"].get<size_t>(), result["backend"].get<std::string>())) +
          "</p>\n<div class=\"chart\" id=\"chart-audience\"></div>\n" + sections + "<script>\n";
  for (const auto& [div, spec] : charts)
    html += "vegaEmbed(\"#" + div + "\", " + script_safe(spec.dump()) + ", {actions: false, renderer: \"svg\"});\n";
  html += "</script>\n</body>\n</html>\n";
  write_file_atomically(path, html);
}

}  // namespace marquee
