// host/engine/backend.hpp: the GPU as the library's CPU core sees it.
//
// The core (target rnn_core, rnn::core) has no CUDA in it. The CUDA
// component (target rnn_cuda, rnn::cuda: host/cuda/, kernels/) implements
// CudaBackend and hands it out through the C function
// rnn_cuda_backend_v1(), which the core references weakly: a program that
// links rnn::cuda (rnn::rnn does, forcing the symbol in with
// --undefined=rnn_cuda_backend_v1) gets the GPU; one that links only
// rnn::core has no CUDA code and no libcudart, and cuda_backend() is null.
// Inputs reaching the backend are validated by the core.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/learner.hpp"
#include "rnn/device.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn::detail {

// A forward pass that keeps what its backward pass needs, for a caller that
// computes dy from y in between: y and h_n are ready when it is made;
// backward() (once) runs the backward pass without running the forward pass
// again. The CPU's is host/engine/pass.cpp's; the GPU's comes from the backend.
class Pass {
 public:
  virtual ~Pass() = default;
  virtual Tensor& y() = 0;    // in x's layout; y and h_n may be moved from (backward() keeps their shapes)
  virtual Tensor& h_n() = 0;  // [L*D, B, H]
  // dy like y, dh_n like h_n (or null: zeros); grads gets the RNN's config
  // without a head. Throws rnn::Error("args", ...) when called twice.
  virtual void backward(const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) = 0;
  // The caller needs no dx (an input that takes no gradient): a backend may
  // then leave dx empty and skip its product.
  void set_dx_wanted(bool wanted) noexcept { dx_wanted_ = wanted; }

 protected:
  bool dx_wanted_ = true;
};

class CudaBackend {
 public:
  virtual ~CudaBackend() = default;
  // Number of usable CUDA devices; on 0, *why says why (no driver, no device).
  virtual int device_count(std::string* why) const noexcept = 0;
  // The forward pass on the current device: x in its own layout, y in the same.
  virtual void forward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                       bool batch_first, Kernel kernel, Tensor& y, Tensor& h_n) const = 0;
  virtual std::unique_ptr<Pass> forward_for_backward(const Model& model, const Tensor& x, const Tensor* h0,
                                                     const std::vector<int64_t>* lengths, bool batch_first,
                                                     Kernel kernel) const = 0;
  // The engine's learners on the GPU (host/engine/learner.hpp): the model,
  // its gradients and optimizer state on the device for the learner's life.
  virtual std::unique_ptr<Learner> learner(const Model& model, const LearnOptions& options) const = 0;
  virtual std::unique_ptr<PairLearner> pair_learner(const Seq2SeqModel& model, const LearnOptions& options) const = 0;
  // rnn::generate's GPU half (cuda::Stepper), arguments validated.
  virtual std::vector<int64_t> generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                                        double temperature, uint64_t seed) const = 0;
};

// The CUDA component's backend, or null when the program does not link it.
const CudaBackend* cuda_backend() noexcept;
// cuda_backend(), or rnn::Error("device", ...) when absent (callers reach
// it only after resolve_device() chose the GPU, which needs it).
const CudaBackend& gpu();

}  // namespace rnn::detail

// Defined by the CUDA component (host/cuda/backend.cpp); weak in the core.
extern "C" const rnn::detail::CudaBackend* rnn_cuda_backend_v1() noexcept;
