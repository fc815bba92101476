// RAII cuBLAS handle and the check macro for cuBLAS calls.
#pragma once

#include "engine/error.h"

#include <cublas_v2.h>

#define MARQUEE_CUBLAS_CHECK(call)                                                                   \
  do {                                                                                               \
    const cublasStatus_t marquee_st_ = (call);                                                       \
    if (marquee_st_ != CUBLAS_STATUS_SUCCESS)                                                        \
      MARQUEE_THROW_AS(::marquee::BackendError, "{} failed: {}", #call, cublasGetStatusString(marquee_st_)); \
  } while (0)

namespace marquee::cuda {

class CublasHandle {
 public:
  CublasHandle() { MARQUEE_CUBLAS_CHECK(cublasCreate(&handle_)); }
  ~CublasHandle() {
    if (handle_) cublasDestroy(handle_);
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

}  // namespace marquee::cuda
