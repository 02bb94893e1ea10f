// bench/gpu_util.hpp: what the runner's GPU half (bench/gpu.cpp,
// bench/cudnn_rnn.cpp) shares: CUDA errors as rnn::Error, an owning device
// buffer. CUDA builds only.
#pragma once

#include <cuda_runtime.h>

#include <string>
#include <utility>

#include "rnn/error.hpp"

namespace rnn::bench::detail {

inline void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error("cuda", std::string(what) + ": " + cudaGetErrorString(e));
  }
}
#define BENCH_CUDA(call) ::rnn::bench::detail::cuda_check((call), #call)

// An owning device buffer.
class Buf {
 public:
  Buf() = default;
  explicit Buf(size_t bytes) : bytes_(bytes) {
    if (bytes) BENCH_CUDA(cudaMalloc(&p_, bytes));
  }
  ~Buf() {
    if (p_) cudaFree(p_);
  }
  Buf(Buf&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  Buf& operator=(Buf&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  Buf(const Buf&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace rnn::bench::detail
