// rnn/backward.hpp: gradients of the forward pass (backpropagation through
// time), exactly what torch.autograd.backward([y, h_n], [dy, dh_n]) gives.
//
// Shapes as in rnn/forward.hpp, plus:
//   dy     like y: [T, B, D*H] ([B, T, D*H] batch-first); ignored at padded positions
//   dh_n   like h_n: [L*D, B, H], optional (zeros)
//   dx     like x;  dh0 like h0 (returned whether or not h0 was given)
//   grads  a Model with the RNN's config (no head) whose weights are dL/dW,
//          so save_model() writes them under the parameters' own names
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/forward.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn {

struct BackwardResult {
  Tensor y;      // the forward outputs it recomputed
  Tensor h_n;
  Tensor dx;
  Tensor dh0;
  Model grads;
  Device device = Device::Cpu;
};

// Runs the forward pass and backpropagates dy (and dh_n) through it, on the
// device options.device resolves to (the CUDA backward uses options.kernel).
// Throws rnn::Error like forward(), and with subject "dy" or "dh_n" when
// those have the wrong shape.
BackwardResult backward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                        const Tensor& dy, const Tensor* dh_n = nullptr, const ForwardOptions& options = {});

}  // namespace rnn
