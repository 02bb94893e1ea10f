// host/cpu/reference_backward.cpp: backpropagation through time in plain
// loops, the specification of every other backward pass.
//
// Per layer l from the top down, with dout [T, B, D*H] the gradient of the
// loss with respect to layer l's output (dy for the top layer), and for
// each direction d and sequence b, the forward's steps visited in reverse
// (forward direction: t = len-1 .. 0; reverse direction: t = 0 .. len-1):
//   dh      = dout[t, b, d*H : (d+1)*H] + dhnext      (dhnext starts at dh_n)
//   dhraw   = act'(h_t) * dh                          (tanh: 1 - h^2; relu: h > 0)
//   db_ih  += dhraw,  db_hh += dhraw
//   dW_ih  += dhraw in_t^T,  dW_hh += dhraw h_prev^T
//   din_t  += W_ih^T dhraw                            (both directions add)
//   dhnext  = W_hh^T dhraw
// and dh0[l*D + d, b] = dhnext after the last visited step. din is the next
// layer down's dout; for layer 0 it is dx. Padded positions (t >= len) are
// never visited, so dy there is ignored, as in PyTorch. Names follow
// min-char-rnn (dh, dhraw, dhnext). Everything accumulates in double.
#include <vector>

#include "reference.hpp"

namespace rnn::cpu {

namespace {

// Double accumulators shaped like one cell's parameters.
struct CellGrad {
  std::vector<double> w_ih, w_hh, b;  // b: the common gradient of b_ih and b_hh
};

// What one layer's backward pass reads: its outputs and its input (double),
// dout (d loss / d its outputs), and where din (d loss / d its input) goes.
struct LayerPass {
  int64_t T, B, H, D, in_width;
  bool relu;
  const std::vector<double>& out;
  const std::vector<double>& in;
  const std::vector<double>& dout;
  std::vector<double>& din;
};

// Backpropagation through one sequence b of direction d: from dhnext (d loss
// / d the state after its last step) down to its first step, accumulating
// the cell's gradients and din; dhnext ends as d loss / d h0.
void sequence_backward(const LayerPass& p, const CellWeights& c, int64_t d, int64_t b, int64_t len,
                       const double* h0_row, std::vector<double>& dhnext, CellGrad& cg) {
  const int64_t B = p.B, H = p.H, D = p.D, in_width = p.in_width;
  std::vector<double> dhraw(static_cast<size_t>(H)), hprev(static_cast<size_t>(H));
  for (int64_t s = len - 1; s >= 0; --s) {
    const int64_t t = (d == 0) ? s : len - 1 - s;    // the time index of forward step s
    const int64_t t_prev = (d == 0) ? t - 1 : t + 1;  // ... and of step s-1
    const double* h = &p.out[static_cast<size_t>((t * B + b) * D * H + d * H)];
    for (int64_t j = 0; j < H; ++j) {
      if (s > 0) hprev[j] = p.out[static_cast<size_t>((t_prev * B + b) * D * H + d * H + j)];
      else hprev[j] = h0_row ? h0_row[j] : 0.0;
    }
    for (int64_t i = 0; i < H; ++i) {
      const double dh = p.dout[static_cast<size_t>((t * B + b) * D * H + d * H + i)] + dhnext[i];
      const double deriv = p.relu ? (h[i] > 0.0 ? 1.0 : 0.0) : 1.0 - h[i] * h[i];
      dhraw[i] = deriv * dh;
    }
    const double* in_t = &p.in[static_cast<size_t>((t * B + b) * in_width)];
    double* din_t = &p.din[static_cast<size_t>((t * B + b) * in_width)];
    for (int64_t i = 0; i < H; ++i) {
      const double r = dhraw[i];
      cg.b[i] += r;
      const float* w_ih_row = c.w_ih.data() + i * in_width;
      double* gw_ih = &cg.w_ih[static_cast<size_t>(i * in_width)];
      for (int64_t k = 0; k < in_width; ++k) {
        gw_ih[k] += r * in_t[k];
        din_t[k] += static_cast<double>(w_ih_row[k]) * r;
      }
      double* gw_hh = &cg.w_hh[static_cast<size_t>(i * H)];
      for (int64_t j = 0; j < H; ++j) gw_hh[j] += r * hprev[j];
    }
    for (int64_t j = 0; j < H; ++j) {
      double acc = 0.0;
      for (int64_t i = 0; i < H; ++i) acc += static_cast<double>(c.w_hh[i * H + j]) * dhraw[i];
      dhnext[j] = acc;
    }
  }
}

// The accumulated gradients into grads (the RNN's parameters, no head).
void store_grads(const ModelConfig& cfg, const std::vector<CellGrad>& g, Model& grads) {
  ModelConfig gcfg = cfg;
  gcfg.output_size = 0;  // the RNN's own parameters; a head's gradients are the loss's business
  grads = Model(gcfg);
  const int64_t D = cfg.num_directions(), H = cfg.hidden_size;
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      const CellGrad& cg = g[static_cast<size_t>(l * D + d)];
      CellWeights& out = grads.cell(l, d);
      for (int64_t k = 0; k < out.w_ih.numel(); ++k) out.w_ih[k] = static_cast<float>(cg.w_ih[static_cast<size_t>(k)]);
      for (int64_t k = 0; k < out.w_hh.numel(); ++k) out.w_hh[k] = static_cast<float>(cg.w_hh[static_cast<size_t>(k)]);
      if (cfg.bias) {
        for (int64_t k = 0; k < H; ++k) out.b_ih[k] = out.b_hh[k] = static_cast<float>(cg.b[static_cast<size_t>(k)]);
      }
    }
  }
}

}  // namespace

void backward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths,
              const ForwardCache& cache, const Tensor& dy, const Tensor* dh_n, Tensor& dx, Tensor& dh0, Model& grads) {
  const ModelConfig& cfg = model.config();
  const int64_t T = x.dim(0), B = x.dim(1);
  const int64_t L = cfg.num_layers, D = cfg.num_directions(), H = cfg.hidden_size;
  std::vector<CellGrad> g(static_cast<size_t>(L * D));
  std::vector<double> dh0_acc(static_cast<size_t>(L * D * B * H), 0.0);
  std::vector<double> dout(dy.values().begin(), dy.values().end());  // [T, B, D*H]
  std::vector<double> din, h0_row(static_cast<size_t>(H));
  for (int64_t l = L - 1; l >= 0; --l) {
    const int64_t in_width = cfg.layer_input_size(l);
    std::vector<double> in_d;  // layer input as double
    if (l == 0) in_d.assign(x.values().begin(), x.values().end());
    din.assign(static_cast<size_t>(T * B * in_width), 0.0);
    const LayerPass p{T, B, H, D, in_width, cfg.nonlinearity == Nonlinearity::Relu,
                      cache.outputs[static_cast<size_t>(l)],
                      l == 0 ? in_d : cache.outputs[static_cast<size_t>(l - 1)], dout, din};
    for (int64_t d = 0; d < D; ++d) {
      CellGrad& cg = g[static_cast<size_t>(l * D + d)];
      cg.w_ih.assign(static_cast<size_t>(H * in_width), 0.0);
      cg.w_hh.assign(static_cast<size_t>(H * H), 0.0);
      cg.b.assign(static_cast<size_t>(H), 0.0);
      for (int64_t b = 0; b < B; ++b) {
        std::vector<double> dhnext(static_cast<size_t>(H), 0.0);
        if (dh_n)
          for (int64_t j = 0; j < H; ++j) dhnext[j] = (*dh_n)[((l * D + d) * B + b) * H + j];
        if (h0)
          for (int64_t j = 0; j < H; ++j) h0_row[j] = (*h0)[((l * D + d) * B + b) * H + j];
        sequence_backward(p, model.cell(l, d), d, b, lengths ? lengths[b] : T, h0 ? h0_row.data() : nullptr, dhnext,
                          cg);
        for (int64_t j = 0; j < H; ++j) dh0_acc[static_cast<size_t>(((l * D + d) * B + b) * H + j)] = dhnext[j];
      }
    }
    dout.swap(din);
  }
  // dout now holds dL/dx.
  dx = Tensor(x.shape());
  for (int64_t i = 0; i < dx.numel(); ++i) dx[i] = static_cast<float>(dout[static_cast<size_t>(i)]);
  dh0 = Tensor({L * D, B, H});
  for (int64_t i = 0; i < dh0.numel(); ++i) dh0[i] = static_cast<float>(dh0_acc[static_cast<size_t>(i)]);
  store_grads(cfg, g, grads);
}

}  // namespace rnn::cpu
