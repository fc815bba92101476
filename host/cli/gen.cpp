// `marquee gen`: a deterministic synthetic catalogue and events (docs/cli.md).
#include "host/cli/commands.h"
#include "host/jobs/generator.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace marquee::cli {

void add_gen(CLI::App& app) {
  auto gen = std::make_shared<GenOptions>();
  auto* cmd = app.add_subcommand("gen", "generate a deterministic synthetic catalogue and events");
  cmd->add_option("--users", gen->users, "number of users")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--titles", gen->titles, "number of titles")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--tags", gen->tags, "number of tags in the taxonomy")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", gen->seed, "random seed")->capture_default_str();
  cmd->add_option("--mean-titles", gen->mean_titles_per_user, "mean distinct titles watched per user")
      ->capture_default_str();
  cmd->add_option("--out", gen->out_dir, "output directory")->required();
  cmd->add_option("--discovery", gen->discovery,
                  "share of candidate titles found through a liked tag instead of by popularity (0..1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--daypart-effect", gen->daypart_effect,
                  "share of sessions held at the title's own hour of day (0..1; 0: viewing ignores the hour)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--artwork-variants", gen->artwork_variants, "also write OUT/artwork.csv with N variants per title")
      ->capture_default_str();

  cmd->callback([gen] {
    const auto t0 = std::chrono::steady_clock::now();
    const GenStats s = generate_dataset(*gen, [](uint64_t users, uint64_t events) {
      spdlog::info("gen: {} users, {} events", users, events);
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("gen: {} tags, {} titles ({} tag assignments), {} users, {} events in {:.1f} s -> {}", s.tags,
                 s.titles, s.assignments, s.users, s.events, secs, gen->out_dir);
  });
}

}  // namespace marquee::cli
