// host/cpu/fast.cpp: the fast CPU forward pass (fast.hpp).
#include "cpu/fast.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "cpu/fast_kernels.hpp"
#include "cpu/team.hpp"

namespace rnn::cpu::fast {

namespace {

// The pass's row order (decreasing length, stable), each row's length and
// the rows active at each step.
void order_rows(const int64_t* lengths, int64_t T, int64_t B, Cache& cc) {
  cc.T = T;
  cc.B = B;
  cc.order.resize(static_cast<size_t>(B));
  std::iota(cc.order.begin(), cc.order.end(), 0);
  cc.len.assign(static_cast<size_t>(B), T);
  if (lengths) {
    std::stable_sort(cc.order.begin(), cc.order.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
    for (int64_t r = 0; r < B; ++r) cc.len[static_cast<size_t>(r)] = lengths[cc.order[static_cast<size_t>(r)]];
  }
  cc.permuted = !std::is_sorted(cc.order.begin(), cc.order.end());
  cc.active.assign(static_cast<size_t>(T), B);
  for (int64_t t = 0; t < T; ++t)
    cc.active[static_cast<size_t>(t)] = std::count_if(cc.len.begin(), cc.len.end(), [t](int64_t l) { return l > t; });
}

// True when each of the n rows of x [n, width] holds at most one nonzero,
// and it a 1; hot gets each row's index (-1: an all-zero row).
bool one_hot_rows(const float* x, int64_t n, int64_t width, std::vector<int32_t>& hot) {
  if (width > INT32_MAX) return false;
  hot.resize(static_cast<size_t>(n));
  for (int64_t row = 0; row < n; ++row) {
    const float* v = x + row * width;
    int32_t at = -1;
    for (int64_t i = 0; i < width; ++i) {
      if (v[i] == 0.0f) continue;
      if (v[i] != 1.0f || at >= 0) return false;
      at = static_cast<int32_t>(i);
    }
    hot[static_cast<size_t>(row)] = at;
  }
  return true;
}

// out [T, B, W] = in [W_ih_0; W_ih_1]^T + (b_ih + b_hh) at active rows, 0 at
// padded rows: the input projection of every step and direction in one GEMM.
void project(const Model& model, int64_t l, const float* in, int64_t in_w, Cache& cc, float* out) {
  const ModelConfig& c = model.config();
  const int64_t H = c.hidden_size, D = c.num_directions(), W = D * H, T = cc.T, B = cc.B;
  // W_ih of both directions stacked [W, in_w]; one direction's is the
  // model's own (no copy: a megabyte copied would also push W_hh out of L2).
  const float* w_ih = model.cell(l, 0).w_ih.data();
  if (D > 1) {
    cc.w_stack.resize(static_cast<size_t>(W * in_w));
    for (int64_t d = 0; d < D; ++d)
      std::copy_n(model.cell(l, d).w_ih.data(), H * in_w, cc.w_stack.data() + d * H * in_w);
    w_ih = cc.w_stack.data();
  }
  std::vector<float> bias(static_cast<size_t>(W));
  for (int64_t d = 0; d < D; ++d) {
    const CellWeights& cw = model.cell(l, d);
    for (int64_t k = 0; k < H; ++k) bias[static_cast<size_t>(d * H + k)] = c.bias ? cw.b_ih[k] + cw.b_hh[k] : 0.0f;
  }
  if (l == 0) cc.one_hot = one_hot_rows(in, T * B, in_w, cc.hot);
  if (l == 0 && cc.one_hot) {
    // Row r's projection is column hot[r] of the stacked W_ih (a row of
    // W_ih^T) plus the bias, or the bias alone for an all-zero row.
    std::vector<float>& wt = cc.w_t;
    wt.resize(static_cast<size_t>((in_w + 1) * W));
    for (int64_t j = 0; j < W; ++j) {
      for (int64_t i = 0; i < in_w; ++i)
        wt[static_cast<size_t>(i * W + j)] = w_ih[j * in_w + i] + bias[static_cast<size_t>(j)];
      wt[static_cast<size_t>(in_w * W + j)] = bias[static_cast<size_t>(j)];
    }
    for (int64_t row = 0; row < T * B; ++row) {
      const int32_t v = cc.hot[static_cast<size_t>(row)];
      std::copy_n(wt.data() + (v >= 0 ? v : in_w) * W, W, out + row * W);
    }
  } else {
    gemm_nt(T * B, W, in_w, in, in_w, w_ih, in_w, 0.0f, out, W);
  }
  const bool add_bias = c.bias && !(l == 0 && cc.one_hot);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t n = cc.active[static_cast<size_t>(t)];
    float* row = out + t * B * W;
    if (add_bias)
      for (int64_t r = 0; r < n; ++r) add_to(row + r * W, bias.data(), W);
    std::fill(row + n * W, row + B * W, 0.0f);  // padded: 0, as PyTorch returns
  }
}

// The recurrence of layer l, direction d over `out` (holding the
// projection; the states replace it), from state0 [B, H] (row order) or
// zeros; h_n gets each row's final state (caller's order).
void recur(const Model& model, int64_t l, int64_t d, Cache& cc, const float* state0, float* out, float* h_n) {
  const ModelConfig& c = model.config();
  const int64_t H = c.hidden_size, D = c.num_directions(), W = D * H, T = cc.T, B = cc.B;
  const float* whh = model.cell(l, d).w_hh.data();
  // W_hh packed for the small-batch kernel, when some step has few rows.
  const bool pack = wants_packed(cc.active[static_cast<size_t>(T - 1)]);
  if (pack) pack_panels(whh, H, H, cc.packed);
  const float* wp = pack ? cc.packed.data() : nullptr;
  // The team splits each step by columns (whole panels); a barrier ends
  // the step, whose every column the next one reads.
  run_team(parallel_step(cc.active[0], H, H), [&](int tid, int nt, Barrier& barrier) {
    int64_t c0 = 0, c1 = 0;
    step_columns(H, tid, nt, c0, c1);
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = d == 0 ? s : T - 1 - s;
      const int64_t n = cc.active[static_cast<size_t>(t)];
      if (n == 0) continue;
      float* o = out + t * B * W + d * H;  // rows of stride W, holding the projection
      // Rows carried from the previous step (forward: t-1; reverse: t+1,
      // where the longer sequences were already running), the others
      // starting from h0.
      const int64_t carried = s == 0 ? 0 : (d == 0 ? n : cc.active[static_cast<size_t>(t + 1)]);
      const float* prev = out + (d == 0 ? t - 1 : t + 1) * B * W + d * H;
      step_gemm_columns(carried, H, H, prev, W, whh, wp, o, W, c0, c1);
      if (state0)
        step_gemm_columns(n - carried, H, H, state0 + carried * H, H, whh, wp, o + carried * W, W, c0, c1);
      if (c1 > c0)
        for (int64_t r = 0; r < n; ++r) activate(o + r * W + c0, c1 - c0, c.nonlinearity);
      barrier.wait();
    }
  });
  // h_n: forward at each sequence's last step, reverse at step 0.
  for (int64_t r = 0; r < B; ++r) {
    const int64_t t = d == 0 ? cc.len[static_cast<size_t>(r)] - 1 : 0;
    std::copy_n(out + (t * B + r) * W + d * H, H, h_n + cc.order[static_cast<size_t>(r)] * H);
  }
}

// Every layer: cc's row order set, its buffers filled when `keep`; without
// `keep`, the top layer writes `top` ([T, B, W], row order) and the others
// are dropped as soon as read.
void layers(const Model& model, const Tensor& x, const Tensor* h0, Cache& cc, bool keep, float* top, Tensor& h_n) {
  const BlasOneThread one_blas_thread;
  const ModelConfig& c = model.config();
  const int64_t T = cc.T, B = cc.B, H = c.hidden_size, D = c.num_directions(), L = c.num_layers, W = D * H;
  int64_t in_w = c.input_size;
  const float* in = x.data();
  // The layer input in row order, and with zeros at padded positions: x
  // there is never read (it may hold anything, NaN included), while the
  // GEMMs over all steps (P, dW_ih) take every row.
  const bool padded = T > 0 && cc.active[static_cast<size_t>(T - 1)] < B;
  if (cc.permuted || padded) {
    cc.input.resize(static_cast<size_t>(T * B * in_w));
    for (int64_t t = 0; t < T; ++t) {
      const int64_t n = cc.active[static_cast<size_t>(t)];
      float* step = cc.input.data() + t * B * in_w;
      for (int64_t r = 0; r < n; ++r)
        std::copy_n(x.data() + (t * B + cc.order[static_cast<size_t>(r)]) * in_w, in_w, step + r * in_w);
      std::fill(step + n * in_w, step + B * in_w, 0.0f);  // each value written once
    }
    in = cc.input.data();
  } else {
    cc.input.clear();
  }
  cc.state0.clear();
  if (h0) {
    cc.state0.resize(static_cast<size_t>(L * D * B * H));
    for (int64_t ld = 0; ld < L * D; ++ld)
      for (int64_t r = 0; r < B; ++r)
        std::copy_n(h0->data() + (ld * B + cc.order[static_cast<size_t>(r)]) * H, H,
                    cc.state0.data() + (ld * B + r) * H);
  }
  std::vector<float> hn(static_cast<size_t>(L * D * B * H));
  cc.outputs.resize(static_cast<size_t>(L));  // a reused cache keeps its buffers
  for (int64_t l = 0; l < L; ++l) {
    float* out = top;
    if (keep || l + 1 < L) {
      cc.outputs[static_cast<size_t>(l)].resize(static_cast<size_t>(T * B * W));
      out = cc.outputs[static_cast<size_t>(l)].data();
    }
    project(model, l, in, in_w, cc, out);
    for (int64_t d = 0; d < D; ++d)
      recur(model, l, d, cc, h0 ? cc.state0.data() + (l * D + d) * B * H : nullptr, out, hn.data() + (l * D + d) * B * H);
    if (!keep && l > 0 && capacity_bytes(cc) > kKeptBytes)
      cc.outputs[static_cast<size_t>(l - 1)] = {};  // read by this layer, no longer needed
    in = out;
    in_w = W;
  }
  h_n = Tensor({L * D, B, H}, std::move(hn));
}

// y [T, B, W] in the caller's order from `rows` in the pass's order.
void unpermute(const Cache& cc, const float* rows, int64_t W, Tensor& y) {
  for (int64_t t = 0; t < cc.T; ++t)
    for (int64_t r = 0; r < cc.B; ++r)
      std::copy_n(rows + (t * cc.B + r) * W, W, y.data() + (t * cc.B + cc.order[static_cast<size_t>(r)]) * W);
}

}  // namespace

size_t capacity_bytes(const Cache& cc) {
  size_t n = cc.input.capacity() + cc.state0.capacity() + cc.dtop.capacity() + cc.din.capacity() +
             cc.logits.capacity() + cc.carry.capacity() + cc.w_t.capacity() + cc.packed.capacity() +
             cc.w_stack.capacity() + cc.first.capacity() + cc.hot_grad.capacity() + cc.hot.capacity() +
             cc.spare_output.capacity();
  for (const auto& o : cc.outputs) n += o.capacity();
  return n * sizeof(float);
}

// A thread's forward passes keep their working buffers from pass to pass
// (a first touch of fresh pages costs as much as a small pass computes),
// up to kKeptBytes (fast.hpp); above, a pass's buffers are freed when it ends.
void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Tensor& y, Tensor& h_n) {
  const ModelConfig& c = model.config();
  const int64_t W = c.num_directions() * c.hidden_size;
  thread_local Cache kept;
  Cache& cc = kept;
  struct Release {  // however the pass ends
    Cache& cc;
    ~Release() {
      if (capacity_bytes(cc) > kKeptBytes) cc = Cache();
    }
  } release{cc};
  order_rows(lengths, x.dim(0), x.dim(1), cc);
  y = Tensor({cc.T, cc.B, W});
  if (!cc.permuted) {  // the top layer straight into y
    layers(model, x, h0, cc, /*keep=*/false, y.data(), h_n);
    return;
  }
  std::vector<float>& top = cc.din;  // a working buffer the forward pass leaves alone
  top.resize(static_cast<size_t>(cc.T * cc.B * W));
  layers(model, x, h0, cc, /*keep=*/false, top.data(), h_n);
  unpermute(cc, top.data(), W, y);
}

void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Cache& cache,
             Tensor& h_n) {
  order_rows(lengths, x.dim(0), x.dim(1), cache);
  layers(model, x, h0, cache, /*keep=*/true, nullptr, h_n);
}

Tensor output(const Cache& cache, std::vector<float> storage) {
  const std::vector<float>& top = cache.outputs.back();
  const int64_t W = static_cast<int64_t>(top.size()) / (cache.T * cache.B);
  storage.resize(top.size());  // every value is written below
  Tensor y({cache.T, cache.B, W}, std::move(storage));
  unpermute(cache, top.data(), W, y);
  return y;
}

}  // namespace rnn::cpu::fast
