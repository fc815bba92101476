#include "host/cli/usage_help.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

namespace marquee::cli {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The flag names of `app` as typed: "--title", "-k".
std::vector<std::string> flag_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options()) {
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
    for (const auto& s : o->get_snames()) names.push_back("-" + s);
  }
  return names;
}

bool has_flag(const CLI::App& app, const std::string& name) {
  const std::vector<std::string> names = flag_names(app);
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "-k", "--top", "--top=5" are flags; "-1" and "-0.5" are (negative) values.
bool looks_like_flag(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  if (arg[1] == '-') return arg.size() > 2;
  return !(std::isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.');
}

std::string suggestion(const std::optional<std::string>& match) {
  return match ? fmt::format(": did you mean '{}'?", *match) : "";
}

}  // namespace

bool takes_value(const CLI::Option& o) { return o.get_expected_max() != 0; }

std::optional<std::string> closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_d = 3;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d && 2 * d < std::max<size_t>(word.size(), 2)) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::optional<std::string> check_command_line(const CLI::App& app, int argc, const char* const* argv) {
  std::vector<std::string> subcommands;
  const std::vector<const CLI::App*> all = app.get_subcommands([](const CLI::App*) { return true; });
  for (const CLI::App* s : all) subcommands.push_back(s->get_name());
  const CLI::App* sub = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;  // everything after it is positional
    if (!sub) {
      if (looks_like_flag(arg)) {
        const std::string name = arg.substr(0, arg.find('='));
        if (!has_flag(app, name))
          return fmt::format("unknown option '{}'{} (`marquee --help` lists them)", name, suggestion(closest_match(name, flag_names(app))));
        // A global option's value is the next word, unless given as --name=value.
        const CLI::Option* o = app.get_option_no_throw(name);
        if (o && takes_value(*o) && arg.find('=') == std::string::npos) ++i;
        continue;
      }
      for (const CLI::App* s : all)
        if (s->get_name() == arg) sub = s;
      if (!sub)
        return fmt::format("unknown subcommand '{}'{} (`marquee --help` lists them)", arg,
                           suggestion(closest_match(arg, subcommands)));
      continue;
    }
    if (!looks_like_flag(arg)) continue;
    std::string name = arg.substr(0, arg.find('='));
    if (name[1] != '-' && name.size() > 2) name = name.substr(0, 2);  // -k5: the short flag -k with its value
    if (name == "--help" || name == "-h" || has_flag(*sub, name) || has_flag(app, name)) continue;
    std::vector<std::string> names = flag_names(*sub);
    for (const auto& g : flag_names(app)) names.push_back(g);
    return fmt::format("unknown flag '{}' for `marquee {}`{} (`marquee {} --help` lists them)", name, sub->get_name(),
                       suggestion(closest_match(name, names)), sub->get_name());
  }
  return std::nullopt;
}

std::string without_source_location(const std::string& message) {
  static const std::regex kLocation(R"( \[[^\[\]\s]*\.(cpp|cu|h|cuh|hpp):[0-9]+\])");
  return std::regex_replace(message, kLocation, "");
}

}  // namespace marquee::cli
