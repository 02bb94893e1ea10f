// host/backend.hpp: what the host side knows of the CUDA backend.
//
// host/device.cpp is compiled in every build; cuda_runtime_device_count is
// implemented by host/cuda/runtime.cpp when CUDA is enabled, and by a
// CPU-only stub at the end of host/device.cpp otherwise; cuda_forward
// exists only in CUDA builds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnn/device.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn::detail {

// Number of usable CUDA devices; on 0, *why says why (no driver, no device).
int cuda_runtime_device_count(std::string* why) noexcept;

#ifdef RNN_HAVE_CUDA
// The forward pass on the current CUDA device for validated host inputs
// (host/cuda/forward.cpp): x in its own layout, y in the same layout.
void cuda_forward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                  bool batch_first, Kernel kernel, Tensor& y, Tensor& h_n);
// The forward pass on the current CUDA device keeping what its backward
// pass needs (host/cuda/forward.cpp), for a caller that computes dy from y
// in between: the constructor runs the forward pass and downloads y and
// h_n; backward() (once) runs the backward pass without running the
// forward pass again. Inputs validated by the caller.
class CudaBackwardPass {
 public:
  CudaBackwardPass(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                   bool batch_first, Kernel kernel);
  ~CudaBackwardPass();
  CudaBackwardPass(const CudaBackwardPass&) = delete;
  CudaBackwardPass& operator=(const CudaBackwardPass&) = delete;
  Tensor& y();    // in x's layout; y and h_n may be moved from (backward() keeps their shapes)
  Tensor& h_n();  // [L*D, B, H]
  // dy like y, dh_n like h_n (or null: zeros); grads gets the RNN's config
  // without a head. Throws rnn::Error("args", ...) when called twice.
  void backward(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads);

 private:
  struct State;
  std::unique_ptr<State> s_;
};
// rnn::ChunkTrainer's GPU half (host/cuda/session.cpp): a cuda::Trainer and
// the device buffers of x and the carried state (two, used in turn).
class CudaChunkTrainer {
 public:
  CudaChunkTrainer(const Model& model, const OptimizerOptions& optimizer, double clip, int64_t max_steps,
                   int64_t max_batch);
  ~CudaChunkTrainer();
  CudaChunkTrainer(const CudaChunkTrainer&) = delete;
  CudaChunkTrainer& operator=(const CudaChunkTrainer&) = delete;
  double step(const Tensor& x, const std::vector<int64_t>& targets, bool fresh);
  Model model() const;  // weights only (no vocab or metadata)

 private:
  struct State;
  std::unique_ptr<State> s_;
};
// rnn::generate on the current CUDA device (host/cuda/session.cpp), its
// arguments validated by the caller.
std::vector<int64_t> cuda_generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                                   double temperature, uint64_t seed);
// The forward and backward passes on the current CUDA device
// (host/cuda/forward.cpp); grads gets the RNN's config without a head.
void cuda_backward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                   bool batch_first, Kernel kernel, const Tensor& dy, const Tensor* dh_n, Tensor& y, Tensor& h_n,
                   Tensor& dx, Tensor& dh0, Model& grads);
#endif

}  // namespace rnn::detail
