// `marquee train` and the model folder end to end (docs/models.md): what is on disk, that
// `score --model-dir` ranks exactly as the same family fitted in memory, and that every damaged,
// foreign or newer folder is refused with exit code 3 and a reason.
#include "host/io/npy.h"
#include "test_util.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

using namespace marquee;
using namespace marquee::test;
namespace fs = std::filesystem;

namespace {

class ModelCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_EQ(run_marquee("gen --users 400 --titles 120 --tags 40 --seed 3 --out " + dir() + "/data").exit_code, 0);
    ASSERT_EQ(run_marquee("gen --users 50 --titles 60 --tags 20 --seed 4 --out " + dir() + "/other").exit_code, 0);
    const auto t = run_marquee("train --catalog " + catalog() + " --events " + events() +
                               " --model ease --time-budget 120 --out " + dir() + "/ease");
    ASSERT_EQ(t.exit_code, 0) << t.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string dir() { return dir_->path(); }
  static std::string catalog() { return dir() + "/data/catalog"; }
  static std::string events() { return dir() + "/data/events.csv"; }
  static nlohmann::json manifest(const std::string& model) { return nlohmann::json::parse(read_text(model + "/manifest.json")); }
  // A copy of the trained EASE folder to damage.
  static std::string copy_model(const std::string& name) {
    const std::string to = dir() + "/" + name;
    fs::remove_all(to);
    fs::copy(dir() + "/ease", to, fs::copy_options::recursive);
    return to;
  }
  // A behaviour model, trained once by whichever test needs it first.
  static std::string behaviour_model() {
    const std::string beh = dir() + "/behaviour";
    if (!fs::exists(beh + "/manifest.json")) {
      const auto t = run_marquee("train --catalog " + catalog() + " --events " + events() +
                                 " --model behaviour --time-budget 20 --backend cpu --out " + beh);
      EXPECT_EQ(t.exit_code, 0) << t.out;
    }
    return beh;
  }
  static CommandResult score_with(const std::string& model, const std::string& out) {
    return run_marquee("score --catalog " + catalog() + " --events " + events() + " --model-dir " + model +
                       " -k 5 --backend cpu --out " + out);
  }
  static inline TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(ModelCli, TrainWritesAVersionedFolderWithChecksummedNumpyArrays) {
  const nlohmann::json m = manifest(dir() + "/ease");
  EXPECT_EQ(m["format"], "marquee-model");
  EXPECT_EQ(m["format_version"], 1);
  EXPECT_EQ(m["family"], "ease");
  EXPECT_EQ(m["version"].get<std::string>().rfind("ease-", 0), 0u);
  EXPECT_EQ(m["catalog"]["titles"], 120);
  EXPECT_GT(m["validation"]["trials"].size(), 1u);  // the lambda search ran
  EXPECT_GT(m["validation"]["users"].get<size_t>(), 0u);
  EXPECT_EQ(m["training"]["input"], events());
  for (const auto& [name, info] : m["files"].items()) {
    const std::string bytes = read_text(dir() + "/ease/" + name);
    EXPECT_EQ(bytes.size(), info["bytes"].get<size_t>()) << name;
    EXPECT_EQ(bytes.compare(0, 6, "\x93NUMPY"), 0) << name;
  }
  std::vector<size_t> shape;
  std::vector<float> w;
  parse_npy_float32(read_text(dir() + "/ease/item_weights.npy"), "item_weights", shape, w);
  EXPECT_EQ(shape, (std::vector<size_t>{120, 120}));
  for (size_t t = 0; t < 120; ++t) EXPECT_EQ(w[t * 120 + t], 0.0f);  // B_tt = 0
  for (const auto& e : fs::directory_iterator(dir())) EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos);
}

TEST_F(ModelCli, ScoreWithTheFolderEqualsTheSameFamilyFittedInMemory) {
  const nlohmann::json m = manifest(dir() + "/ease");
  const float lambda = m["params"]["ease"]["lambda"].get<float>();
  ASSERT_EQ(score_with(dir() + "/ease", dir() + "/a.csv").exit_code, 0);
  const auto b = run_marquee("score --catalog " + catalog() + " --events " + events() + " --model ease --ease-lambda " +
                             fmt::format("{}", lambda) + " -k 5 --backend cpu --out " + dir() + "/b.csv");
  ASSERT_EQ(b.exit_code, 0) << b.out;
  EXPECT_EQ(read_text(dir() + "/a.csv"), read_text(dir() + "/b.csv"));
  EXPECT_GT(lines(read_text(dir() + "/a.csv")).size(), 100u);
}

TEST_F(ModelCli, TrainingTwiceGivesTheSameVersion) {
  const auto t = run_marquee("train --catalog " + catalog() + " --events " + events() +
                             " --model ease --time-budget 120 --out " + dir() + "/ease2");
  ASSERT_EQ(t.exit_code, 0) << t.out;
  EXPECT_EQ(manifest(dir() + "/ease2")["version"], manifest(dir() + "/ease")["version"]);
}

TEST_F(ModelCli, AChangedFileIsRefused) {
  const std::string m = copy_model("changed");
  std::string bytes = read_text(m + "/item_weights.npy");
  bytes[bytes.size() - 3] ^= 0x40;
  write_text(m + "/item_weights.npy", bytes);
  const auto r = score_with(m, dir() + "/x.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("checksum mismatch"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir() + "/x.csv"));
}

TEST_F(ModelCli, ATruncatedFileIsRefused) {
  const std::string m = copy_model("truncated");
  const std::string bytes = read_text(m + "/item_weights.npy");
  write_text(m + "/item_weights.npy", bytes.substr(0, bytes.size() / 2));
  const auto r = score_with(m, dir() + "/x.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
}

TEST_F(ModelCli, ANewerFormatIsRefused) {
  const std::string m = copy_model("newer");
  nlohmann::json j = manifest(m);
  j["format_version"] = 99;
  write_text(m + "/manifest.json", j.dump());
  const auto r = score_with(m, dir() + "/x.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("newer"), std::string::npos) << r.out;
}

TEST_F(ModelCli, AnotherCataloguesModelIsRefused) {
  const auto r = run_marquee("score --catalog " + dir() + "/other/catalog --events " + dir() +
                             "/other/events.csv --model-dir " + dir() + "/ease -k 5 --out " + dir() + "/x.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("another catalogue"), std::string::npos) << r.out;
}

TEST_F(ModelCli, AMissingOrMalformedFolderIsRefused) {
  fs::create_directories(dir() + "/empty");
  auto r = score_with(dir() + "/empty", dir() + "/x.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("no manifest.json"), std::string::npos) << r.out;
  const std::string m = copy_model("garbled");
  write_text(m + "/manifest.json", "{\"format\": \"marquee-model\", \"format_version\": ");
  r = score_with(m, dir() + "/x.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  fs::remove(copy_model("nofile") + "/item_weights.npy");
  r = score_with(dir() + "/nofile", dir() + "/x.csv");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("missing item_weights.npy"), std::string::npos) << r.out;
}

TEST_F(ModelCli, AutoSearchesEveryFamilyAndBeatsTags) {
  const auto t = run_marquee("train --catalog " + catalog() + " --events " + events() +
                             " --time-budget 20 --out " + dir() + "/auto");
  ASSERT_EQ(t.exit_code, 0) << t.out;
  const nlohmann::json m = manifest(dir() + "/auto");
  std::set<std::string> families;
  double tags = -1, chosen = m["validation"]["chosen_metrics"]["ndcg10"].get<double>();
  for (const auto& trial : m["validation"]["trials"]) {
    families.insert(trial["family"].get<std::string>());
    if (trial["family"] == "tags") tags = trial["metrics"]["ndcg10"].get<double>();
    EXPECT_LE(trial["metrics"]["ndcg10"].get<double>(), chosen) << trial["model"];  // the best one was chosen
  }
  EXPECT_EQ(families, (std::set<std::string>{"tags", "ease", "behaviour", "hybrid"}));
  EXPECT_GT(chosen, tags);
  EXPECT_NE(t.out.find("NDCG@10"), std::string::npos) << t.out;  // the validation table
  // score without --model-dir runs the same search in memory.
  const auto s = run_marquee("score --catalog " + catalog() + " --events " + events() +
                             " --time-budget 5 -k 5 --backend cpu --out " + dir() + "/auto.csv");
  ASSERT_EQ(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("the best of `marquee train`'s search"), std::string::npos) << s.out;
}

TEST_F(ModelCli, BadTrainArgumentsAreUsageErrors) {
  auto r = run_marquee("train --catalog " + catalog() + " --events " + events() + " --model magic --out " + dir() + "/m");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = run_marquee("train --catalog " + catalog() + " --events " + events() + " --time-budget -1 --out " + dir() + "/m");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = run_marquee("score --catalog " + catalog() + " --events " + events() + " --model-dir " + dir() +
                  "/ease --model ease -k 3 --out " + dir() + "/m.csv");
  EXPECT_EQ(r.exit_code, 2) << r.out;  // --model and --model-dir exclude each other
  EXPECT_FALSE(fs::exists(dir() + "/m"));
}

TEST_F(ModelCli, SimilarWithTheModelRanksByItsTitleVectors) {
  // EASE's similarity: cosine of the item-weight columns; the tag ranking differs from it.
  const auto tags = run_marquee("similar --catalog " + catalog() + " --title t000003 -k 10 --out " + dir() + "/st.csv");
  const auto ease = run_marquee("similar --catalog " + catalog() + " --title t000003 -k 10 --model-dir " + dir() +
                                "/ease --out " + dir() + "/se.csv");
  ASSERT_EQ(tags.exit_code, 0) << tags.out;
  ASSERT_EQ(ease.exit_code, 0) << ease.out;
  EXPECT_EQ(lines(read_text(dir() + "/se.csv")).size(), lines(read_text(dir() + "/st.csv")).size());
  EXPECT_NE(read_text(dir() + "/se.csv"), read_text(dir() + "/st.csv"));
  EXPECT_EQ(read_text(dir() + "/se.csv").find(",t000003,"), std::string::npos);  // never the title itself
}

TEST_F(ModelCli, DaypartFitsForTheSavedModelsScoresAndScoreChecksItIsThatModel) {
  const std::string dp = dir() + "/daypart_ease.json";
  const auto fit = run_marquee("daypart --catalog " + catalog() + " --events " + events() + " --model-dir " + dir() +
                               "/ease --backend cpu --out " + dp);
  ASSERT_EQ(fit.exit_code, 0) << fit.out;
  EXPECT_NE(fit.out.find("re-ranking the ease model " + manifest(dir() + "/ease")["version"].get<std::string>()),
            std::string::npos)
      << fit.out;
  EXPECT_EQ(nlohmann::json::parse(read_text(dp))["model"], "ease");
  const std::string base = "score --catalog " + catalog() + " --events " + events() + " -k 5 --backend cpu --hour 21 --daypart " + dp;
  const auto with_model = run_marquee(base + " --model-dir " + dir() + "/ease --out " + dir() + "/dp_a.csv");
  EXPECT_EQ(with_model.exit_code, 0) << with_model.out;
  const auto other = run_marquee(base + " --model tags --out " + dir() + "/dp_b.csv");
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.out.find("fitted for other scores"), std::string::npos) << other.out;
}

TEST_F(ModelCli, ProjectWithASavedBehaviourModelFitsNoAlsAndRefusesAModelWithoutFactors) {
  const std::string beh = behaviour_model();
  const std::string base = "project --catalog " + catalog() + " --events " + events() +
                           " --title t000005 --as-new --backend cpu --calibration-titles 16 --out " + dir();
  const auto p = run_marquee(base + "/p_model.json --model-dir " + beh);
  ASSERT_EQ(p.exit_code, 0) << p.out;
  EXPECT_NE(p.out.find("(no ALS fit)"), std::string::npos) << p.out;
  const nlohmann::json j = nlohmann::json::parse(read_text(dir() + "/p_model.json"));
  EXPECT_EQ(j["model_version"], manifest(beh)["version"]);
  EXPECT_EQ(j["space"], "hybrid");
  EXPECT_NE(j["calibration"]["features"].get<std::string>().find("behaviour"), std::string::npos);
  const double size = j["titles"][0]["audience"]["expected"].get<double>();
  EXPECT_GT(size, 0.0);
  EXPECT_LT(size, 400.0);

  const auto ease = run_marquee(base + "/p_ease.json --model-dir " + dir() + "/ease");
  EXPECT_EQ(ease.exit_code, 2) << ease.out;
  EXPECT_NE(ease.out.find("the ease model has no behaviour factors"), std::string::npos) << ease.out;
  EXPECT_FALSE(fs::exists(dir() + "/p_ease.json"));
}

TEST_F(ModelCli, EvalProjectionWithASavedModelFoldsUsersInAndRecordsTheVersion) {
  const std::string beh = behaviour_model();
  const std::string base = "eval-projection --catalog " + catalog() + " --events " + events() +
                           " --titles 3 --min-viewers 10 --calibration-titles 16 --backend cpu";
  const auto r = run_marquee(base + " --model-dir " + beh + " --out " + dir() + "/evp.json --progress");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("(no ALS fit)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("eval-projection: 3 titles in "), std::string::npos) << r.out;  // progress, --progress asked
  const nlohmann::json j = nlohmann::json::parse(read_text(dir() + "/evp.json"));
  EXPECT_EQ(j["model_version"], manifest(beh)["version"]);
  std::set<std::string> models;
  for (const auto& m : j["summary"]) {
    models.insert(m["model"].get<std::string>());
    const double auc = m["mean_auc"].get<double>();
    EXPECT_GT(auc, 0.5) << m.dump();  // every model tells viewers from non-viewers better than chance
    EXPECT_LE(auc, 1.0) << m.dump();
  }
  EXPECT_EQ(models.count("projection-hybrid"), 1u);
  EXPECT_EQ(j["rows"].size(), 3u);

  const auto tags_only = run_marquee(base + " --space tags --model-dir " + beh);
  EXPECT_EQ(tags_only.exit_code, 2) << tags_only.out;
  EXPECT_NE(tags_only.out.find("--model-dir is used by the hybrid space"), std::string::npos) << tags_only.out;
  const auto ease = run_marquee(base + " --model-dir " + dir() + "/ease");
  EXPECT_EQ(ease.exit_code, 2) << ease.out;
  EXPECT_NE(ease.out.find("the ease model has no behaviour factors"), std::string::npos) << ease.out;
}

TEST_F(ModelCli, ExplainWithTheModelGivesTheRankScoreRankedIt) {
  ASSERT_EQ(score_with(dir() + "/ease", dir() + "/explain_recs.csv").exit_code, 0);
  // The first data row: some user's rank-1 title.
  const std::string text = read_text(dir() + "/explain_recs.csv");
  const size_t line2 = text.find('\n') + 1;
  const std::string row = text.substr(line2, text.find('\n', line2) - line2);
  const auto f = split(row, ',');  // user_id,rank,title_id,score
  ASSERT_EQ(f[1], "1") << row;
  const auto r = run_marquee("explain --catalog " + catalog() + " --events " + events() + " --user " + f[0] +
                             " --title " + f[2] + " --model-dir " + dir() + "/ease --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["model"]["rank"], 1);
  EXPECT_EQ(j["model"]["version"], manifest(dir() + "/ease")["version"]);
  EXPECT_NEAR(j["model"]["score"].get<double>(), std::stod(f[3]), 1e-5);
  const auto plain = run_marquee("explain --catalog " + catalog() + " --events " + events() + " --user " + f[0] +
                                 " --title " + f[2] + " --model-dir " + dir() + "/ease");
  EXPECT_NE(plain.out.find("rank 1 of the"), std::string::npos) << plain.out;
}
