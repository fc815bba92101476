// `marquee explain`: why a title is (or is not) recommended to a user (docs/cli.md, docs/artwork.md).
#include "engine/artwork.h"
#include "engine/error.h"
#include "engine/explain.h"
#include "host/cli/commands.h"
#include "host/cli/input_flags.h"
#include "host/io/artwork_io.h"
#include "host/io/model_dir.h"
#include "host/io/rejects.h"
#include "host/jobs/workspace.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace marquee::cli {

namespace {
struct ExplainFlags {
  InputFlags in;
  std::string user, title;
  size_t tags = 5, titles = 3;
  bool json = false;
  std::string artwork;
  std::string model_dir;
};

void run_explain(ExplainFlags& f, CLI::App* cmd) {
  f.in.finish(cmd);
  RejectLog rejects(f.in.common.rejects_path, f.in.common.strict, f.in.common.max_reject_rate);
  Workspace ws = open_workspace(f.in.input, rejects);
  const auto t = ws.catalog.find_title(f.title);
  MARQUEE_CHECK_ARG(t.has_value(), "unknown title_id '{}'", f.title);
  const auto u = ws.profiles->find_user(f.user);
  MARQUEE_CHECK_ARG(u.has_value(), "unknown user_id '{}' (no events for this user)", f.user);
  const UserProfiles p = ws.profiles->read(*u, 1);
  std::optional<Artwork> artwork;
  if (!f.artwork.empty()) artwork = load_artwork(f.artwork, ws.catalog, ws.titles, rejects);
  std::optional<LoadedModel> model;
  std::optional<ModelExplanation> mx;
  if (!f.model_dir.empty()) {
    model = load_model_dir(f.model_dir, ws.catalog, ws.titles);
    mx = explain_model(*model->model, p, *t, f.titles);
  }
  rejects.finish();
  const Explanation ex = explain(ws.titles, p.vector(0), p.seen_begin(0), p.seen_end(0), *t, f.tags, f.titles);
  const bool seen = std::any_of(p.seen_begin(0), p.seen_end(0), [&](const SeenTitle& s) { return s.title == *t; });
  if (f.json) {
    nlohmann::json j{{"user_id", f.user}, {"title_id", f.title}, {"score", ex.score}, {"already_seen", seen}};
    for (const auto& c : ex.tags)
      j["tags"].push_back({{"tag", ws.catalog.tag(c.tag).name}, {"category", ws.catalog.tag(c.tag).category},
                           {"contribution", c.contribution}});
    for (const auto& b : ex.because)
      j["because_you_watched"].push_back(
          {{"title_id", ws.catalog.title(b.title).id}, {"similarity", b.similarity}, {"weight", b.weight}});
    if (artwork) j["artwork"] = artwork_explanation_json(*artwork, ws.catalog, p.vector(0), *t, f.tags);
    if (mx) {
      nlohmann::json jm{{"version", model->version}, {"family", model_kind_name(model->model->kind())},
                        {"score", mx->score}, {"rank", mx->rank}, {"candidates", mx->candidates}};
      jm["because_you_watched"] = nlohmann::json::array();
      for (const auto& b : mx->because)
        jm["because_you_watched"].push_back(
            {{"title_id", ws.catalog.title(b.title).id}, {"similarity", b.similarity}, {"weight", b.weight}});
      j["model"] = jm;
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{} for {}: score {:.4f}{}\n", title_label(ws.catalog, *t), f.user, ex.score,
               seen ? " (already watched)" : "");
    if (!p.summaries[0].usable) fmt::print("  this user has no usable events: nothing to explain\n");
    // Columns as wide as the longest name shown (real taxonomies have long tag names).
    size_t name_w = 24, cat_w = 8;
    for (const auto& c : ex.tags) {
      name_w = std::max(name_w, ws.catalog.tag(c.tag).name.size());
      cat_w = std::max(cat_w, ws.catalog.tag(c.tag).category.size());
    }
    for (const auto& c : ex.tags)
      fmt::print("  tag {:<{}} {:<{}} +{:.4f} ({:.0f}% of the score)\n", ws.catalog.tag(c.tag).name, name_w,
                 ws.catalog.tag(c.tag).category, cat_w, c.contribution,
                 ex.score > 0 ? 100.0 * c.contribution / ex.score : 0.0);
    for (const auto& b : ex.because)
      fmt::print("  because you watched {} (similarity {:.3f}, engagement {:.2f})\n", title_label(ws.catalog, b.title),
                 b.similarity, b.weight);
    if (artwork) print_artwork_explanation(stdout, *artwork, ws.catalog, p.vector(0), *t, f.tags);
    if (mx) {
      fmt::print("model {}: score {:.4f}, rank {} of the {} titles this user has not watched\n", model->version,
                 mx->score, mx->rank, mx->candidates);
      for (const auto& b : mx->because)
        fmt::print("  because you watched {} (model similarity {:.3f}, engagement {:.2f})\n",
                   title_label(ws.catalog, b.title), b.similarity, b.weight);
    }
  }
}
}  // namespace

void add_explain(CLI::App& app) {
  auto f = std::make_shared<ExplainFlags>();
  auto* cmd = app.add_subcommand("explain", "why a title is (or is not) recommended to a user");
  f->in.add(cmd, true);
  cmd->add_option("--user", f->user, "user_id")->required();
  cmd->add_option("--title", f->title, "title_id")->required();
  cmd->add_option("--tags", f->tags, "tag contributions to list")->capture_default_str();
  cmd->add_option("--because", f->titles, "watched titles to list")->capture_default_str();
  cmd->add_flag("--json", f->json, "print JSON");
  cmd->add_option("--artwork", f->artwork, "artwork.csv: also say which artwork variant the user sees, and why")
      ->check(CLI::ExistingFile);

  cmd->add_option("--model-dir", f->model_dir,
                  "a `marquee train` model: also its score, the title's rank for this user, and the watched titles "
                  "most like it in the model's space")
      ->check(CLI::ExistingDirectory);
  cmd->callback([f, cmd] { run_explain(*f, cmd); });
}

}  // namespace marquee::cli
