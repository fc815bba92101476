// The page every report shares (html_page.h): libraries inlined, data embedded, charts drawn one
// by one with their errors shown in place.
#include "host/report/html_page.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"
#include "host/report/report.h"
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

// Text safe inside a <script> element: only "</script" (any case) ends one early, so only that is
// rewritten, to "<\/script" (the same text inside JavaScript strings and regular expressions, and
// inside JSON strings). Escaping every "</" would corrupt regular expressions such as /</g in the
// inlined libraries.
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

// Wide pages: charts take the full width; running text stays at a readable measure.
constexpr const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:2em auto;padding:0 2em;max-width:1800px;color:#222}"
    "p,ul,table{max-width:70em}section{border-top:1px solid #ccc;margin-top:2em}"
    ".chart{width:100%;margin:1em 0}.note{color:#555;font-size:.92em}.failed{color:#b00}"
    "h2 small{color:#777;font-weight:normal;font-size:.6em;margin-left:.6em}"
    "table{border-collapse:collapse}th,td{padding:.25em .8em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}tr:nth-child(even){background:#f4f4f4}";

// Draws each chart on its own, so one bad spec does not blank the rest, and leaves the tally on
// <body data-charts> for the headless browser check.
constexpr const char* kDraw =
    "const marqueeDrawn = [];\n"
    "function draw(id, spec) {\n"
    "  marqueeDrawn.push(vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'}).then(() => true, (e) => {\n"
    "    const div = document.getElementById(id);\n"
    "    div.className += ' failed';\n"
    "    div.textContent = 'This chart could not be drawn: ' + e;\n"
    "    return false;\n"
    "  }));\n"
    "}\n";
constexpr const char* kTally =
    "Promise.all(marqueeDrawn).then((ok) => {\n"
    "  const drawn = ok.filter((x) => x).length;\n"
    "  document.body.dataset.charts = drawn + ' drawn, ' + (ok.length - drawn) + ' failed';\n"
    "});\n";

}  // namespace

json chart_spec(const std::string& title, int height) {
  json spec{{"$schema", "https://vega.github.io/schema/vega-lite/v6.json"},
            {"title", {{"text", title}, {"anchor", "start"}, {"fontSize", 14}}},
            {"width", "container"},
            {"autosize", {{"type", "fit-x"}, {"contains", "padding"}}}};
  if (height > 0) spec["height"] = height;
  return spec;
}

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

void ReportPage::chart(const std::string& name, json spec) {
  const std::string id = "chart-" + name;
  body_ += "<div class=\"chart\" id=\"" + id + "\"></div>\n";
  charts_.emplace_back(id, std::move(spec));
}

void ReportPage::write(const std::string& path) const {
  std::vector<std::string> js = report_js_files();  // $MARQUEE_REPORT_JS_DIR's files, else none: the embedded ones
  if (js.empty())
    for (std::string_view lib : embedded_report_js()) js.emplace_back(lib);
  else
    for (std::string& f : js) f = read_all(f);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
                     html_escape(title_) + "</title>\n<style>" + kStyle + "</style>\n";
  const char* names[] = {"vega", "vega-lite", "vega-embed"};
  for (size_t k = 0; k < js.size(); ++k)
    html += std::string("<script data-lib=\"") + names[k] + "\">\n" + script_safe(js[k]) + "\n</script>\n";
  html += "<script type=\"application/json\" id=\"marquee-data\">\n" + script_safe(data_.dump()) + "\n</script>\n";
  html += "</head>\n<body>\n<h1>" + html_escape(title_) + "</h1>\n" + body_ + "<script>\n" + kDraw;
  for (const auto& [id, spec] : charts_) html += "draw(\"" + id + "\", " + script_safe(spec.dump()) + ");\n";
  html += kTally;
  html += "</script>\n</body>\n</html>\n";
  write_file_atomically(path, html);
}

}  // namespace marquee
