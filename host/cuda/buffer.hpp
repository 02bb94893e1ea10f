// host/cuda/buffer.hpp: an owning device allocation (cudaMalloc / cudaFree).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "check.hpp"
#include "rnn/error.hpp"
#include "rnn/limits.hpp"

namespace rnn::cuda_detail {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // Refuses (rnn::Error "cuda") an allocation larger than the device's free
  // memory before trying it; a cudaMalloc failure is an rnn::Error too.
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
    size_t free_bytes = 0, total_bytes = 0;
    RNN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (bytes > free_bytes)
      throw Error("cuda", "a device buffer of " + byte_string(bytes) + " does not fit: the GPU has " +
                              byte_string(free_bytes) + " free of " + byte_string(total_bytes));
    RNN_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (ptr_) cudaFree(ptr_);
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const noexcept { return ptr_; }
  template <class T>
  T* as() const noexcept {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const noexcept { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace rnn::cuda_detail
