// What the command line says when a person mistypes: "did you mean" for unknown subcommands and
// flags (CLI11 has no suggestions, and reports a misspelt required flag as a missing one), and
// error messages without the source location the engine appends (kept for --log-level debug).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace marquee::cli {

/// The candidate closest to `word` by edit distance, when close enough to be a likely typo
/// (at most 2 edits, and fewer than half of the word's letters).
std::optional<std::string> closest_match(const std::string& word, const std::vector<std::string>& candidates);

/// Checks argv before CLI11 parses it: an unknown subcommand or an unknown flag of the chosen
/// subcommand gives a message naming it, with a suggestion when one is close ("unknown flag
/// '--titel' for `marquee similar`: did you mean '--title'?"). Returns the message, or nothing when
/// the command line is fine for CLI11 to parse.
std::optional<std::string> check_command_line(const CLI::App& app, int argc, const char* const* argv);

/// True for an option that takes a value (`--top 5`), false for a flag (`--quiet`): CLI11 gives a
/// flag a type size of 1 but expects 0 values of it.
bool takes_value(const CLI::Option& o);

/// `message` without the " [path/file.cpp:123]" source locations the engine's checks append.
std::string without_source_location(const std::string& message);

}  // namespace marquee::cli
