// host/cpu/fast.hpp: the fast CPU backend (Device::Cpu): float32, BLAS.
//
// The CPU counterpart of the GPU design. Forward: per layer, one SGEMM
// projects the inputs of every step for both directions at once (P = X
// [W_ih_fwd; W_ih_rev]^T + b_ih + b_hh); then the recurrence, one small GEMM
// (a GEMV at B = 1; both on our packed kernel up to 64 rows) per step and direction with W_hh hot in cache, the
// activation fused in place. With lengths, sequences are taken in
// decreasing length (a stable permutation, undone at the end), so the
// sequences active at a step are a prefix of the batch and padded steps are
// never computed. Backward: per layer and direction, the step dz = (dy +
// dh) * act'(h), dh = dz W_hh (the same small GEMM), then one SGEMM each for
// dW_ih, dW_hh and dx over all steps. Results depend on the BLAS and its
// thread count; they are checked against the double reference
// (host/cpu/reference.hpp) at a relative error below 1e-5.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/fast_kernels.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn::cpu::fast {

// A forward pass kept for its backward pass. Rows are in the pass's order
// (decreasing length; the caller's order when it had no lengths).
struct Cache {
  int64_t T = 0, B = 0;
  std::vector<int64_t> order;   // row r is the caller's sequence order[r]
  std::vector<int64_t> len;     // length of row r
  std::vector<int64_t> active;  // [T]: rows 0..active[t) run at step t
  bool permuted = false;        // order is not the identity
  std::vector<float> input;     // layer 0's input [T, B, I] in row order, 0 where padded; only when
                                // permuted or padded
  std::vector<std::vector<float>> outputs;  // every layer's output [T, B, D*H] in row order, 0 when padded
  std::vector<float> state0;    // h0 [L*D, B, H] in row order; empty: zeros
  // When every row of layer 0's input holds at most one nonzero, a 1 (a
  // one-hot character, say), its index per row (-1: none): the input
  // projection is then a copy of W_ih's columns and dW_ih a sum of dz rows.
  bool one_hot = false;
  std::vector<int32_t> hot;
  // dL/dy of the top layer [T, B, D*H] in row order: head_loss() writes it,
  // backward() consumes it.
  std::vector<float> dtop;
  // Working buffers, kept so that a Cache reused from step to step
  // allocates nothing after the first.
  std::vector<float> din, logits, carry, w_t, w_stack, first, hot_grad;
  Packed packed;  // W_hh (forward) or W_hh^T (backward) for the step kernel
  // The memory of the last pass's output() (host/engine/pass.cpp's FastPass
  // hands it back), for the next.
  std::vector<float> spare_output;
};

// As cpu::forward (reference.hpp): x [T, B, I] time-major -> y [T, B, D*H],
// h_n [L*D, B, H]; h0 or null; lengths [B] or null. Inputs validated.
void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Tensor& y, Tensor& h_n);

// The forward pass keeping every layer's output in `cache` (y is
// cache.outputs.back(), in row order; output() gives it in the caller's).
// A cache reused from a previous pass keeps its buffers' memory.
void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Cache& cache,
             Tensor& h_n);
// The top layer's output [T, B, D*H] in the caller's order, in `storage`'s
// memory when it is given (a buffer kept from an earlier pass, say).
Tensor output(const Cache& cache, std::vector<float> storage = {});

// The bytes a cache's buffers hold (their capacity): a cache kept from pass
// to pass is dropped when this grows past what is worth keeping.
size_t capacity_bytes(const Cache& cache);
// What a cache kept from pass to pass may hold; above, it is dropped.
constexpr size_t kKeptBytes = size_t{64} << 20;

// The backward pass of the forward pass that filled `cache` (same model and
// x), from cache.dtop (dL/dy in row order; consumed, padded rows ignored);
// dh_n [L*D, B, H] (caller's order) or null. Produces dh0 [L*D, B, H], the
// RNN's gradients in grads.cell(l, d) (grads is made a Model of the config
// without a head unless its cells already have the model's shapes: then
// they are overwritten, its head left alone) and, when dx is not null,
// dL/dx [T, B, I].
void backward(const Model& model, const Tensor& x, Cache& cache, const Tensor* dh_n, Tensor* dx, Tensor& dh0,
              Model& grads);
// The same from dy [T, B, D*H] in the caller's order.
void backward(const Model& model, const Tensor& x, Cache& cache, const Tensor& dy, const Tensor* dh_n, Tensor* dx,
              Tensor& dh0, Model& grads);

// tanh in float over n values in place: a rational approximation (odd
// degree-13 over even degree-6 polynomial, inputs clamped to +-7.9), within
// a few float ulps of std::tanh, written so the compiler vectorises it.
void tanh_inplace(float* v, int64_t n) noexcept;

// The threads of the backend's team (RNN_NUM_THREADS, else the cores this
// process may run on, unless set_threads() chose); fixed by the first pass.
int threads() noexcept;
// Chooses the thread count before the first pass; afterwards true only when
// n is the count already in use. False for n < 1.
bool set_threads(int n) noexcept;

}  // namespace rnn::cpu::fast

namespace rnn::cpu::fast {

// The head and softmax cross-entropy over a kept forward pass: logits =
// top W^T + b for every row of the top layer's output, the mean NLL over
// the rows whose target (time-major [T*B], the caller's order, -1 ignored)
// is counted, the head's gradients into grads.head() (shaped like the
// model's), and dL/dy into cache.dtop, for backward(). The loss is summed
// in double; a row's softmax in float. Targets are validated by the caller.
struct HeadLoss {
  double loss = 0.0;
  int64_t count = 0;
};
HeadLoss head_loss(const Model& model, Cache& cache, const std::vector<int64_t>& targets, Model& grads);

}  // namespace rnn::cpu::fast
