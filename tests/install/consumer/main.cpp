// Top-K over a hand-made 4-title matrix with the installed engine's CPU scorer and TopKSelector.
#include "engine/scorer.h"
#include "engine/title_matrix.h"
#include "engine/topk.h"

#include <cstdio>
#include <vector>

int main() {
  using namespace marquee;
  // t0 = x, t1 = y, t2 = 0.6x + 0.8y, t3 = z.
  const TitleMatrix titles = TitleMatrix::from_rows(4, 3, {1, 0, 0, 0, 1, 0, 0.6f, 0.8f, 0, 0, 0, 1});
  auto scorer = make_cpu_scorer(titles);
  // Two users, both 0.8x + 0.6y; the second one has already watched t2.
  const std::vector<float> users{0.8f, 0.6f, 0, 0.8f, 0.6f, 0};
  Exclusions seen;
  seen.offsets = {0, 0, 1};
  seen.titles = {2};
  TopKResult out;
  scorer->search(UserBatchView{2, 3, users.data(), &seen}, 3, out);
  std::printf("marquee %s\n", MARQUEE_PACKAGE_VERSION);
  for (size_t u = 0; u < 2; ++u) {
    std::printf("user %zu:", u);
    for (size_t i = 0; i < out.counts[u]; ++i)
      std::printf("%s t%u %.2f", i ? "," : "", out.titles[u * out.k + i], out.scores[u * out.k + i]);
    std::printf("\n");
  }
  TopKSelector selector(2);
  const float scores[] = {0.5f, 0.7f, 0.1f, 0.9f};
  selector.push_row(0, scores, 4);
  std::vector<ScoredTitle> best;
  selector.take_sorted(best);
  std::printf("selector: t%u %.2f, t%u %.2f\n", best[0].title, best[0].score, best[1].title, best[1].score);
  return 0;
}
