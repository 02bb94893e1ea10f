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

// host/cuda/learner.cpp: the engine's learners on the GPU.
std::unique_ptr<Learner> cuda_learner(const Model& model, const LearnOptions& options);
std::unique_ptr<PairLearner> cuda_pair_learner(const Seq2SeqModel& model, const LearnOptions& options);

// host/cuda/generate.cpp: generation through cuda::Stepper.
std::vector<int64_t> cuda_generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                                   double temperature, uint64_t seed);

}  // namespace rnn::detail
