// host/api/backward.cpp: the public backward entry point: validation, then the
// forward pass kept for its backward pass (host/engine/pass.hpp) on the device chosen.
#include "api/inputs.hpp"
#include "engine/pass.hpp"
#include "rnn/backward.hpp"
#include "rnn/error.hpp"

namespace rnn {

BackwardResult backward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                        const Tensor& dy, const Tensor* dh_n, const ForwardOptions& options) {
  detail::validate_inputs(model, x, h0, lengths, options.batch_first);
  const ModelConfig& c = model.config();
  const int64_t T = options.batch_first ? x.dim(1) : x.dim(0), B = options.batch_first ? x.dim(0) : x.dim(1);
  const int64_t DH = c.num_directions() * c.hidden_size;
  const std::vector<int64_t> y_shape = options.batch_first ? std::vector<int64_t>{B, T, DH}
                                                           : std::vector<int64_t>{T, B, DH};
  if (dy.shape() != y_shape)
    throw Error("dy", "has shape " + shape_string(dy.shape()) + ", expected y's shape " + shape_string(y_shape));
  const std::vector<int64_t> state = {c.num_layers * c.num_directions(), B, c.hidden_size};
  if (dh_n && dh_n->shape() != state)
    throw Error("dh_n", "has shape " + shape_string(dh_n->shape()) + ", expected [L*D, B, H] = " + shape_string(state));

  BackwardResult r;
  r.device = resolve_device(options.device);
  ForwardOptions on = options;
  on.device = r.device;
  const std::unique_ptr<detail::Pass> pass = detail::forward_for_backward(model, x, h0, lengths, on);
  pass->backward(dy, dh_n, r.dx, r.dh0, r.grads);
  r.y = std::move(pass->y());
  r.h_n = std::move(pass->h_n());
  return r;
}

}  // namespace rnn

namespace rnn {

Tensor embedding_grad(const Model& model, const std::vector<int64_t>& ids, const Tensor& dx) {
  if (!model.has_embedding()) throw Error("model", "has no embedding (an nn.Embedding before the RNN)");
  const int64_t V = model.embedding.dim(0), I = model.embedding.dim(1);
  if (dx.rank() < 1 || dx.shape().back() != I || dx.numel() / I != static_cast<int64_t>(ids.size()))
    throw Error("dx", "has shape " + shape_string(dx.shape()) + ", expected " + std::to_string(ids.size()) +
                          " rows of the embedding's width " + std::to_string(I));
  std::vector<double> acc(static_cast<size_t>(V * I), 0.0);
  for (size_t k = 0; k < ids.size(); ++k) {
    if (ids[k] < 0 || ids[k] >= V)
      throw Error("ids", "token " + std::to_string(ids[k]) + " at position " + std::to_string(k) +
                             " is outside the embedding's [0, " + std::to_string(V) + ")");
    const float* row = dx.data() + static_cast<int64_t>(k) * I;
    double* to = acc.data() + ids[k] * I;
    for (int64_t i = 0; i < I; ++i) to[i] += row[i];
  }
  Tensor g({V, I});
  for (int64_t i = 0; i < V * I; ++i) g[i] = static_cast<float>(acc[static_cast<size_t>(i)]);
  return g;
}

}  // namespace rnn
