// One self-contained report page, shared by every report: the three Vega libraries inlined (from
// the binary or $MARQUEE_REPORT_JS_DIR, report_js.h), the job's JSON result embedded as data
// (<script type="application/json" id="marquee-data">, so a test or a reader can take the exact
// numbers back out), and Vega-Lite charts drawn by vega-embed. Charts whose spec says
// "width": "container" fill the page's width and follow it when the window is resized.
#pragma once

#include "host/report/html.h"  // html_escape

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace marquee {

/// A Vega-Lite spec with a title, as wide as its container, `height` pixels high (0: none set).
nlohmann::json chart_spec(const std::string& title, int height);

class ReportPage {
 public:
  /// `title`: the <title> and the <h1>; `data`: the job's result, embedded verbatim.
  ReportPage(std::string title, nlohmann::json data) : title_(std::move(title)), data_(std::move(data)) {}

  /// Appends HTML (the caller escapes text with html_escape).
  void html(const std::string& text) { body_ += text; }
  /// Appends a chart: a <div id="chart-NAME"> drawn from `spec`.
  void chart(const std::string& name, nlohmann::json spec);

  /// The page, written atomically. Each chart is drawn on its own: one that fails shows the error in
  /// its place, and once all are done <body data-charts="N drawn, M failed"> (scripts/check_reports.sh
  /// reads it from the browser's DOM).
  void write(const std::string& path) const;

 private:
  std::string title_, body_;
  nlohmann::json data_;
  std::vector<std::pair<std::string, nlohmann::json>> charts_;
};

}  // namespace marquee
