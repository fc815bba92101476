// The main() of the Google Benchmark binaries: BENCHMARK_MAIN, after choosing OpenBLAS's kernels as
// the CLI does (engine/blas_cores.h), named in the report's context.
#pragma once

#include "engine/blas_cores.h"

#include <benchmark/benchmark.h>

#define MARQUEE_BENCHMARK_MAIN()                                                  \
  int main(int argc, char** argv) {                                              \
    const marquee::BlasCores blas = marquee::tune_blas_cores();                  \
    benchmark::AddCustomContext("openblas_kernels", blas.after);                 \
    benchmark::Initialize(&argc, argv);                                          \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;            \
    benchmark::RunSpecifiedBenchmarks();                                         \
    benchmark::Shutdown();                                                       \
    return 0;                                                                    \
  }
