#include "host/cli/guards.h"

#include "engine/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>

namespace marquee::cli {

namespace fs = std::filesystem;

namespace {

bool has_lname(const CLI::Option* opt, const char* name) {
  const auto& names = opt->get_lnames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A floating-point flag's text as CLI11 will read it ("nan" and "inf" included); false when it is
// not a number at all (CLI11's conversion reports that itself).
bool read_number(const std::string& text, double& out) {
  return CLI::detail::lexical_cast(text, out);
}

CLI::Validator finite_in(double lo, double hi, const std::string& what) {
  return CLI::Validator(
      [lo, hi, what](std::string& text) -> std::string {
        double v = 0;
        if (!read_number(text, v)) return {};  // not a number: the conversion's own error follows
        if (!std::isfinite(v)) return fmt::format("must be a finite number; got {}", text);
        if (v < lo || v > hi) return fmt::format("must be between {:g} and {:g}; got {}", lo, hi, text);
        return {};
      },
      fmt::format("{}: {:g} .. {:g}", what, lo, hi));
}

const CLI::Validator kFinite(
    [](std::string& text) -> std::string {
      double v = 0;
      if (!read_number(text, v)) return {};
      if (!std::isfinite(v)) return fmt::format("must be a finite number; got {}", text);
      return {};
    },
    "finite");

void add_checks(CLI::App& sub) {
  for (CLI::Option* opt : sub.get_options()) {
    if (opt->get_type_name() == "FLOAT") opt->check(kFinite);
    if (has_lname(opt, "threads"))
      opt->check(CLI::Range(0, kMaxThreads).description(fmt::format("0 (all cores) .. {}", kMaxThreads)));
    if (has_lname(opt, "half-life-days")) opt->check(finite_in(0, kMaxHalfLifeDays, "--half-life-days"));
    if (has_lname(opt, "hybrid-tags")) opt->check(finite_in(0, kMaxHybridWeight, "--hybrid-tags"));
    if (has_lname(opt, "hybrid-popularity")) opt->check(finite_in(0, kMaxHybridWeight, "--hybrid-popularity"));
    if (has_lname(opt, "max-reject-rate")) opt->check(finite_in(0, 1, "--max-reject-rate"));
  }
  for (CLI::App* child : sub.get_subcommands({})) add_checks(*child);
}

// Absolute, with `..` and symbolic links of the existing part resolved.
fs::path resolved(const std::string& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = fs::path(p);
  fs::path c = fs::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : c;
}

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    const bool eq = fs::equivalent(a, b, ec);  // hard links and symbolic links included
    if (!ec) return eq;
  }
  return resolved(a) == resolved(b);
}

// `path` is `dir` or lies below it.
bool within(const std::string& path, const std::string& dir) {
  const fs::path p = resolved(path), d = resolved(dir);
  auto pi = p.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++pi) {
    if (di->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *di) return false;
  }
  return true;
}

std::string value_of(const CLI::App& sub, const char* flag) {
  const CLI::Option* opt = sub.get_option_no_throw(flag);
  if (!opt || opt->count() == 0 || opt->results().empty()) return {};
  return opt->results().front();
}

std::string strip_extension(const std::string& path) {
  const fs::path p(path);
  return p.has_extension() ? (p.parent_path() / p.stem()).string() : path;
}

}  // namespace

void add_value_checks(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands({})) add_checks(*sub);
}

PathRoles path_roles(const CLI::App& sub) {
  PathRoles r;
  const std::string name = sub.get_name();
  auto add = [&sub](std::vector<PathRoles::Path>& to, const char* flag) {
    const CLI::Option* opt = sub.get_option_no_throw(flag);
    if (!opt) return;
    for (const std::string& v : opt->results())
      if (!v.empty()) to.push_back({flag, v});
  };
  for (const char* f : {"--catalog", "--events", "--profiles", "--new-titles", "--segments", "--artwork", "--daypart",
                        "--model-dir"})
    add(r.inputs, f);
  add(r.protected_dirs, "--catalog");
  add(r.protected_dirs, "--model-dir");
  if (name == "gen") return r;  // gen reads nothing; its --out is a folder it fills
  for (const char* f : {"--out", "--report", "--users-out", "--rows", "--rejects"}) add(r.outputs, f);

  // The side files a job derives from --out (docs/cli.md).
  const std::string out = value_of(sub, "--out");
  if (out.empty()) return r;
  // score --out DIR/ keeps its side files inside the folder it creates (docs/scale.md).
  std::error_code ec;
  if (name == "score" && (out.back() == '/' || std::filesystem::is_directory(out, ec))) return r;
  const std::set<std::string> with_default_rejects{"profile", "train", "score", "daypart", "project", "segment"};
  if (with_default_rejects.count(name) && value_of(sub, "--rejects").empty())
    r.outputs.push_back({"--out (its rejects file)", out + ".rejects.csv"});
  if (name == "score") r.outputs.push_back({"--out (its unscored file)", out + ".unscored.csv"});
  if (name == "project" && value_of(sub, "--users-out").empty())
    r.outputs.push_back({"--out (its users file)", strip_extension(out) + ".users.csv"});
  if (name == "segment")
    for (const char* side : {".centroids.csv", ".mean.csv", ".json"})
      r.outputs.push_back({std::string("--out (its ") + side + " file)", strip_extension(out) + side});
  return r;
}

void check_output_paths(const PathRoles& roles) {
  for (size_t i = 0; i < roles.outputs.size(); ++i) {
    const auto& out = roles.outputs[i];
    // Said up front, naming the output the user typed: before, the first file opened failed, often
    // a side file ("r.csv.rejects.csv.tmp.15668: No such file or directory").
    // "DIR/" (score's folder of parts) is created by the job: its parent must exist.
    std::string path = out.path;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    MARQUEE_CHECK_ARG(parent.empty() || std::filesystem::is_directory(parent, ec),
                      "{} {}: the folder {} does not exist (create it first)", out.flag, out.path, parent.string());
    for (const auto& in : roles.inputs) {
      MARQUEE_CHECK_ARG(!same_path(out.path, in.path),
                        "{} {} is the input {} {}: writing it would destroy the input. Choose another output path",
                        out.flag, out.path, in.flag, in.path);
      // A folder output (train --out) is replaced whole: nothing read may live inside it.
      MARQUEE_CHECK_ARG(!within(in.path, out.path),
                        "{} {} would replace a folder that holds the input {} {}. Choose another output path",
                        out.flag, out.path, in.flag, in.path);
    }
    for (const auto& dir : roles.protected_dirs)
      MARQUEE_CHECK_ARG(!within(out.path, dir.path),
                        "{} {} is inside the {} folder {}: outputs never go there (they would overwrite or be "
                        "taken for its files). Choose a path outside it",
                        out.flag, out.path, dir.flag == "--catalog" ? "catalogue" : "model", dir.path);
    for (size_t j = 0; j < i; ++j)
      MARQUEE_CHECK_ARG(!same_path(out.path, roles.outputs[j].path),
                        "{} {} and {} {} are the same file: one would overwrite the other", roles.outputs[j].flag,
                        roles.outputs[j].path, out.flag, out.path);
  }
}

void check_output_paths(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) check_output_paths(path_roles(*sub));
}

}  // namespace marquee::cli
