// host/api/optimizer.cpp: softmax cross-entropy, SGD and Adam, gradient
// clipping (rnn/train.hpp). On the CPU, in double where it accumulates,
// deterministic; PyTorch's formulas.
#include <algorithm>
#include <cmath>
#include <string>

#include "api/inputs.hpp"
#include "rnn/error.hpp"
#include "rnn/train.hpp"

namespace rnn {

namespace detail {

bool same_shapes(const Model& a, const Model& b) {
  const ModelConfig &x = a.config(), &y = b.config();
  return x.input_size == y.input_size && x.hidden_size == y.hidden_size && x.num_layers == y.num_layers &&
         x.bidirectional == y.bidirectional && x.bias == y.bias && x.output_size == y.output_size &&
         (x.output_size == 0 || x.output_bias == y.output_bias);
}

}  // namespace detail

// ---- loss ----------------------------------------------------------------------

LossResult softmax_cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets) {
  if (logits.rank() < 1 || logits.shape().back() < 1)
    throw Error("logits", "has shape " + shape_string(logits.shape()) + ", expected [..., O] with O >= 1");
  const int64_t O = logits.shape().back(), N = logits.numel() / O;
  if (static_cast<int64_t>(targets.size()) != N)
    throw Error("targets", "holds " + std::to_string(targets.size()) + " targets for " + std::to_string(N) +
                               " rows of logits");
  LossResult r;
  r.dlogits = Tensor(logits.shape());
  for (int64_t n = 0; n < N; ++n) {
    const int64_t y = targets[static_cast<size_t>(n)];
    if (y < 0) continue;
    if (y >= O)
      throw Error("targets", "target " + std::to_string(y) + " at row " + std::to_string(n) + " is outside [0, " +
                                 std::to_string(O) + ")");
    ++r.count;
  }
  if (r.count == 0) return r;
  std::vector<double> p(static_cast<size_t>(O));
  for (int64_t n = 0; n < N; ++n) {
    const int64_t y = targets[static_cast<size_t>(n)];
    if (y < 0) continue;
    const float* z = logits.data() + n * O;
    double zmax = z[0];
    for (int64_t o = 1; o < O; ++o) zmax = std::max(zmax, static_cast<double>(z[o]));
    double sum = 0.0;
    for (int64_t o = 0; o < O; ++o) sum += (p[o] = std::exp(static_cast<double>(z[o]) - zmax));
    // -log softmax(z)[y] = log(sum exp(z - zmax)) - (z[y] - zmax): no overflow for any z
    r.loss += std::log(sum) - (static_cast<double>(z[y]) - zmax);
    float* g = r.dlogits.data() + n * O;
    for (int64_t o = 0; o < O; ++o)
      g[o] = static_cast<float>((p[o] / sum - (o == y ? 1.0 : 0.0)) / static_cast<double>(r.count));
  }
  r.loss /= static_cast<double>(r.count);
  return r;
}

// ---- optimizers ------------------------------------------------------------------

namespace {
struct AdamConstants {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, inv_sqrt_bc2, eps;
};

// One Adam update of n parameters, compiled for AVX2 beside the baseline;
// sqrt of a value known not negative needs no errno, so it vectorises.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default"), optimize("no-math-errno")))
#endif
void adam_update(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,
                 AdamConstants c) {
  for (int64_t i = 0; i < n; ++i) {
    const float mi = c.beta1 * m[i] + c.one_minus_beta1 * g[i];
    const float vi = c.beta2 * v[i] + c.one_minus_beta2 * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    w[i] -= c.step_size * mi / (std::sqrt(vi) * c.inv_sqrt_bc2 + c.eps);
  }
}

void same_config(const Model& a, const Model& b, const char* what) {
  if (!detail::same_shapes(a, b)) throw Error("grads", std::string("do not have the ") + what + "'s configuration");
}

}  // namespace

namespace detail {

void check_optimizer_options(const OptimizerOptions& options) {
  if (!(options.lr > 0.0)) throw Error("optimizer", "learning rate must be positive");
  if (options.momentum < 0.0 || options.beta1 < 0.0 || options.beta1 >= 1.0 || options.beta2 < 0.0 ||
      options.beta2 >= 1.0 || !(options.eps > 0.0))
    throw Error("optimizer", "momentum >= 0, 0 <= beta1, beta2 < 1 and eps > 0 are required");
}

}  // namespace detail

Optimizer::Optimizer(const Model& model, const OptimizerOptions& options) : options_(options) {
  detail::check_optimizer_options(options);
  first_ = Model(model.config());
  second_ = Model(model.config());
}

void Optimizer::step(Model& model, const Model& grads) {
  same_config(model, grads, "model");
  same_config(model, first_, "optimizer state");
  ++steps_;
  auto params = model.parameters();
  const auto g = grads.parameters();
  auto m = first_.parameters();
  auto v = second_.parameters();
  const OptimizerOptions& o = options_;
  // In float, as PyTorch's optimizers and the GPU's (kernels/optimizer.cu)
  // compute it: the bias corrections folded into two constants.
  const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(steps_));
  const float lr = static_cast<float>(o.lr), momentum = static_cast<float>(o.momentum);
  const float beta1 = static_cast<float>(o.beta1), beta2 = static_cast<float>(o.beta2);
  const float one_minus_beta1 = static_cast<float>(1.0 - o.beta1), one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
  const float step_size = static_cast<float>(o.lr / bc1), inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float eps = static_cast<float>(o.eps);
  const bool first_step = steps_ == 1;
  for (size_t k = 0; k < params.size(); ++k) {
    float* w = params[k].second->data();
    const float* gk = g[k].second->data();
    float* mk = m[k].second->data();
    float* vk = v[k].second->data();
    const int64_t n = params[k].second->numel();
    if (o.kind == OptimizerKind::Sgd) {
      for (int64_t i = 0; i < n; ++i) {
        float step = gk[i];
        if (momentum > 0.0f) {
          // PyTorch: the buffer starts as the first gradient, then v = momentum * v + g.
          step = first_step ? gk[i] : momentum * mk[i] + gk[i];
          mk[i] = step;
        }
        w[i] -= lr * step;
      }
    } else {
      adam_update(w, gk, mk, vk, n, AdamConstants{beta1, beta2, one_minus_beta1, one_minus_beta2, step_size,
                                                  inv_sqrt_bc2, eps});
    }
  }
}

double clip_grad_norm(Model& grads, double max_norm) { return clip_grad_norm({&grads}, max_norm); }

double clip_grad_norm(const std::vector<Model*>& grads, double max_norm) {
  double sq = 0.0;
  for (const Model* g : grads)
    for (const auto& [name, t] : g->parameters())
      for (int64_t i = 0; i < t->numel(); ++i) sq += static_cast<double>((*t)[i]) * (*t)[i];
  const double norm = std::sqrt(sq);
  if (max_norm > 0.0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (Model* g : grads)
      for (auto& [name, t] : g->parameters())
        for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = static_cast<float>((*t)[i] * scale);
  }
  return norm;
}

}  // namespace rnn
