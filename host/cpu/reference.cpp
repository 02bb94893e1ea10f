// host/cpu/reference.cpp: the forward pass in plain loops: the specification.
//
//   x [T, B, I] -> y [T, B, D*H], h_n [L*D, B, H]
//
// For each layer l and direction d, with len[b] the length of sequence b:
//   forward  (d = 0): t = 0, 1, ..., len[b]-1
//   reverse  (d = 1): t = len[b]-1, ..., 1, 0
//   h = h0[l*D + d, b]
//   h = act(W_ih in_t + b_ih + W_hh h + b_hh);  out[t, b, d*H : (d+1)*H] = h
//   h_n[l*D + d, b] = h after the last step processed
// out is 0 at t >= len[b]. Layer l > 0 reads layer l-1's out. Every sum is
// accumulated in double and activations are kept in double between steps and
// layers; only y and h_n are rounded to float. This is torch.nn.RNN's
// function (with packed sequences when lengths are given), evaluated more
// accurately than float32 arithmetic can, so every other backend is held to it.
#include "reference.hpp"

#include <cmath>
#include <vector>

namespace rnn::cpu {

namespace {

double activate(double v, Nonlinearity n) {
  if (n == Nonlinearity::Tanh) return std::tanh(v);
  return (v > 0.0 || std::isnan(v)) ? v : 0.0;  // relu, NaN propagates as in PyTorch
}

}  // namespace

void forward(const Model& model, const Tensor& x, const Tensor* h0, const int64_t* lengths, Tensor& y, Tensor& h_n,
             ForwardCache* cache) {
  const ModelConfig& cfg = model.config();
  const int64_t T = x.dim(0), B = x.dim(1);
  const int64_t L = cfg.num_layers, D = cfg.num_directions(), H = cfg.hidden_size;

  if (cache) cache->outputs.clear();
  // Layer input and output as double, [T, B, width].
  std::vector<double> in(x.values().begin(), x.values().end());
  int64_t in_width = cfg.input_size;
  std::vector<double> out;
  h_n = Tensor({L * D, B, H});

  for (int64_t l = 0; l < L; ++l) {
    out.assign(static_cast<size_t>(T * B * D * H), 0.0);
    for (int64_t d = 0; d < D; ++d) {
      const CellWeights& c = model.cell(l, d);
      const float* w_ih = c.w_ih.data();  // [H, in_width]
      const float* w_hh = c.w_hh.data();  // [H, H]
      for (int64_t b = 0; b < B; ++b) {
        const int64_t len = lengths ? lengths[b] : T;
        std::vector<double> h(static_cast<size_t>(H), 0.0), hnext(static_cast<size_t>(H));
        if (h0) {
          for (int64_t j = 0; j < H; ++j) h[j] = (*h0)[((l * D + d) * B + b) * H + j];
        }
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = (d == 0) ? s : len - 1 - s;
          const double* x_t = &in[static_cast<size_t>((t * B + b) * in_width)];
          for (int64_t i = 0; i < H; ++i) {
            double acc = cfg.bias ? static_cast<double>(c.b_ih[i]) + static_cast<double>(c.b_hh[i]) : 0.0;
            for (int64_t k = 0; k < in_width; ++k) acc += static_cast<double>(w_ih[i * in_width + k]) * x_t[k];
            for (int64_t j = 0; j < H; ++j) acc += static_cast<double>(w_hh[i * H + j]) * h[j];
            hnext[i] = activate(acc, cfg.nonlinearity);
          }
          h.swap(hnext);
          double* out_t = &out[static_cast<size_t>((t * B + b) * D * H + d * H)];
          for (int64_t i = 0; i < H; ++i) out_t[i] = h[i];
        }
        for (int64_t j = 0; j < H; ++j) h_n[((l * D + d) * B + b) * H + j] = static_cast<float>(h[j]);
      }
    }
    if (cache) cache->outputs.push_back(out);
    in.swap(out);
    in_width = D * H;
  }
  y = Tensor({T, B, D * H});
  for (int64_t i = 0; i < y.numel(); ++i) y[i] = static_cast<float>(in[static_cast<size_t>(i)]);
}

}  // namespace rnn::cpu
