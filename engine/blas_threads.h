// OpenBLAS runs its own thread pool. Inside our OpenMP loops (one small system per row) a BLAS call
// that decides to go parallel makes both pools fight over the cores: at 128 ALS factors that turned a
// 25 s training into minutes. SingleThreadedBlas pins BLAS to the calling thread for a scope.
#pragma once

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace marquee {

class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : previous_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
  ~SingleThreadedBlas() { openblas_set_num_threads(previous_); }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_;
};

}  // namespace marquee
