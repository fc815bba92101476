// `marquee project`, `marquee segment` and `marquee eval-projection` (docs/projection.md,
// docs/cli.md). An umbrella header: one header per job (project_job.h, segment_job.h,
// eval_projection_job.h); the new-titles and segments files are read and written by
// host/io/new_titles_io.h and host/io/segments_io.h. The HTML report of `project` is declared in
// host/report/report.h.
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
#include "host/report/report.h"  // write_projection_report, report_js_files

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>
