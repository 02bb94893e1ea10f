// host/cuda/plan_backward.cpp: rnn::cuda::Plan's backward pass (plan.cpp is
// the forward pass and the plan's setup).
//
// Per layer, from the top: the previous states gathered (kernels/
// prev_states.cu), the backward recurrence (kernels/backward_*.cu) giving
// dhraw for every step, then cuBLAS: dW_ih and dW_hh (one strided-batched
// SGEMM each for both directions), the biases' gradients (a GEMV against
// ones), and the input gradient, the next layer's dout.
//
// Workspace (backward_workspace_size()): P, the outputs of layers 0 .. L-2
// (kept by the forward half), dhraw, the previous states, two gradient
// buffers of max(D*H, I) columns and a vector of ones.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "../../kernels/backward_persistent.cuh"
#include "../../kernels/backward_registers.cuh"
#include "../../kernels/backward_stepwise.cuh"
#include "../../kernels/fill.cuh"
#include "../../kernels/mask_padding.cuh"
#include "../../kernels/prev_states.cuh"
#include "plan_impl.hpp"

namespace rnn::cuda {

using namespace impl;

Plan::Impl::BackwardSpace Plan::Impl::backward_space(const RunArgs& a, void* workspace) const {
  // Workspace: P, the outputs of layers 0 .. L-2, dhraw, previous states,
  // two gradient buffers of max(D*H, I) columns, a vector of ones.
  const int L = static_cast<int>(config.num_layers);
  char* ws = static_cast<char*>(workspace);
  BackwardSpace sp;
  sp.layer_out.resize(static_cast<size_t>(L));
  for (int l = 0; l + 1 < L; ++l) sp.layer_out[l] = reinterpret_cast<float*>(ws + (1 + l) * rows_bytes);
  sp.layer_out[L - 1] = a.y;
  char* after = ws + static_cast<size_t>(L) * rows_bytes;
  sp.dr = reinterpret_cast<float*>(after);
  sp.prev = reinterpret_cast<float*>(after + rows_bytes);
  const size_t gbytes = align_up(static_cast<size_t>(options.max_steps * options.max_batch) * max_width() * 4);
  sp.gbuf[0] = reinterpret_cast<float*>(after + 2 * rows_bytes);
  sp.gbuf[1] = reinterpret_cast<float*>(after + 2 * rows_bytes + gbytes);
  sp.ones = reinterpret_cast<float*>(after + 2 * rows_bytes + 2 * gbytes);
  return sp;
}

void Plan::Impl::forward_keep(const RunArgs& a, void* workspace, cudaStream_t stream) {
  BackwardSpace sp = backward_space(a, workspace);
  enqueue(a, workspace, stream, sp.layer_out.data());
}

namespace {

// Layer l's backward recurrence: its parameters, dout being dL/d(its outputs).
kernels::BackwardParams layer_params(const Plan::Impl& m, int l, const RunArgs& a, const BackwardArgs& g,
                                     const Plan::Impl::BackwardSpace& sp, const float* dout) {
  const int64_t state = m.config.num_directions() * a.batch * m.config.hidden_size;
  const LayerWeights& lw = m.layers[l];
  kernels::BackwardParams bp;
  bp.T = static_cast<int>(a.steps);
  bp.B = static_cast<int>(a.batch);
  bp.H = static_cast<int>(m.config.hidden_size);
  bp.D = static_cast<int>(m.config.num_directions());
  bp.batch_first = m.options.batch_first;
  bp.relu = m.config.nonlinearity == Nonlinearity::Relu;
  bp.y = sp.layer_out[l];
  bp.dout = dout;
  bp.w_hh = m.w(lw.w_hh);
  bp.w_hh_t = m.w(lw.w_hh_t);
  bp.dh_n = g.dh_n ? g.dh_n + l * state : nullptr;
  bp.lengths = a.lengths;
  bp.dr = sp.dr;
  bp.dh0 = g.dh0 ? g.dh0 + l * state : nullptr;
  return bp;
}

// Layer l's weight gradients from dhraw (sp.dr) and its input `in`:
// dW_ih, dW_hh and the biases', into g.grads.
void weight_grads(Plan::Impl& m, int l, const RunArgs& a, const BackwardArgs& g, const Plan::Impl::BackwardSpace& sp,
                  const float* in, cudaStream_t stream) {
  const int D = static_cast<int>(m.config.num_directions()), H = static_cast<int>(m.config.hidden_size), DH = D * H;
  const int rows = static_cast<int>(a.steps * a.batch), K = m.layers[l].k;
  const float one = 1.0f, zero = 0.0f;
  if (l == 0 && a.lengths) {
    // x at padded positions is never read by the forward pass, so it may
    // hold anything (NaN); the dW_ih GEMM sums over every row: mask it.
    RNN_LAUNCH_CHECK(kernels::launch_mask_padding(static_cast<int>(a.steps), static_cast<int>(a.batch), K,
                                                  m.options.batch_first, a.lengths, a.x, sp.gbuf[0], stream));
    in = sp.gbuf[0];
  }
  m.bind_cublas(stream);
  float* gl = g.grads + m.grad_offset(l, 0);
  const long long dir_stride = m.direction_grad_size(l);
  // dW_ih[d] [H, K] = dr_d^T X: column-major C [K, H] = X^T [K, rows] . (dr_d [H, rows])^T
  RNN_CUDA_CHECK(cublasSgemmStridedBatched(m.cublas, CUBLAS_OP_N, CUBLAS_OP_T, K, H, rows, &one, in, K, 0, sp.dr, DH,
                                           H, &zero, gl, K, dir_stride, D));
  // dW_hh[d] [H, H] = dr_d^T prev_d
  RNN_CUDA_CHECK(cublasSgemmStridedBatched(m.cublas, CUBLAS_OP_N, CUBLAS_OP_T, H, H, rows, &one, sp.prev, DH, H,
                                           sp.dr, DH, H, &zero, gl + static_cast<size_t>(H) * K, H, dir_stride, D));
  if (!m.config.bias) return;
  for (int d = 0; d < D; ++d) {
    float* db = gl + d * dir_stride + static_cast<size_t>(H) * K + static_cast<size_t>(H) * H;
    // db_ih = db_hh = sum over rows of dr_d
    RNN_CUDA_CHECK(cublasSgemv(m.cublas, CUBLAS_OP_N, H, rows, &one, sp.dr + d * H, DH, sp.ones, 1, &zero, db, 1));
    RNN_CUDA_CHECK(cudaMemcpyAsync(db + H, db, H * sizeof(float), cudaMemcpyDeviceToDevice, stream));
  }
}

}  // namespace

void Plan::Impl::backward_from(const RunArgs& a, const BackwardArgs& g, void* workspace, cudaStream_t stream) {
  const int L = static_cast<int>(config.num_layers), D = static_cast<int>(config.num_directions());
  const int H = static_cast<int>(config.hidden_size), DH = D * H;
  const int T = static_cast<int>(a.steps), B = static_cast<int>(a.batch), rows = T * B;
  const int64_t state = static_cast<int64_t>(D) * B * H;
  const BackwardSpace sp = backward_space(a, workspace);
  RNN_LAUNCH_CHECK(kernels::launch_fill(sp.ones, static_cast<size_t>(rows), 1.0f, stream));
  // allow_tf32 is about the input projection; the gradient GEMMs stay strict FP32.
  RNN_CUDA_CHECK(cublasSetMathMode(cublas, CUBLAS_DEFAULT_MATH));
  struct RestoreMath {
    cublasHandle_t h;
    bool tf32;
    ~RestoreMath() { cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH); }
  } restore_math{cublas, options.allow_tf32};
  const float one = 1.0f, zero = 0.0f;
  const float* dout = g.dy;
  for (int l = L - 1; l >= 0; --l) {
    const kernels::BackwardParams bp = layer_params(*this, l, a, g, sp, dout);
    // The previous states first: h0 is read before dh0 (which may be h0's buffer) is written.
    RNN_LAUNCH_CHECK(kernels::launch_prev_states(T, B, H, D, options.batch_first, sp.layer_out[l],
                                                 a.h0 ? a.h0 + l * state : nullptr, a.lengths, sp.prev, stream));
    if (backward_kernel == Kernel::Registers) {
      RNN_LAUNCH_CHECK(kernels::launch_backward_registers(bp, registers_shape, stream));
    } else if (backward_kernel == Kernel::Persistent) {
      RNN_LAUNCH_CHECK(kernels::launch_backward_persistent(bp, shape, stream));
    } else {
      for (int s = T - 1; s >= (bp.dh0 ? -1 : 0); --s) RNN_LAUNCH_CHECK(kernels::launch_backward_stepwise(bp, s, stream));
    }
    weight_grads(*this, l, a, g, sp, l == 0 ? a.x : sp.layer_out[l - 1], stream);
    // din [rows, K] = dr [rows, DH] . W_cat [DH, K] (both directions add)
    float* din = l == 0 ? g.dx : sp.gbuf[l % 2];
    if (din)
      RNN_CUDA_CHECK(cublasSgemm(cublas, CUBLAS_OP_N, CUBLAS_OP_N, layers[l].k, rows, DH, &one, w(layers[l].w_ih),
                                 layers[l].k, sp.dr, DH, &zero, din, layers[l].k));
    dout = din;
  }
}

size_t Plan::backward_workspace_size() const noexcept {
  const Impl& m = *impl_;
  const size_t gbytes =
      align_up(static_cast<size_t>(m.options.max_steps * m.options.max_batch) * m.max_width() * sizeof(float));
  const size_t ones = align_up(static_cast<size_t>(m.options.max_steps * m.options.max_batch) * sizeof(float));
  return m.rows_bytes * static_cast<size_t>(m.config.num_layers + 2) + 2 * gbytes + ones;
}

size_t Plan::gradient_count() const noexcept {
  return impl_->grad_offset(impl_->config.num_layers, 0);
}

namespace {

// The checks of backward() and its two halves, beyond check_run_args().
void check_backward_args(const Plan::Impl& m, const RunArgs& a, const BackwardArgs& g) {
  if (!m.backward_unavailable.empty()) throw Error("options", m.backward_unavailable);
  if (!g.dy) throw Error("args", "dy must be a device pointer, not null");
  if (!g.grads) throw Error("args", "grads must be a device buffer of gradient_count() floats, not null");
  // The forward pass writes y and h_n, which the backward pass reads beside dy and dh_n.
  const ModelConfig& c = m.config;
  const size_t ny = static_cast<size_t>(a.steps * a.batch * c.num_directions() * c.hidden_size);
  const size_t ns = static_cast<size_t>(c.num_layers * c.num_directions() * a.batch * c.hidden_size);
  auto overlap = [](const float* p, const float* q, size_t n) { return p && q && p < q + n && q < p + n; };
  if (overlap(g.dy, a.y, ny)) throw Error("args", "dy and y overlap; give y its own buffer");
  if (overlap(g.dh_n, a.h_n, ns)) throw Error("args", "dh_n and h_n overlap; give h_n its own buffer");
}

}  // namespace

void Plan::backward(const RunArgs& a, const BackwardArgs& g, void* workspace, cudaStream_t stream) {
  Impl& m = *impl_;
  m.check_run_args(a, workspace);
  check_backward_args(m, a, g);
  m.backward(a, g, workspace, stream);
}

void Plan::forward_for_backward(const RunArgs& a, void* workspace, cudaStream_t stream) {
  Impl& m = *impl_;
  m.check_run_args(a, workspace);
  if (!m.backward_unavailable.empty()) throw Error("options", m.backward_unavailable);
  m.forward_keep(a, workspace, stream);
}

void Plan::backward_after_forward(const RunArgs& a, const BackwardArgs& g, void* workspace, cudaStream_t stream) {
  Impl& m = *impl_;
  m.check_run_args(a, workspace);
  check_backward_args(m, a, g);
  m.backward_from(a, g, workspace, stream);
}


}  // namespace rnn::cuda
