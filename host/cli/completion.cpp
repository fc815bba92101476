// `marquee completion bash|zsh`: a shell completion script built by walking the CLI11 definition
// (subcommands, their flags, which flags take a value, which values are files, folders or one of a
// list), so it can never fall behind the flags it completes.
#include "host/cli/commands.h"
#include "host/cli/usage_help.h"

#include "engine/error.h"

#include <fmt/format.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace marquee::cli {

namespace {

// What one flag of the command line completes to.
struct Flag {
  std::vector<std::string> names;  // "--top", "-k"
  std::string description;
  bool takes_value = false;
  enum class Value { Any, File, Directory, Choice } value = Value::Any;
  std::vector<std::string> choices;
};

struct Command {
  std::string name, description;
  std::vector<Flag> flags;
  std::vector<std::string> positional_choices;  // `completion bash|zsh`
};

// The choices of a flag: its IsMember validator ("TEXT:{a,b}" in its type name), else an "a|b|c"
// list in its description ("auto|cpu|cuda").
std::vector<std::string> choices_of(const std::string& type_name, const std::string& description) {
  std::vector<std::string> out;
  const size_t open = type_name.find('{'), close = type_name.find('}');
  std::string list;
  char sep = ',';
  if (open != std::string::npos && close != std::string::npos && close > open) {
    list = type_name.substr(open + 1, close - open - 1);
  } else {
    static const std::regex kAlternatives(R"(([a-z0-9][a-z0-9_-]*(\|[a-z0-9][a-z0-9_-]*)+))");
    std::smatch m;
    if (!std::regex_search(description, m, kAlternatives)) return out;
    list = m[1].str();
    sep = '|';
  }
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(sep, start), list.size());
    std::string item = list.substr(start, end - start);
    if (!item.empty() && item.find_first_of(" '\"$`\\") == std::string::npos) out.push_back(item);
    start = end + 1;
  }
  return out;
}

// The outputs (host/cli/guards.cpp names the same): files, though not existing ones yet.
bool is_output_file(const std::string& name) {
  for (const char* out : {"--out", "--rejects", "--report", "--users-out", "--rows", "--index-path", "--token-file"})
    if (name == out) return true;
  return false;
}

Flag flag_of(const CLI::Option& o) {
  Flag f;
  for (const auto& l : o.get_lnames()) f.names.push_back("--" + l);
  for (const auto& s : o.get_snames()) f.names.push_back("-" + s);
  f.description = o.get_description();
  f.takes_value = takes_value(o);
  if (!f.takes_value) return f;
  const std::string type = o.get_type_name();
  f.choices = choices_of(type, f.description);
  if (!f.choices.empty()) f.value = Flag::Value::Choice;
  else if (type.find("DIR") != std::string::npos) f.value = Flag::Value::Directory;
  else if (type.find("FILE") != std::string::npos) f.value = Flag::Value::File;
  else if (is_output_file(f.names.front()))
    f.value = Flag::Value::File;
  else if (f.names.front() == "--catalog" || f.names.front().find("-dir") != std::string::npos)
    f.value = Flag::Value::Directory;
  return f;
}

std::vector<Flag> flags_of(const CLI::App& app) {
  std::vector<Flag> out;
  for (const CLI::Option* o : app.get_options())
    if (!o->get_lnames().empty() || !o->get_snames().empty()) out.push_back(flag_of(*o));
  return out;
}

std::vector<Command> commands_of(const CLI::App& app) {
  std::vector<Command> out;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; })) {
    Command c{s->get_name(), s->get_description(), flags_of(*s), {}};
    for (const CLI::Option* o : s->get_options())
      if (o->get_lnames().empty() && o->get_snames().empty() && o->get_positional())
        for (const auto& choice : choices_of(o->get_type_name(), o->get_description()))
          c.positional_choices.push_back(choice);
    out.push_back(std::move(c));
  }
  return out;
}

std::string join_names(const std::vector<Flag>& flags, bool values_only = false) {
  std::string out;
  for (const auto& f : flags)
    if (!values_only || f.takes_value)
      for (const auto& n : f.names) out += (out.empty() ? "" : " ") + n;
  return out;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// The `case "$prev"` arms that complete a flag's value; `indent` before each.
std::string bash_value_cases(const std::vector<Flag>& flags, const std::string& indent) {
  std::string out;
  for (const auto& f : flags) {
    if (!f.takes_value) continue;
    const std::string pattern = join(f.names, "|");
    switch (f.value) {
      case Flag::Value::Choice:
        out += fmt::format("{}{}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return ;;\n", indent, pattern,
                           join(f.choices, " "));
        break;
      case Flag::Value::Directory:
        out += fmt::format("{}{}) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", indent, pattern);
        break;
      case Flag::Value::File:
        out += fmt::format("{}{}) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", indent, pattern);
        break;
      case Flag::Value::Any:
        out += fmt::format("{}{}) return ;;\n", indent, pattern);  // a number or a name: nothing to offer
        break;
    }
  }
  return out;
}

std::string bash_script(const CLI::App& app) {
  const std::vector<Command> commands = commands_of(app);
  const std::vector<Flag> global = flags_of(app);
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.name);
  std::string s;
  s += "# bash completion for marquee, generated by `marquee completion bash` from its command-line definition.\n";
  s += "# Load it with: source <(marquee completion bash)   or install it as\n";
  s += "# /usr/share/bash-completion/completions/marquee (docs/cli.md).\n";
  s += "_marquee() {\n";
  s += "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\" sub=\"\" i\n";
  s += "  for ((i = 1; i < COMP_CWORD; i++)); do\n";
  s += "    case \"${COMP_WORDS[i]}\" in\n";
  s += fmt::format("      {}) sub=\"${{COMP_WORDS[i]}}\"; break ;;\n", join(names, "|"));
  s += "    esac\n";
  s += "  done\n";
  s += fmt::format("  local global=\"{}\" opts=\"\"\n", join_names(global));
  s += "  case \"$prev\" in\n";
  s += bash_value_cases(global, "    ");
  s += "  esac\n";
  s += "  case \"$sub\" in\n";
  s += fmt::format("    \"\") COMPREPLY=($(compgen -W \"{} $global\" -- \"$cur\")); return ;;\n", join(names, " "));
  for (const auto& c : commands) {
    s += fmt::format("    {})\n", c.name);
    s += fmt::format("      opts=\"{}\"\n", join_names(c.flags));
    if (!c.positional_choices.empty())
      s += fmt::format("      [[ \"$cur\" != -* ]] && {{ COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return; }}\n",
                       join(c.positional_choices, " "));
    const std::string values = bash_value_cases(c.flags, "        ");
    if (!values.empty()) s += "      case \"$prev\" in\n" + values + "      esac\n";
    s += "      ;;\n";
  }
  s += "  esac\n";
  s += "  if [[ \"$cur\" == -* ]]; then\n";
  s += "    COMPREPLY=($(compgen -W \"$opts $global\" -- \"$cur\"))\n";
  s += "  else\n";
  s += "    COMPREPLY=($(compgen -f -- \"$cur\"))\n";
  s += "  fi\n";
  s += "}\n";
  s += "complete -o filenames -o bashdefault -F _marquee marquee\n";
  return s;
}

// Text inside a zsh _arguments spec '...[DESCRIPTION]...': no quote, bracket or colon unescaped.
std::string zsh_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else if (c == '[' || c == ']' || c == ':' || c == '\\') out += std::string("\\") + c;
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string zsh_specs(const std::vector<Flag>& flags, const std::string& indent) {
  std::string out;
  for (const auto& f : flags) {
    std::string action;
    if (f.takes_value) {
      switch (f.value) {
        case Flag::Value::Choice: action = ":value:(" + join(f.choices, " ") + ")"; break;
        case Flag::Value::Directory: action = ":directory:_files -/"; break;
        case Flag::Value::File: action = ":file:_files"; break;
        case Flag::Value::Any: action = ":value: "; break;
      }
    }
    for (const auto& n : f.names)
      out += fmt::format("{}'{}[{}]{}'\n", indent, n, zsh_escape(f.description), action);
  }
  return out;
}

std::string zsh_script(const CLI::App& app) {
  const std::vector<Command> commands = commands_of(app);
  std::string s;
  s += "#compdef marquee\n";
  s += "# zsh completion for marquee, generated by `marquee completion zsh` from its command-line definition.\n";
  s += "# Load it with: source <(marquee completion zsh)   or save it as _marquee in a folder of $fpath.\n";
  s += "_marquee() {\n";
  s += "  local -a global_opts subcommands\n";
  s += "  global_opts=(\n" + zsh_specs(flags_of(app), "    ") + "  )\n";
  s += "  subcommands=(\n";
  for (const auto& c : commands) s += fmt::format("    '{}:{}'\n", c.name, zsh_escape(c.description));
  s += "  )\n";
  s += "  local curcontext=\"$curcontext\" state line\n";
  s += "  _arguments -C $global_opts '1: :->command' '*:: :->args' && return\n";
  s += "  case $state in\n";
  s += "    command) _describe -t commands 'marquee subcommand' subcommands ;;\n";
  s += "    args)\n";
  s += "      case $words[1] in\n";
  for (const auto& c : commands) {
    s += fmt::format("        {})\n          _arguments $global_opts \\\n", c.name);
    std::string specs = zsh_specs(c.flags, "            ");
    // One argument per line, continued with a backslash.
    std::string continued;
    size_t start = 0;
    while (start < specs.size()) {
      const size_t nl = specs.find('\n', start);
      continued += specs.substr(start, nl - start) + " \\\n";
      start = nl + 1;
    }
    s += continued + (c.positional_choices.empty() ? "            '*:file:_files' ;;\n"
                                                    : "            '1:value:(" + join(c.positional_choices, " ") + ")' ;;\n");
  }
  s += "      esac ;;\n";
  s += "  esac\n";
  s += "}\n";
  s += "if [ \"$funcstack[1]\" = \"_marquee\" ]; then _marquee \"$@\"; else compdef _marquee marquee; fi\n";
  return s;
}

}  // namespace

std::string completion_script(const CLI::App& app, const std::string& shell) {
  if (shell == "bash") return bash_script(app);
  if (shell == "zsh") return zsh_script(app);
  MARQUEE_THROW_AS(ArgumentError, "completion for '{}': expected bash or zsh", shell);
}

void add_completion(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("completion", "print a shell completion script: marquee completion bash|zsh");
  cmd->add_option("shell", *shell, "bash|zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([shell, &app] { fmt::print("{}", completion_script(app, *shell)); });
}

}  // namespace marquee::cli
