// host/cpu/fast_train.cpp: the head and the loss of a training step on the
// fast CPU backend (fast.hpp): three SGEMMs (logits, dW, dy) and a row-wise
// softmax.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/fast.hpp"
#include "cpu/fast_kernels.hpp"

namespace rnn::cpu::fast {

HeadLoss head_loss(const Model& model, Cache& cc, const std::vector<int64_t>& targets, Model& grads) {
  init_threads();
  const ModelConfig& c = model.config();
  const int64_t W = c.num_directions() * c.hidden_size, O = c.output_size, N = cc.T * cc.B;
  const std::vector<float>& top = cc.outputs.back();
  const Tensor& Wh = model.head().weight;
  const bool has_bias = c.output_bias && !model.head().bias.empty();
  HeadLoss r;
  // Row n (row order) is the caller's row at(n).
  auto at = [&](int64_t n) { return (n / cc.B) * cc.B + cc.order[static_cast<size_t>(n % cc.B)]; };
  for (int64_t n = 0; n < N; ++n) r.count += targets[static_cast<size_t>(at(n))] >= 0;
  cc.dtop.resize(static_cast<size_t>(N * W));
  if (r.count == 0) {
    std::fill(cc.dtop.begin(), cc.dtop.end(), 0.0f);
    std::fill_n(grads.head().weight.data(), grads.head().weight.numel(), 0.0f);
    if (has_bias) std::fill_n(grads.head().bias.data(), grads.head().bias.numel(), 0.0f);
    return r;
  }

  // logits [N, O] = top Wh^T + b, then, row by row, dlogits = (softmax - onehot) / count.
  std::vector<float>& z = cc.logits;
  z.resize(static_cast<size_t>(N * O));
  gemm_nt(N, O, W, top.data(), W, Wh.data(), W, 0.0f, z.data(), O);
  const float inv = 1.0f / static_cast<float>(r.count);
  double loss = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    float* g = z.data() + n * O;
    const int64_t y = targets[static_cast<size_t>(at(n))];
    if (y < 0) {
      std::fill_n(g, O, 0.0f);
      continue;
    }
    if (has_bias)
      for (int64_t o = 0; o < O; ++o) g[o] += model.head().bias[o];
    float zmax = g[0];
    for (int64_t o = 1; o < O; ++o) zmax = std::max(zmax, g[o]);
    const float zy = g[y] - zmax;
    float sum = 0.0f;
    for (int64_t o = 0; o < O; ++o) sum += (g[o] = std::exp(g[o] - zmax));
    loss += std::log(static_cast<double>(sum)) - static_cast<double>(zy);
    const float scale = inv / sum;
    for (int64_t o = 0; o < O; ++o) g[o] *= scale;
    g[y] -= inv;
  }
  r.loss = loss / static_cast<double>(r.count);

  // dW = dlogits^T top, db = column sums, dy = dlogits Wh.
  gemm(true, false, O, W, N, z.data(), O, top.data(), W, 0.0f, grads.head().weight.data(), W);
  if (has_bias) {
    std::vector<double> db(static_cast<size_t>(O), 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o) db[static_cast<size_t>(o)] += z[static_cast<size_t>(n * O + o)];
    for (int64_t o = 0; o < O; ++o) grads.head().bias[o] = static_cast<float>(db[static_cast<size_t>(o)]);
  }
  gemm(false, false, N, W, O, z.data(), O, Wh.data(), W, 0.0f, cc.dtop.data(), W);
  return r;
}

}  // namespace rnn::cpu::fast
