// host/engine/pass.hpp: the library's one route to gradients: a forward pass kept
// for its backward pass (detail::Pass, host/engine/backend.hpp), on the CPU (the
// reference's layer outputs, cpu::ForwardCache) or on the GPU (the CUDA
// backend's plan workspace). backward(), loss_and_grads on the GPU,
// classify_step and seq2seq_step all take it, so no forward pass runs twice.
#pragma once

#include <memory>
#include <vector>

#include "engine/backend.hpp"
#include "rnn/forward.hpp"

namespace rnn::detail {

// Validates the inputs (as rnn::forward) and runs the forward pass on
// options.device, keeping what the backward pass needs. Callers pass the
// device they resolved (Cpu or Cuda: no second device query); Auto is
// resolved here. x, h0 and lengths must outlive the Pass.
std::unique_ptr<Pass> forward_for_backward(const Model& model, const Tensor& x, const Tensor* h0,
                                           const std::vector<int64_t>* lengths, const ForwardOptions& options);

}  // namespace rnn::detail
