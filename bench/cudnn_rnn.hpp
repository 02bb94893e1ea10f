// bench/cudnn_rnn.hpp: one cuDNN RNN configuration for the runner's GPU half
// (bench/gpu.cpp): cudnnRNNForward (RNN_TANH, double bias, inference,
// padded sequence-major I/O) on our model's weights. CUDA builds with cuDNN only.
#pragma once

#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench.hpp"
#include "gpu_util.hpp"
#include "rnn/model.hpp"

namespace rnn::bench::detail {

// One cuDNN RNN configuration, set up on our model's weights.
class CudnnRnn {
 public:
  CudnnRnn() = default;
  CudnnRnn(const CudnnRnn&) = delete;
  CudnnRnn& operator=(const CudnnRnn&) = delete;
  ~CudnnRnn();

  // "" when cuDNN accepts the configuration, else why not.
  std::string setup(const Shape& s, const Model& m, const std::vector<int32_t>& lengths, const int32_t* d_lengths,
                    cudnnRNNAlgo_t algo, cudnnMathType_t math, cudaStream_t stream);

  // "" on success, else cuDNN's error.
  std::string forward(const float* x, float* y);

 private:
  // The handle and the RNN, x, y and h descriptors for s_: "" or why not.
  std::string describe(const std::vector<int32_t>& lengths, cudnnRNNAlgo_t algo, cudnnMathType_t math,
                       cudaStream_t stream);
  // The weight space, with `m`'s matrices and biases copied in: "" or why not.
  std::string load_weights(const Model& m);

  Shape s_;
  const int32_t* d_lengths_ = nullptr;
  cudnnHandle_t handle_ = nullptr;
  cudnnDropoutDescriptor_t dropout_ = nullptr;
  cudnnRNNDescriptor_t rnn_ = nullptr;
  cudnnRNNDataDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnTensorDescriptor_t h_desc_ = nullptr, w_desc_ = nullptr, b_desc_ = nullptr;
  size_t weight_bytes_ = 0, work_bytes_ = 0, reserve_bytes_ = 0;
  Buf weights_, work_, reserve_;
};

}  // namespace rnn::bench::detail
