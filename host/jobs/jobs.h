// The CLI's jobs as plain functions (so tests and tools can run them without a process). An
// umbrella header: one header per job (profile_job.h, score_job.h, eval_recs_job.h) and what they
// share (common.h).
#pragma once

#include "engine/backend.h"
#include "engine/evaluation.h"
#include "engine/recommender.h"
#include "engine/scorer.h"
#include "host/io/results_io.h"
#include "host/jobs/common.h"
#include "host/jobs/eval_recs_job.h"
#include "host/jobs/profile_job.h"
#include "host/jobs/score_job.h"
#include "host/jobs/workspace.h"
