// host/cpu/reference.hpp: the CPU reference forward pass (the oracle).
#pragma once

#include <cstdint>

#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn::cpu {

// x [T, B, I] time-major -> y [T, B, D*H], h_n [L*D, B, H].
// h0 [L*D, B, H] or null (zeros); lengths [B] or null (all T), each in [1, T].
// Inputs are assumed validated (host/forward.cpp does it). y and h_n are
// (re)allocated here.
void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Tensor& y, Tensor& h_n);

}  // namespace rnn::cpu
