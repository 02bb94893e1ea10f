// host/api/train.cpp: the training step's memory estimate, loss and
// gradients (reference, fast CPU or GPU pass), the head's backward pass and
// train_step (the loss, optimizers and clipping: optimizer.cpp).
#include <algorithm>
#include <cmath>
#include <string>

#include "engine/backend.hpp"
#include "engine/pass.hpp"
#include "api/train_fast.hpp"
#include "cpu/fast.hpp"
#include "cpu/reference.hpp"
#include "api/inputs.hpp"
#include "rnn/backward.hpp"
#include "rnn/error.hpp"
#include "rnn/forward.hpp"
#include "rnn/limits.hpp"
#include "rnn/train.hpp"

namespace rnn {

// ---- memory ----------------------------------------------------------------------

uint64_t train_step_bytes(const ModelConfig& config, int64_t T, int64_t B, const std::string& subject) {
  auto mul = [&](uint64_t a, uint64_t b) { return checked_mul(a, b, subject); };
  auto add = [&](uint64_t a, uint64_t b) {
    uint64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) throw Error(subject, "size too large: overflows 64 bits");
    return r;
  };
  const uint64_t P = config.parameter_count();
  // The gradients (float, and the reference's double working copies of the
  // weights and their gradients), the optimizer's two buffers (float).
  const uint64_t per_parameter = 4 + 8 + 8 + 2 * 4;
  const uint64_t rows = mul(static_cast<uint64_t>(T), static_cast<uint64_t>(B));
  const uint64_t head = mul(rows, mul(8, static_cast<uint64_t>(config.output_size)));  // logits and dlogits
  return add(mul(P, per_parameter), add(cpu_pass_bytes(config, T, B, true, false, subject), head));
}

// ---- training step -------------------------------------------------------------------

namespace {

// The head's backward pass, logits = y W^T + b: dW = dlogits^T y and
// db = sum dlogits go into grads' head; returns dy = dlogits W. `y` holds
// the N = T*B rows of the top layer (double on the CPU path, float from the
// GPU).
template <class Real>
Tensor head_backward(const Model& model, const float* dlogits, const Real* y, const std::vector<int64_t>& y_shape,
                     Model& grads) {
  const ModelConfig& c = model.config();
  int64_t N = 1;
  for (int64_t d : y_shape) N *= d;
  const int64_t W = c.num_directions() * c.hidden_size, O = c.output_size;
  N /= W;
  const Tensor& Wh = model.head().weight;
  std::vector<double> dW(static_cast<size_t>(O * W), 0.0), db(static_cast<size_t>(O), 0.0),
      dyn(static_cast<size_t>(W));
  Tensor dy(y_shape);
  for (int64_t n = 0; n < N; ++n) {
    const float* g = dlogits + n * O;
    const Real* yn = y + n * W;
    std::fill(dyn.begin(), dyn.end(), 0.0);
    for (int64_t o = 0; o < O; ++o) {
      const double go = g[o];
      if (go == 0.0) continue;
      db[static_cast<size_t>(o)] += go;
      double* dWo = &dW[static_cast<size_t>(o * W)];
      const float* Wo = Wh.data() + o * W;
      for (int64_t k = 0; k < W; ++k) {
        dWo[k] += go * yn[k];
        dyn[static_cast<size_t>(k)] += go * Wo[k];
      }
    }
    for (int64_t k = 0; k < W; ++k) dy[n * W + k] = static_cast<float>(dyn[static_cast<size_t>(k)]);
  }
  for (int64_t i = 0; i < O * W; ++i) grads.head().weight[i] = static_cast<float>(dW[static_cast<size_t>(i)]);
  if (c.output_bias)
    for (int64_t o = 0; o < O; ++o) grads.head().bias[o] = static_cast<float>(db[static_cast<size_t>(o)]);
  return dy;
}

// Copies the RNN's gradients (no head) into grads.
void take_rnn_grads(const Model& rnn_grads, Model& grads) {
  const ModelConfig& c = grads.config();
  for (int64_t l = 0; l < c.num_layers; ++l)
    for (int64_t d = 0; d < c.num_directions(); ++d) grads.cell(l, d) = rnn_grads.cell(l, d);
}

}  // namespace

namespace detail {

void check_targets_within(const std::vector<int64_t>& targets, int64_t T, int64_t B,
                          const std::vector<int64_t>* lengths) {
  if (static_cast<int64_t>(targets.size()) != T * B)
    throw Error("targets", "holds " + std::to_string(targets.size()) + " targets for T*B = " + std::to_string(T * B));
  if (lengths)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < B; ++b)
        if (t >= (*lengths)[static_cast<size_t>(b)] && targets[static_cast<size_t>(t * B + b)] >= 0)
          throw Error("targets", "target at t=" + std::to_string(t) + ", b=" + std::to_string(b) +
                                     " lies past the sequence's length: it must be -1");
}

void check_training_inputs(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>& targets,
                           const std::vector<int64_t>* lengths) {
  if (!model.has_head()) throw Error("model", "has no output head (fc.weight): nothing to train against");
  validate_inputs(model, x, h0, lengths, /*batch_first=*/false);
  check_targets_within(targets, x.dim(0), x.dim(1), lengths);
}

void check_training_inputs(const ModelConfig& config, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths) {
  if (config.output_size < 1) throw Error("model", "has no output head (fc.weight): nothing to train against");
  check_inputs_fit(config, x, h0, lengths, /*batch_first=*/false);
  check_targets_within(targets, x.dim(0), x.dim(1), lengths);
}

void check_labels(const std::vector<int64_t>& labels, int64_t B, int64_t O) {
  if (static_cast<int64_t>(labels.size()) != B)
    throw Error("labels", "holds " + std::to_string(labels.size()) + " labels for a batch of " + std::to_string(B));
  for (size_t b = 0; b < labels.size(); ++b)
    if (labels[b] < 0 || labels[b] >= O)
      throw Error("labels", "label " + std::to_string(labels[b]) + " of sequence " + std::to_string(b) +
                                " is outside [0, " + std::to_string(O) + ")");
}

int64_t counted_targets(const std::vector<int64_t>& targets, int64_t O) {
  int64_t count = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] >= O)
      throw Error("targets", "target " + std::to_string(targets[i]) + " at row " + std::to_string(i) +
                                 " is outside [0, " + std::to_string(O) + ")");
    count += targets[i] >= 0;
  }
  if (count == 0) throw Error("targets", "none is counted (all -1): a step needs at least one target");
  return count;
}

}  // namespace detail

using detail::check_training_inputs;

Tensor head_backward(const Model& model, const Tensor& y, const Tensor& dlogits, Model& grads) {
  if (!model.has_head()) throw Error("model", "has no output head");
  const ModelConfig& c = model.config();
  const int64_t W = c.num_directions() * c.hidden_size;
  if (y.rank() < 1 || y.shape().back() != W)
    throw Error("y", "has shape " + shape_string(y.shape()) + ", its last dimension must be D*H = " + std::to_string(W));
  std::vector<int64_t> want = y.shape();
  want.back() = c.output_size;
  if (dlogits.shape() != want)
    throw Error("dlogits", "has shape " + shape_string(dlogits.shape()) + ", expected " + shape_string(want));
  if (grads.config().output_size != c.output_size || grads.head().weight.shape() != model.head().weight.shape())
    throw Error("grads", "is not shaped like the model");
  return head_backward(model, dlogits.data(), y.data(), y.shape(), grads);
}

namespace {

// The reference's training pass: forward (double, kept), the head and loss,
// backward; all accumulated in double.
LossAndGrads reference_loss_and_grads(const Model& model, const Tensor& x, const Tensor* h0,
                                      const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths) {
  const ModelConfig& c = model.config();
  const int64_t T = x.dim(0), B = x.dim(1), W = c.num_directions() * c.hidden_size;
  detail::check_cpu_pass_memory(c, T, B, /*backward=*/true, /*batch_first=*/false);
  LossAndGrads r;
  cpu::ForwardCache cache;
  Tensor y;
  const int64_t* len = lengths ? lengths->data() : nullptr;
  cpu::forward(model, x, h0, len, y, r.h_n, &cache);
  const LossResult loss = softmax_cross_entropy(apply_head(model, y), targets);
  r.loss = loss.loss;
  r.count = loss.count;
  r.grads = Model(c);
  // The head reads y in double (the reference's own top-layer outputs).
  const Tensor dy = head_backward(model, loss.dlogits.data(), cache.outputs.back().data(), {T, B, W}, r.grads);
  Model rnn_grads;
  cpu::backward(model, x, h0, len, cache, dy, nullptr, r.dx, r.dh0, rnn_grads);
  take_rnn_grads(rnn_grads, r.grads);
  return r;
}

// The fast CPU backend's: the forward pass kept in float, the head and
// loss by SGEMM, the backward pass into `grads` (the model's config); dx
// only when asked (a step of a model fed by nothing upstream has no use
// for it). Inputs validated by the caller.
void fast_pass(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>& targets,
               const std::vector<int64_t>* lengths, Tensor* dx, detail::FastTrainState& s, LossAndGrads& r) {
  detail::check_cpu_pass_memory(model.config(), x.dim(0), x.dim(1), /*backward=*/true, /*batch_first=*/false);
  cpu::fast::forward(model, x, h0, lengths ? lengths->data() : nullptr, s.cache, r.h_n);
  if (!detail::same_shapes(s.grads, model))
    s.grads = Model(model.config());
  const cpu::fast::HeadLoss head = cpu::fast::head_loss(model, s.cache, targets, s.grads);
  r.loss = head.loss;
  r.count = head.count;
  cpu::fast::backward(model, x, s.cache, nullptr, dx, s.dh0, s.grads);
}

LossAndGrads fast_loss_and_grads(const Model& model, const Tensor& x, const Tensor* h0,
                                 const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths) {
  detail::FastTrainState s;
  LossAndGrads r;
  fast_pass(model, x, h0, targets, lengths, &r.dx, s, r);
  r.grads = std::move(s.grads);
  r.dh0 = std::move(s.dh0);
  return r;
}

LossAndGrads loss_and_grads_on(const Model& model, const Tensor& x, const Tensor* h0,
                               const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths,
                               const ForwardOptions& options) {
  if (options.batch_first) throw Error("options", "loss_and_grads takes time-major x [T, B, I]: batch_first must be false");
  ForwardOptions on = options;
  on.device = resolve_device(options.device);
  check_training_inputs(model, x, h0, targets, lengths);
  if (on.device == Device::Reference) return reference_loss_and_grads(model, x, h0, targets, lengths);
  if (on.device == Device::Cpu) {
    if (detail::fast_cpu_fits(model.config(), x.dim(0), x.dim(1)))
      return fast_loss_and_grads(model, x, h0, targets, lengths);
    return reference_loss_and_grads(model, x, h0, targets, lengths);
  }
  // One forward pass on the GPU, kept for its backward pass; the head, the
  // loss and dy in between on the host.
  const std::unique_ptr<detail::Pass> pass = detail::forward_for_backward(model, x, h0, lengths, on);
  const LossResult loss = softmax_cross_entropy(apply_head(model, pass->y()), targets);
  LossAndGrads r;
  r.loss = loss.loss;
  r.count = loss.count;
  r.grads = Model(model.config());
  const Tensor dy = head_backward(model, loss.dlogits.data(), pass->y().data(), pass->y().shape(), r.grads);
  Model rnn_grads;
  pass->backward(dy, nullptr, r.dx, r.dh0, rnn_grads);
  r.h_n = std::move(pass->h_n());
  take_rnn_grads(rnn_grads, r.grads);
  return r;
}

}  // namespace

LossAndGrads loss_and_grads(const Model& model, const Tensor& x, const Tensor* h0,
                            const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths) {
  ForwardOptions cpu;
  cpu.device = Device::Cpu;
  return loss_and_grads_on(model, x, h0, targets, lengths, cpu);
}

LossAndGrads loss_and_grads(const Model& model, const Tensor& x, const Tensor* h0,
                            const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths,
                            const ForwardOptions& options) {
  return loss_and_grads_on(model, x, h0, targets, lengths, options);
}

TrainStepResult train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets, double clip,
                           const ForwardOptions& options) {
  const bool fast = !options.batch_first && x.rank() == 3 && resolve_device(options.device) == Device::Cpu &&
                    detail::fast_cpu_fits(model.config(), x.dim(0), x.dim(1));
  if (fast) {
    // The thread's buffers kept from step to step (a training loop calls
    // this once a step), unless they grew past cpu::fast::kKeptBytes.
    thread_local detail::FastTrainState kept;
    struct Release {
      detail::FastTrainState& s;
      ~Release() {
        if (cpu::fast::capacity_bytes(s.cache) > cpu::fast::kKeptBytes) s = detail::FastTrainState();
      }
    } release{kept};
    return detail::fast_train_step(model, optimizer, x, h0, lengths, targets, clip, kept);
  }
  LossAndGrads lg = loss_and_grads_on(model, x, h0, targets, lengths, options);
  TrainStepResult r;
  r.loss = lg.loss;
  r.count = lg.count;
  r.grad_norm = clip_grad_norm(lg.grads, clip);
  optimizer.step(model, lg.grads);
  r.h_n = std::move(lg.h_n);
  return r;
}

namespace detail {

TrainStepResult fast_train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                                const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets, double clip,
                                FastTrainState& state) {
  check_training_inputs(model, x, h0, targets, lengths);
  LossAndGrads lg;
  fast_pass(model, x, h0, targets, lengths, nullptr, state, lg);
  TrainStepResult r;
  r.loss = lg.loss;
  r.count = lg.count;
  r.grad_norm = clip_grad_norm(state.grads, clip);
  optimizer.step(model, state.grads);
  r.h_n = std::move(lg.h_n);
  return r;
}

}  // namespace detail

TrainStepResult train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>& targets, double clip) {
  return train_step(model, optimizer, x, h0, nullptr, targets, clip);
}

TrainStepResult train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets, double clip) {
  ForwardOptions cpu;
  cpu.device = Device::Cpu;
  return train_step(model, optimizer, x, h0, lengths, targets, clip, cpu);
}

}  // namespace rnn
