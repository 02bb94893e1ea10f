// host/api/classify.cpp: many-to-one classification on the final states.
#include <cmath>

#include "api/inputs.hpp"
#include "engine/pass.hpp"
#include "rnn/backward.hpp"
#include "rnn/classify.hpp"
#include "rnn/error.hpp"

namespace rnn {

Tensor final_features(const Model& model, const Tensor& h_n) {
  const ModelConfig& c = model.config();
  const int64_t D = c.num_directions(), H = c.hidden_size, L = c.num_layers;
  if (h_n.rank() != 3 || h_n.dim(0) != L * D || h_n.dim(2) != H)
    throw Error("h_n", "has shape " + shape_string(h_n.shape()) + ", expected [L*D, B, H]");
  const int64_t B = h_n.dim(1);
  Tensor f({B, D * H});
  for (int64_t d = 0; d < D; ++d)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < H; ++i) f[b * D * H + d * H + i] = h_n[(((L - 1) * D + d) * B + b) * H + i];
  return f;
}

Tensor classify_logits(const Model& model, const Tensor& x, const std::vector<int64_t>& lengths,
                       const ForwardOptions& options) {
  if (!model.has_head()) throw Error("model", "has no output head (fc.weight) to classify with");
  const ForwardResult r = forward(model, x, nullptr, &lengths, options);
  return apply_head(model, final_features(model, r.h_n));
}

ClassifyStepResult classify_step(Model& model, Optimizer& optimizer, const Tensor& x,
                                 const std::vector<int64_t>& lengths, const std::vector<int64_t>& labels, double clip,
                                 const ForwardOptions& options) {
  if (!model.has_head()) throw Error("model", "has no output head (fc.weight) to classify with");
  const ModelConfig& c = model.config();
  const int64_t D = c.num_directions(), H = c.hidden_size, L = c.num_layers, W = D * H, O = c.output_size;
  // The labels before any work (x itself: the pass checks it).
  if (x.rank() == 3) detail::check_labels(labels, options.batch_first ? x.dim(0) : x.dim(1), O);
  // One forward pass, kept for the backward pass below.
  ForwardOptions on = options;
  on.device = resolve_device(options.device);
  const std::unique_ptr<detail::Pass> pass = detail::forward_for_backward(model, x, nullptr, &lengths, on);
  const Tensor& h_n = pass->h_n();
  const int64_t B = h_n.dim(1);
  const Tensor features = final_features(model, h_n);
  const Tensor logits = apply_head(model, features);
  const LossResult loss = softmax_cross_entropy(logits, labels);
  ClassifyStepResult r;
  r.loss = loss.loss;
  for (int64_t b = 0; b < B; ++b) {
    int64_t arg = 0;
    for (int64_t o = 1; o < O; ++o)
      if (logits[b * O + o] > logits[b * O + arg]) arg = o;
    r.correct += arg == labels[static_cast<size_t>(b)];
  }

  // Head: dW = dlogits^T features, db = sum dlogits, dfeatures = dlogits W
  // (rnn::head_backward, as every training step's), then dfeatures into
  // the top layer's slots of dh_n.
  Model grads(c);
  const Tensor dfeatures = head_backward(model, features, loss.dlogits, grads);
  Tensor dhn({L * D, B, H});
  for (int64_t d = 0; d < D; ++d)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < H; ++i) dhn[(((L - 1) * D + d) * B + b) * H + i] = dfeatures[b * W + d * H + i];
  // The RNN: the loss reaches it only through h_n.
  const Tensor dy(pass->y().shape());
  Tensor dx, dh0;
  Model rnn_grads;
  pass->backward(dy, &dhn, dx, dh0, rnn_grads);
  for (int64_t l = 0; l < L; ++l)
    for (int64_t d = 0; d < D; ++d) grads.cell(l, d) = rnn_grads.cell(l, d);
  r.grad_norm = clip_grad_norm(grads, clip);
  optimizer.step(model, grads);
  return r;
}

}  // namespace rnn
