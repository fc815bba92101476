// `marquee similar`: the titles most like a title: tag cosine, or with --model-dir the cosine of the
// model's title vectors (behaviour similarity for behaviour, hybrid and ease; docs/cli.md).
#include "engine/error.h"
#include "engine/scorer.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/io/atomic_file.h"
#include "host/io/model_dir.h"
#include "host/io/rejects.h"
#include "host/jobs/workspace.h"

#include <fmt/format.h>

#include <cstddef>
#include <memory>
#include <string>

namespace marquee::cli {

namespace {
struct SimilarFlags {
  std::string catalog, title, out, model_dir;
  size_t k = 10;
};

void run_similar(const SimilarFlags& f) {
  RejectLog rejects("", false);
  Workspace ws = open_catalog(f.catalog, rejects);
  const auto t = ws.catalog.find_title(f.title);
  MARQUEE_CHECK_ARG(t.has_value(), "unknown title_id '{}'", f.title);
  MARQUEE_CHECK_ARG(f.k >= 1 && f.k < ws.catalog.num_titles(),
                    "--top must be between 1 and {} (the other titles); got {}", ws.catalog.num_titles() - 1, f.k);
  LoadedModel loaded;
  if (!f.model_dir.empty()) loaded = load_model_dir(f.model_dir, ws.catalog, ws.titles);
  const TitleMatrix& space = loaded.model ? loaded.model->similarity_titles() : ws.titles;
  auto scorer = make_cpu_scorer(space);
  Exclusions self;
  self.titles.push_back(*t);
  self.offsets.push_back(1);
  TopKResult r;
  scorer->search(UserBatchView{1, space.dim(), space.row(*t), &self}, f.k, r);
  fmt::print("titles most like {}:\n", title_label(ws.catalog, *t));
  std::string csv = "title_id,rank,similar_title_id,score\n";
  for (size_t i = 0; i < r.counts[0]; ++i) {
    fmt::print("  {:2d}. {}  {:.4f}\n", i + 1, title_label(ws.catalog, r.titles[i]), r.scores[i]);
    csv += fmt::format("{},{},{},{:.6f}\n", csv_field(f.title), i + 1, csv_field(ws.catalog.title(r.titles[i]).id),
                       r.scores[i]);
  }
  if (!f.out.empty()) write_file_atomically(f.out, csv);
}
}  // namespace

void add_similar(CLI::App& app) {
  auto f = std::make_shared<SimilarFlags>();
  auto* cmd = app.add_subcommand("similar", "titles most like a title (tag cosine)");
  cmd->add_option("--catalog", f->catalog, "catalogue directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--title", f->title, "title_id")->required();
  cmd->add_option("--top,-k", f->k, "number of similar titles")->capture_default_str();
  cmd->add_option("--out", f->out, "also write CSV title_id,rank,similar_title_id,score");
  cmd->add_option("--model-dir", f->model_dir, "rank by the model's title vectors (`marquee train`)")
      ->check(CLI::ExistingDirectory);

  cmd->callback([f] { run_similar(*f); });
}

}  // namespace marquee::cli
