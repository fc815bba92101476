// MARQUEE_HD marks a function that runs on both the host and the device: `__host__ __device__` when
// nvcc compiles the translation unit, nothing for the host compiler. Used for rules that CPU and GPU
// code must share (engine/engagement_rules.h), so there is one definition, not two copies to keep
// in step.
#pragma once

#if defined(__CUDACC__)
#define MARQUEE_HD __host__ __device__
#else
#define MARQUEE_HD
#endif
