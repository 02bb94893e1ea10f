// host/cuda/gpu.hpp: the CUDA component's host-tensor entry points, behind
// the CudaBackend that host/cuda/backend.cpp hands to the core
// (host/engine/backend.hpp). Inputs validated by the core.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend.hpp"

namespace rnn::detail {

// host/cuda/runtime.cpp
int cuda_runtime_device_count(std::string* why) noexcept;

// host/cuda/forward.cpp: upload, one Plan run on a private stream, download.
void cuda_forward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                  bool batch_first, Kernel kernel, Tensor& y, Tensor& h_n);
class CudaBackwardPass final : public Pass {
 public:
  CudaBackwardPass(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                   bool batch_first, Kernel kernel);
  ~CudaBackwardPass() override;
  CudaBackwardPass(const CudaBackwardPass&) = delete;
  CudaBackwardPass& operator=(const CudaBackwardPass&) = delete;
  Tensor& y() override;
  Tensor& h_n() override;
  void backward(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) override;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// host/cuda/session.cpp: a cuda::Trainer with the device buffers of x and
// the carried state (two, used in turn); generation through cuda::Stepper.
class CudaChunkTrainer final : public GpuChunkTrainer {
 public:
  CudaChunkTrainer(const Model& model, const OptimizerOptions& optimizer, double clip, int64_t max_steps,
                   int64_t max_batch);
  ~CudaChunkTrainer() override;
  CudaChunkTrainer(const CudaChunkTrainer&) = delete;
  CudaChunkTrainer& operator=(const CudaChunkTrainer&) = delete;
  double step(const Tensor& x, const std::vector<int64_t>& targets, bool fresh) override;
  Model model() const override;

 private:
  struct State;
  std::unique_ptr<State> s_;
};
std::vector<int64_t> cuda_generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                                   double temperature, uint64_t seed);

}  // namespace rnn::detail
