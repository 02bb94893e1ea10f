// host/cpu/fast_backward.cpp: the fast CPU backward pass (fast.hpp).
//
// Per layer, top down, and direction: the steps in reverse order of the
// forward pass, each dz = (dout + carry) * act'(h) at the active rows (0 at
// padded rows) and carry = dz W_hh (the forward pass's step kernel on
// W_hh^T); then, over all steps at once, dW_ih = dZ^T X, dW_hh = dZ^T
// H_prev (H_prev being the layer's own output shifted by one step, padded
// rows 0, plus the h0 term), db = the column sums of dZ, and the layer
// below's dout (or dx) = dZ [W_ih_0; W_ih_1].
#include <algorithm>
#include <vector>

#include "cpu/fast.hpp"
#include "cpu/fast_kernels.hpp"
#include "cpu/team.hpp"

namespace rnn::cpu::fast {

namespace {

// dz = (g + carry) * act'(h) over n values, carry zeroed (the next step's
// GEMM accumulates into it).
RNN_FAST_LOOP void step_grad(float* __restrict g, float* __restrict carry, const float* __restrict h, int64_t n,
                             Nonlinearity act) {
  if (act == Nonlinearity::Tanh) {
    for (int64_t k = 0; k < n; ++k) {
      g[k] = (g[k] + carry[k]) * (1.0f - h[k] * h[k]);
      carry[k] = 0.0f;
    }
  } else {
    for (int64_t k = 0; k < n; ++k) {
      g[k] = h[k] > 0.0f ? g[k] + carry[k] : 0.0f;
      carry[k] = 0.0f;
    }
  }
}

// The steps of layer l, direction d: dz replaces dout's slice; carry [B, H]
// (row order) enters holding dh_n and leaves holding dh0.
void steps_back(const Model& model, int64_t l, int64_t d, Cache& cc, float* dout, float* carry) {
  const ModelConfig& c = model.config();
  const int64_t H = c.hidden_size, W = c.num_directions() * H, T = cc.T, B = cc.B;
  const float* whh = model.cell(l, d).w_hh.data();
  // carry = dz W_hh = dz (W_hh^T)^T: the step kernel on W_hh^T, packed
  // straight from W_hh; its plain copy only where some step goes to BLAS
  // (more rows than the packed kernel takes, or no packed kernel).
  const int64_t fewest = cc.active[static_cast<size_t>(T - 1)], most = cc.active[0];
  const bool pack = wants_packed(fewest);
  if (pack) pack_panels_transposed(whh, H, H, cc.packed);
  const float* wp = pack ? cc.packed.data() : nullptr;
  std::vector<float>& wt = cc.w_t;
  if (!pack || most > kPackedRows) {
    wt.resize(static_cast<size_t>(H * H));
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < H; ++j) wt[static_cast<size_t>(j * H + i)] = whh[i * H + j];
  }
  const float* y = cc.outputs[static_cast<size_t>(l)].data();
  // The team splits each step by columns (whole panels): a thread's dz
  // columns need only its own carry columns, and after a barrier its carry
  // columns take every dz column.
  run_team(parallel_step(cc.active[0], H, H), [&](int tid, int nt, Barrier& barrier) {
    int64_t c0 = 0, c1 = 0;
    step_columns(H, tid, nt, c0, c1);
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = d == 0 ? T - 1 - s : s;
      const int64_t n = cc.active[static_cast<size_t>(t)];
      float* g = dout + t * B * W + d * H;
      const float* h = y + t * B * W + d * H;
      for (int64_t r = 0; r < n; ++r) step_grad(g + r * W + c0, carry + r * H + c0, h + r * W + c0, c1 - c0, c.nonlinearity);
      for (int64_t r = n; r < B; ++r) std::fill(g + r * W + c0, g + r * W + c1, 0.0f);  // padded: no gradient
      barrier.wait();
      step_gemm_columns(n, H, H, g, W, wt.data(), wp, carry, H, c0, c1);
    }
  });
}

// dW_hh, dW_ih and the biases of layer l, direction d from dZ (dout's slice).
void weight_grads(const Model& model, int64_t l, int64_t d, Cache& cc, const float* dz, const float* in,
                  int64_t in_w, CellWeights& g) {
  const ModelConfig& c = model.config();
  const int64_t H = c.hidden_size, W = c.num_directions() * H, T = cc.T, B = cc.B;
  const float* y = cc.outputs[static_cast<size_t>(l)].data() + d * H;
  const float* z = dz + d * H;
  // dW_hh = sum_t dz_t^T h_prev(t): forward h_{t-1}, reverse h_{t+1}; a row
  // whose previous state is padding meets a 0 there, and h0 comes after.
  if (d == 0) gemm(true, false, H, H, (T - 1) * B, z + B * W, W, y, W, 0.0f, g.w_hh.data(), H);
  else gemm(true, false, H, H, (T - 1) * B, z, W, y + B * W, W, 0.0f, g.w_hh.data(), H);
  if (!cc.state0.empty()) {  // + dz at each row's first step ^T h0
    std::vector<float>& first = cc.first;
    first.resize(static_cast<size_t>(B * H));
    for (int64_t r = 0; r < B; ++r) {
      const int64_t t = d == 0 ? 0 : cc.len[static_cast<size_t>(r)] - 1;
      std::copy_n(z + (t * B + r) * W, H, first.data() + r * H);
    }
    const float* s0 = cc.state0.data() + (l * c.num_directions() + d) * B * H;
    gemm(true, false, H, H, B, first.data(), H, s0, H, 1.0f, g.w_hh.data(), H);
  }
  if (l == 0 && cc.one_hot) {  // dW_ih[:, v] = the sum of the dz rows whose input is one-hot at v
    std::vector<float>& acc = cc.hot_grad;
    acc.assign(static_cast<size_t>(in_w * H), 0.0f);
    for (int64_t row = 0; row < T * B; ++row) {
      const int32_t v = cc.hot[static_cast<size_t>(row)];
      if (v >= 0) add_to(acc.data() + v * H, z + row * W, H);
    }
    for (int64_t k = 0; k < H; ++k)
      for (int64_t i = 0; i < in_w; ++i) g.w_ih[k * in_w + i] = acc[static_cast<size_t>(i * H + k)];
  } else {
    gemm(true, false, H, in_w, T * B, z, W, in, in_w, 0.0f, g.w_ih.data(), in_w);
  }
  if (c.bias) {  // the column sums of dZ, in float as the GEMMs sum
    std::fill_n(g.b_ih.data(), H, 0.0f);
    for (int64_t row = 0; row < T * B; ++row) add_to(g.b_ih.data(), z + row * W, H);
    std::copy_n(g.b_ih.data(), H, g.b_hh.data());
  }
}

}  // namespace

namespace {

// True when grads' cells have the shapes of the model's: they can be
// overwritten in place.
bool cells_fit(const Model& grads, const ModelConfig& c) {
  const ModelConfig& g = grads.config();
  return g.input_size == c.input_size && g.hidden_size == c.hidden_size && g.num_layers == c.num_layers &&
         g.bidirectional == c.bidirectional && g.bias == c.bias;
}

}  // namespace

void backward(const Model& model, const Tensor& x, Cache& cc, const Tensor* dh_n, Tensor* dx, Tensor& dh0,
              Model& grads) {
  const BlasOneThread one_blas_thread;
  const ModelConfig& c = model.config();
  const int64_t T = cc.T, B = cc.B, H = c.hidden_size, D = c.num_directions(), L = c.num_layers, W = D * H;
  if (!cells_fit(grads, c)) {
    ModelConfig gcfg = c;
    gcfg.output_size = 0;  // the RNN's own parameters; a head's gradients are the loss's business
    grads = Model(gcfg);
  }
  if (dh0.shape() != std::vector<int64_t>{L * D, B, H}) dh0 = Tensor({L * D, B, H});
  std::vector<float>&dout = cc.dtop, &din = cc.din, &carry = cc.carry, &w_ih = cc.w_stack;
  carry.resize(static_cast<size_t>(B * H));
  for (int64_t l = L - 1; l >= 0; --l) {
    const int64_t in_w = l == 0 ? c.input_size : W;
    const float* in = l > 0 ? cc.outputs[static_cast<size_t>(l - 1)].data() : cc.input.empty() ? x.data() : cc.input.data();
    for (int64_t d = 0; d < D; ++d) {
      const int64_t ld = l * D + d;
      for (int64_t r = 0; r < B; ++r) {
        float* to = carry.data() + r * H;
        if (dh_n) std::copy_n(dh_n->data() + (ld * B + cc.order[static_cast<size_t>(r)]) * H, H, to);
        else std::fill_n(to, H, 0.0f);
      }
      steps_back(model, l, d, cc, dout.data(), carry.data());
      for (int64_t r = 0; r < B; ++r)
        std::copy_n(carry.data() + r * H, H, dh0.data() + (ld * B + cc.order[static_cast<size_t>(r)]) * H);
      weight_grads(model, l, d, cc, dout.data(), in, in_w, grads.cell(l, d));
    }
    if (l == 0 && !dx) break;
    // The layer below's dout (or dx) = dZ [W_ih_0; W_ih_1]: one GEMM.
    w_ih.resize(static_cast<size_t>(W * in_w));
    for (int64_t d = 0; d < D; ++d) std::copy_n(model.cell(l, d).w_ih.data(), H * in_w, w_ih.data() + d * H * in_w);
    din.resize(static_cast<size_t>(T * B * in_w));
    gemm(false, false, T * B, in_w, W, dout.data(), W, w_ih.data(), in_w, 0.0f, din.data(), in_w);
    dout.swap(din);
  }
  if (dx) {
    const int64_t I = c.input_size;
    *dx = Tensor({T, B, I});
    for (int64_t t = 0; t < T; ++t)
      for (int64_t r = 0; r < B; ++r)
        std::copy_n(dout.data() + (t * B + r) * I, I, dx->data() + (t * B + cc.order[static_cast<size_t>(r)]) * I);
  }
}

void backward(const Model& model, const Tensor& x, Cache& cc, const Tensor& dy, const Tensor* dh_n, Tensor* dx,
              Tensor& dh0, Model& grads) {
  const int64_t W = dy.dim(2);
  std::vector<float>& dtop = cc.dtop;
  dtop.resize(static_cast<size_t>(dy.numel()));
  for (int64_t t = 0; t < cc.T; ++t)
    for (int64_t r = 0; r < cc.B; ++r)
      std::copy_n(dy.data() + (t * cc.B + cc.order[static_cast<size_t>(r)]) * W, W, dtop.data() + (t * cc.B + r) * W);
  backward(model, x, cc, dh_n, dx, dh0, grads);
}

}  // namespace rnn::cpu::fast
