// `marquee eval-recs`: held-out next-watch evaluation of the recommenders (docs/quality.md).
#pragma once

#include "engine/evaluation.h"
#include "host/io/record_reader.h"
#include "host/jobs/common.h"
#include "host/jobs/user_sample.h"

#include <cstdio>
#include <string>

namespace marquee {

struct EvalRecsOptions {
  std::string catalog_dir, events_path, out_path;  // out_path: JSON report (optional)
  std::string report_path;  // the HTML report (optional; host/report/report.h)
  EvalOptions eval;
  // Besides the fixed models: `marquee train`'s choice (its search run on the training part only,
  // within time_budget_s; 0: skipped), and with model_dir the saved model's family and parameters
  // refitted on the training part (a saved model has seen the held-out titles).
  double time_budget_s = 60;
  std::string model_dir;
  InputLayout layout;  // --delimiter, --columns, --catalog-delimiter
  // Bounded memory (docs/scale.md): 0, no budget. Within one, the evaluation runs on a sample of
  // users by hash when the data does not fit (host/jobs/user_sample.h), and the ease and co-watch
  // rows are left out when their titles x titles matrices would take more than half the budget.
  size_t memory_budget = 0;
  double sample_users = 1;  // --sample-users: evaluate this share of users at most (by user hash)
  CommonOptions common;
};

/// `marquee eval-recs`: held-out next-watch evaluation of popularity, tags, co-watch, behaviour and
/// hybrid; prints the table and writes the JSON report and the HTML report.
/// What eval-recs holds per event, per user and fixed for these options and catalogue (rounded up
/// from measurements, docs/benchmarks.md); `ease` and `cowatch` say whether those rows run.
MemoryCosts eval_recs_costs(const EvalRecsOptions& options, size_t titles, size_t dim, bool ease, bool cowatch);

EvalReport run_eval_recs_job(const EvalRecsOptions& options, std::FILE* table_to = stdout);

}  // namespace marquee
