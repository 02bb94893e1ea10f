// host/cpu/reference.hpp: the CPU reference forward pass (the oracle).
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn::cpu {

// What backward() needs of a forward pass: every layer's output sequence,
// in double, [T, B, D*H] each (0 at padded positions).
struct ForwardCache {
  std::vector<std::vector<double>> outputs;  // one per layer
};

// x [T, B, I] time-major -> y [T, B, D*H], h_n [L*D, B, H].
// h0 [L*D, B, H] or null (zeros); lengths [B] or null (all T), each in [1, T].
// Inputs are assumed validated (host/api/forward.cpp does it). y and h_n are
// (re)allocated here. With `cache`, the layer outputs are kept there.
void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Tensor& y, Tensor& h_n,
             ForwardCache* cache = nullptr);

// Backpropagation through time for the forward pass that filled `cache`
// (same model, x, h0, lengths). dy [T, B, D*H] (ignored at padded
// positions), dh_n [L*D, B, H] or null (zeros). Produces dx [T, B, I],
// dh0 [L*D, B, H] and `grads` (a Model of the same config whose weights are
// dL/dW; allocated here), all accumulated in double.
void backward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths,
              const ForwardCache& cache, const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads);

}  // namespace rnn::cpu
