#include "host/io/model_dir.h"

#include "engine/error.h"
#include "host/io/atomic_file.h"
#include "host/io/npy.h"
#include "host/io/timestamp.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace marquee {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  MARQUEE_CHECK_INPUT(in.good(), "cannot read {}", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  MARQUEE_CHECK_INPUT(!in.bad(), "error reading {}", path.string());
  return ss.str();
}

void write_whole(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.flush();
  MARQUEE_CHECK_INPUT(out.good(), "cannot write {}", path.string());
}


}  // namespace

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  MARQUEE_CHECK_INPUT(EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) == 1,
                      "SHA-256 failed (OpenSSL)");
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

json model_params_json(const ModelParams& p) {
  return {{"als",
           {{"factors", p.als.factors},
            {"iterations", p.als.iterations},
            {"regularization", p.als.regularization},
            {"alpha", p.als.alpha},
            {"unobserved_weight", p.als.unobserved_weight},
            {"reg_exponent", p.als.reg_exponent},
            {"seed", p.als.seed}}},
          {"hybrid", {{"behaviour", p.weights.behaviour}, {"tags", p.weights.tags}, {"popularity", p.weights.popularity}}},
          {"ease", {{"lambda", p.ease_lambda}}}};
}

ModelParams model_params_from_json(const json& j) {
  ModelParams p;
  const json als = j.value("als", json::object()), hy = j.value("hybrid", json::object()),
             ease = j.value("ease", json::object());
  p.als.factors = als.value("factors", p.als.factors);
  p.als.iterations = als.value("iterations", p.als.iterations);
  p.als.regularization = als.value("regularization", p.als.regularization);
  p.als.alpha = als.value("alpha", p.als.alpha);
  p.als.unobserved_weight = als.value("unobserved_weight", p.als.unobserved_weight);
  p.als.reg_exponent = als.value("reg_exponent", p.als.reg_exponent);
  p.als.seed = als.value("seed", p.als.seed);
  p.weights.behaviour = hy.value("behaviour", p.weights.behaviour);
  p.weights.tags = hy.value("tags", p.weights.tags);
  p.weights.popularity = hy.value("popularity", p.weights.popularity);
  p.ease_lambda = ease.value("lambda", p.ease_lambda);
  return p;
}

json save_model_dir(const std::string& dir, const Model& model, const Catalog& catalog, const ModelRecord& record) {
  MARQUEE_CHECK_ARG(!dir.empty(), "the model folder needs a path");
  const fs::path target = fs::path(dir).lexically_normal();
  const fs::path temp = target.string() + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  remove_stale_temps(target.string());  // folders of killed runs: `<dir>.tmp.<dead pid>`
  fs::remove_all(temp, ec);
  fs::create_directories(temp, ec);
  MARQUEE_CHECK_INPUT(!ec, "cannot create {}: {}", temp.string(), ec.message());
  try {
    json files = json::object();
    std::string all_hashes;
    auto put = [&](const std::string& name, const std::string& bytes, const json& shape) {
      write_whole(temp / name, bytes);
      const std::string h = sha256_hex(bytes);
      all_hashes += name + ":" + h + "\n";
      files[name] = {{"sha256", h}, {"bytes", bytes.size()}, {"shape", shape}};
    };
    for (const ModelArray& a : model.arrays()) put(a.name + ".npy", npy_float32(a.shape, a.data.data()), a.shape);
    std::vector<std::string> title_ids, tag_ids;
    for (const auto& t : catalog.titles()) title_ids.push_back(t.id);
    for (uint32_t j = 0; j < catalog.num_tags(); ++j) tag_ids.push_back(catalog.tag(j).name);
    put("title_ids.npy", npy_strings(title_ids), json::array({title_ids.size()}));
    put("tag_ids.npy", npy_strings(tag_ids), json::array({tag_ids.size()}));
    const std::string family = model_kind_name(model.kind());
    json manifest = {{"format", "marquee-model"},
                     {"format_version", kModelFormatVersion},
                     {"family", family},
                     {"version", family + "-" + sha256_hex(family + "\n" + all_hashes).substr(0, 12)},
                     {"params", model_params_json(model.params())},
                     {"catalog",
                      {{"fingerprint", fmt::format("{:016x}", catalog.fingerprint())},
                       {"titles", catalog.num_titles()},
                       {"tags", catalog.num_tags()}}},
                     {"created", format_utc(std::time(nullptr))},
                     {"files", files}};
    for (const auto& [k, v] : record.extra.items()) manifest[k] = v;
    write_whole(temp / "manifest.json", manifest.dump(2) + "\n");
    // Swap the new folder into place: the old one (if any) moves aside first, then goes.
    const fs::path old = target.string() + ".old." + std::to_string(::getpid());
    const bool had_old = fs::exists(target);
    if (had_old) fs::rename(target, old);
    fs::rename(temp, target);
    if (had_old) fs::remove_all(old, ec);
    return manifest;
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(temp, ec);
    MARQUEE_THROW_AS(InputError, "cannot write the model folder {}: {}", dir, e.what());
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
}

LoadedModel load_model_dir(const std::string& dir, const Catalog& catalog, const TitleMatrix& tags) {
  const fs::path root(dir);
  MARQUEE_CHECK_INPUT(fs::is_directory(root), "model folder {} does not exist (write one with `marquee train`)", dir);
  const fs::path manifest_path = root / "manifest.json";
  MARQUEE_CHECK_INPUT(fs::exists(manifest_path), "{} is not a model folder: no manifest.json", dir);
  json m;
  try {
    m = json::parse(read_whole(manifest_path));
  } catch (const json::exception& e) {
    MARQUEE_THROW_AS(InputError, "{}: not valid JSON ({})", manifest_path.string(), e.what());
  }
  try {
    MARQUEE_CHECK_INPUT(m.value("format", "") == "marquee-model", "{}: not a Marquee model manifest",
                        manifest_path.string());
    const int version = m.at("format_version").get<int>();
    MARQUEE_CHECK_INPUT(version <= kModelFormatVersion,
                        "{}: model format version {} is newer than this Marquee reads ({}); upgrade Marquee", dir,
                        version, kModelFormatVersion);
    const std::string want = fmt::format("{:016x}", catalog.fingerprint());
    const std::string got = m.at("catalog").at("fingerprint").get<std::string>();
    MARQUEE_CHECK_INPUT(got == want,
                        "{} was trained on another catalogue (fingerprint {}, {} titles, {} tags; this one: {}, {} "
                        "titles, {} tags): retrain with `marquee train`",
                        dir, got, m["catalog"].value("titles", size_t(0)), m["catalog"].value("tags", size_t(0)), want,
                        catalog.num_titles(), catalog.num_tags());
    const ModelKind kind = parse_model_kind(m.at("family").get<std::string>());
    std::vector<ModelArray> arrays;
    for (const auto& [name, info] : m.at("files").items()) {
      const fs::path path = root / name;
      MARQUEE_CHECK_INPUT(fs::exists(path), "{}: missing {}", dir, name);
      const std::string bytes = read_whole(path);
      MARQUEE_CHECK_INPUT(bytes.size() == info.at("bytes").get<size_t>(), "{}: {} bytes, the manifest says {} (truncated?)",
                          path.string(), bytes.size(), info.at("bytes").get<size_t>());
      MARQUEE_CHECK_INPUT(sha256_hex(bytes) == info.at("sha256").get<std::string>(),
                          "{}: checksum mismatch (the file changed after training)", path.string());
      if (name == "title_ids.npy" || name == "tag_ids.npy") continue;
      ModelArray a;
      a.name = name.substr(0, name.size() - 4);
      parse_npy_float32(bytes, path.string(), a.shape, a.data);
      arrays.push_back(std::move(a));
    }
    LoadedModel out;
    out.model = make_model(kind, model_params_from_json(m.at("params")));
    out.model->restore(tags, arrays);
    out.version = m.at("version").get<std::string>();
    out.manifest = std::move(m);
    return out;
  } catch (const json::exception& e) {
    MARQUEE_THROW_AS(InputError, "{}: malformed manifest ({})", manifest_path.string(), e.what());
  } catch (const ArgumentError& e) {
    MARQUEE_THROW_AS(InputError, "{}: {}", dir, e.what());
  }
}

}  // namespace marquee
