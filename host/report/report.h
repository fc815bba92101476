// The HTML reports: `marquee project --report` (projection_report.cpp) and `marquee eval-recs
// --report` (eval_report.cpp). Each is one self-contained page (html_page.h) that opens offline.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace marquee {

/// Writes the HTML report of a `project` JSON result (run_project_job's), atomically. Throws
/// InputError naming what to install when the Vega JavaScript is missing (report_js_files()).
void write_projection_report(const std::string& path, const nlohmann::json& result);

/// Writes the HTML report of an `eval-recs` JSON result (the object `eval-recs --out` writes, with
/// each model's hr_at_k / ndcg_at_k curves), atomically; throws as write_projection_report.
void write_eval_report(const std::string& path, const nlohmann::json& result);

/// Checks that the report's JavaScript (vega.min.js, vega-lite.min.js, vega-embed.min.js) is there:
/// returns those files under $MARQUEE_REPORT_JS_DIR when it is set, else none (the copies embedded
/// into the binary at build time, host/report/report_js.h). Throws InputError naming the missing
/// file (or a build without them) and the install command. Jobs call it before their work.
std::vector<std::string> report_js_files();

}  // namespace marquee
