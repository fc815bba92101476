// The catalogue reader (host/io/catalog_io.h) and the title vectors built from it
// (engine/title_matrix). The input is split at the byte 0x1E (ASCII record separator) into
// tags, titles and title_tags; a part whose first non-blank byte is '{' is written as NAME.jsonl,
// any other as NAME.csv. Missing parts are written empty.
#include "fuzz_common.h"

#include "host/io/catalog_io.h"

using namespace marquee;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  static const std::string dir = fuzz::scratch_dir() + "/catalog";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::vector<std::string> parts = fuzz::split_input(data, size, '\x1e', 3);
  const char* names[] = {"tags", "titles", "title_tags"};
  for (size_t i = 0; i < 3; ++i) {
    const std::string text = i < parts.size() ? parts[i] : std::string();
    const size_t first = text.find_first_not_of(" \t\r\n");
    const bool jsonl = first != std::string::npos && text[first] == '{';
    fuzz::write_file(dir + "/" + names[i] + (jsonl ? ".jsonl" : ".csv"), text.data(), text.size());
  }
  RejectLog rejects("", false);
  fuzz::expected([&] {
    Workspace ws = open_catalog(dir, rejects);
    const Catalog& c = ws.catalog;
    if (ws.titles.num_titles() != c.num_titles()) __builtin_trap();
    (void)c.fingerprint();
    for (uint32_t t = 0; t < c.num_titles(); ++t)
      if (c.find_title(c.title(t).id) != t) __builtin_trap();  // ids unique and found again
  });
  return 0;
}
