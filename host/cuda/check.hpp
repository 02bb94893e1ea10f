// host/cuda/check.hpp: every CUDA and cuBLAS call of the host side goes
// through these; a failure becomes rnn::Error("cuda", "<call> failed at
// <file>:<line>: <error string>"). With RNN_DEBUG_SYNC defined, launches are
// followed by a device synchronisation so an asynchronous fault is reported
// at the launch that caused it.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "rnn/error.hpp"

namespace rnn::cuda_detail {

[[noreturn]] inline void fail(const char* call, const char* file, int line, const std::string& what) {
  throw Error("cuda", std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + what);
}

inline void check(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess) {
    cudaGetLastError();  // reset the thread's last error so it is not reported again later
    fail(call, file, line, cudaGetErrorString(err));
  }
}

inline void check(cublasStatus_t st, const char* call, const char* file, int line) {
  if (st != CUBLAS_STATUS_SUCCESS) fail(call, file, line, cublasGetStatusString(st));
}

}  // namespace rnn::cuda_detail

#define RNN_CUDA_CHECK(call) ::rnn::cuda_detail::check((call), #call, __FILE__, __LINE__)

#ifdef RNN_DEBUG_SYNC
#define RNN_LAUNCH_CHECK(call)                                    \
  do {                                                            \
    RNN_CUDA_CHECK(call);                                         \
    RNN_CUDA_CHECK(cudaDeviceSynchronize());                      \
  } while (0)
#else
#define RNN_LAUNCH_CHECK(call) RNN_CUDA_CHECK(call)
#endif
