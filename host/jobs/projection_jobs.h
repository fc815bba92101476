// `marquee project`, `marquee segment` and `marquee eval-projection` (docs/projection.md,
// docs/cli.md). An umbrella header: one header per job (project_job.h, segment_job.h,
// eval_projection_job.h); the new-titles and segments files are read and written by
// host/io/new_titles_io.h and host/io/segments_io.h. The HTML report of `project` is declared here
// (defined in host/report/report.cpp).
#pragma once

#include "engine/backend.h"
#include "engine/projection.h"
#include "engine/segments.h"
#include "host/io/new_titles_io.h"
#include "host/io/rejects.h"
#include "host/jobs/eval_projection_job.h"
#include "host/jobs/jobs.h"
#include "host/jobs/project_job.h"
#include "host/jobs/segment_job.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace marquee {

/// Writes the HTML report of a `project` JSON result. Throws InputError naming what to install when
/// the Vega JavaScript files are missing (see report_js_dir()).
void write_projection_report(const std::string& path, const nlohmann::json& result);

/// Checks that the report's JavaScript (vega.min.js, vega-lite.min.js, vega-embed.min.js) is there:
/// returns those files under $MARQUEE_REPORT_JS_DIR when it is set, else none (the copies embedded
/// into the binary at build time, host/report/report_js.h). Throws InputError naming the missing
/// file (or a build without them) and the install command.
std::vector<std::string> report_js_files();

}  // namespace marquee
