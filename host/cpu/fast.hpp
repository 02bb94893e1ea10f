// host/cpu/fast.hpp: the fast CPU backend (Device::Cpu): float32, BLAS.
//
// The CPU counterpart of the GPU design: per layer, one SGEMM projects the
// inputs of every step for both directions at once (P = X [W_ih_fwd;
// W_ih_rev]^T + b_ih + b_hh); then the recurrence, one small GEMM (a GEMV at
// B = 1) per step and direction with W_hh hot in cache, the activation
// fused in place. With lengths, sequences are taken in decreasing length
// (a stable permutation, undone at the end), so the sequences active at a
// step are a prefix of the batch and padded steps are never computed.
// Results depend on the BLAS and its thread count; they are checked
// against the double reference (host/cpu/reference.hpp) at a relative
// error below 1e-5.
#pragma once

#include <cstdint>

#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn::cpu::fast {

// As cpu::forward (reference.hpp): x [T, B, I] time-major -> y [T, B, D*H],
// h_n [L*D, B, H]; h0 or null; lengths [B] or null. Inputs validated.
void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Tensor& y, Tensor& h_n);

// tanh in float over n values in place: a rational approximation (odd
// degree-13 over even degree-6 polynomial, inputs clamped to +-7.9), within
// a few float ulps of std::tanh, written so the compiler vectorises it.
void tanh_inplace(float* v, int64_t n) noexcept;

// The threads the BLAS uses (RNN_NUM_THREADS, else the cores this process
// may run on); set on the first call of forward().
int threads() noexcept;

}  // namespace rnn::cpu::fast
