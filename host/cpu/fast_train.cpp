// host/cpu/fast_train.cpp: the head and the loss of a training step on the
// fast CPU backend (fast.hpp): three SGEMMs (logits, dW, dy) and a row-wise
// softmax.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/fast.hpp"
#include "cpu/fast_kernels.hpp"

namespace rnn::cpu::fast {

namespace {

// exp over eight lanes (x <= 0 here; clamped below at -87.3, where exp is
// 0 for a softmax in float): x = n ln2 + r with |r| <= ln2/2, e^r by a
// degree-6 polynomial (Cephes' coefficients, ~1 ulp), times 2^n built in
// the exponent bits.
__attribute__((target("avx2,fma"))) inline __m256 exp_avx2(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// g[0..n) = exp(g - max g) in place; returns the sum, *max the maximum.
__attribute__((target("avx2,fma"))) float exp_shifted_avx2(float* g, int64_t n, float* max) {
  float m = g[0];
  int64_t o = 0;
  if (n >= 8) {
    __m256 vm = _mm256_loadu_ps(g);
    for (o = 8; o + 8 <= n; o += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(g + o));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, vm);
    for (float v : lanes) m = std::max(m, v);
  }
  for (; o < n; ++o) m = std::max(m, g[o]);
  const __m256 vmax = _mm256_set1_ps(m);
  __m256 vsum = _mm256_setzero_ps();
  for (o = 0; o + 8 <= n; o += 8) {
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(g + o), vmax));
    _mm256_storeu_ps(g + o, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vsum);
  float sum = 0.0f;
  for (float v : lanes) sum += v;
  for (; o < n; ++o) sum += (g[o] = std::exp(g[o] - m));
  *max = m;
  return sum;
}

float exp_shifted(float* g, int64_t n, float* max) {
  if (have_avx2_fma()) return exp_shifted_avx2(g, n, max);
  float m = g[0];
  for (int64_t o = 1; o < n; ++o) m = std::max(m, g[o]);
  float sum = 0.0f;
  for (int64_t o = 0; o < n; ++o) sum += (g[o] = std::exp(g[o] - m));
  *max = m;
  return sum;
}

}  // namespace

HeadLoss head_loss(const Model& model, Cache& cc, const std::vector<int64_t>& targets, Model& grads) {
  const BlasOneThread one_blas_thread;
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
    if (has_bias) add_to(g, model.head().bias.data(), O);
    const float zy = g[y];
    float zmax = 0.0f;
    const float sum = exp_shifted(g, O, &zmax);
    loss += std::log(static_cast<double>(sum)) - (static_cast<double>(zy) - zmax);
    const float scale = inv / sum;
    for (int64_t o = 0; o < O; ++o) g[o] *= scale;
    g[y] -= inv;
  }
  r.loss = loss / static_cast<double>(r.count);

  // dW = dlogits^T top, db = column sums, dy = dlogits Wh.
  gemm(true, false, O, W, N, z.data(), O, top.data(), W, 0.0f, grads.head().weight.data(), W);
  if (has_bias) {  // the column sums of dlogits, in float as the GEMMs sum
    float* db = grads.head().bias.data();
    std::fill_n(db, O, 0.0f);
    for (int64_t n = 0; n < N; ++n) add_to(db, z.data() + n * O, O);
  }
  gemm(false, false, N, W, O, z.data(), O, Wh.data(), W, 0.0f, cc.dtop.data(), W);
  return r;
}

}  // namespace rnn::cpu::fast
