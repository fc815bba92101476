#include "host/io/new_titles_io.h"

#include "engine/error.h"
#include "host/io/catalog_io.h"
#include "host/io/record_reader.h"

#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <utility>

namespace marquee {

std::vector<NewTitle> load_new_titles(const std::string& path, const Catalog& catalog, RejectLog& rejects) {
  RecordReader reader(path, {"title_id", "tag", "weight"}, {"name"});
  for (const auto& c : reader.ignored_columns()) spdlog::info("{}: ignoring column '{}'", path, c);
  std::vector<NewTitle> titles;
  std::map<std::string, size_t> index;
  std::map<std::string, size_t> rejected_tags;  // per title: rows whose tag was unknown or bad
  std::set<std::pair<std::string, uint32_t>> assigned;
  Record r;
  while (reader.next(r)) {
    if (!r.error.empty()) {
      rejects.reject(path, r.line, r.error, r.raw);
      continue;
    }
    const std::string& id = r.fields[0];
    if (catalog.find_title(id)) {
      rejects.reject(path, r.line,
                     "title_id '" + id + "' is already in the catalogue (project it with --title " + id + " --as-new)",
                     r.raw);
      continue;
    }
    auto it = index.find(id);
    if (it == index.end()) {
      it = index.emplace(id, titles.size()).first;
      titles.push_back(NewTitle{id, {}, {}});
    }
    NewTitle& t = titles[it->second];
    if (r.present[3] && t.name.empty()) t.name = r.fields[3];
    const auto tw = parse_tag_weight(catalog, r, 1, 2, path, rejects, "(not in the taxonomy): ignored");
    if (!tw) {
      ++rejected_tags[id];
      continue;
    }
    const auto [tag, w] = *tw;
    if (!assigned.emplace(id, tag).second) {
      rejects.reject(path, r.line, "duplicate tag '" + r.fields[1] + "' for title '" + id + "'", r.raw);
      continue;
    }
    t.tags.emplace_back(tag, w);
  }
  MARQUEE_CHECK_INPUT(!titles.empty(), "{} has no usable new titles (title_id,tag,weight rows)", path);
  for (const NewTitle& t : titles)
    MARQUEE_CHECK_INPUT(!t.tags.empty(),
                        "new title '{}' in {} has no known tags ({} tag rows rejected, see the rejects file): "
                        "nothing to project it from",
                        t.id, path, rejected_tags[t.id]);
  rejects.check_rate(path, reader.rows());  // after the errors that say more than a rate
  return titles;
}

}  // namespace marquee
