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

// The head's backward pass (logits = y W^T + b, apply_head()): y [..., D*H]
// and dlogits [..., O] (the same leading dimensions). Writes dW = dlogits^T y
// and db = the sum of dlogits into grads.head() (grads shaped like the
// model, e.g. Model(model.config())) and returns dy = dlogits W, y's shape:
// the dy to give backward(). Throws rnn::Error("model") without a head,
// ("y"), ("dlogits") or ("grads") on a shape mismatch.
Tensor head_backward(const Model& model, const Tensor& y, const Tensor& dlogits, Model& grads);

// The embedding's gradient (Model::embedding, [V, I]) from dx (the
// gradient of embed()'s output, [..., I]) and the token ids embed() read:
// row v is the sum of dx's rows whose token is v (PyTorch's dense
// nn.Embedding gradient). Throws rnn::Error("model") without an embedding,
// ("dx") or ("ids") on a size mismatch or an id outside [0, V).
Tensor embedding_grad(const Model& model, const std::vector<int64_t>& ids, const Tensor& dx);

}  // namespace rnn
