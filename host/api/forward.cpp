// host/api/forward.cpp: the public forward entry points: validation of every
// input, batch-first layout, device dispatch, and the padding convenience.
//
// Validation happens here, once, before any backend runs; backends receive
// time-major x [T, B, I] and checked h0 / lengths.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/check_model.hpp"
#include "engine/backend.hpp"
#include "api/inputs.hpp"
#include "cpu/fast.hpp"
#include "cpu/reference.hpp"
#include "rnn/error.hpp"
#include "rnn/forward.hpp"
#include "rnn/limits.hpp"

namespace rnn {
namespace detail {

// [A, B, C] -> [B, A, C]
Tensor swap01(const Tensor& t) {
  const int64_t A = t.dim(0), B = t.dim(1), C = t.dim(2);
  Tensor out({B, A, C});
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(t.data() + (a * B + b) * C, C, out.data() + (b * A + a) * C);
  return out;
}

void check_lengths(const std::vector<int64_t>& lengths, int64_t T, int64_t B) {
  if (static_cast<int64_t>(lengths.size()) != B)
    throw Error("lengths", "holds " + std::to_string(lengths.size()) + " lengths for a batch of " + std::to_string(B) +
                               " sequences");
  for (size_t b = 0; b < lengths.size(); ++b) {
    const int64_t len = lengths[b];
    if (len < 1 || len > T)
      throw Error("lengths", "length " + std::to_string(len) + " of sequence " + std::to_string(b) +
                                 " is outside [1, T] = [1, " + std::to_string(T) + "]");
  }
}

void validate_inputs(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                     bool batch_first) {
  detail::check_model(model);
  check_inputs_fit(model.config(), x, h0, lengths, batch_first);
}

void check_inputs_fit(const ModelConfig& cfg, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                      bool batch_first) {
  const char* layout = batch_first ? "[B, T, I]" : "[T, B, I]";
  if (x.rank() != 3)
    throw Error("x", "has " + std::to_string(x.rank()) + " dimensions " + shape_string(x.shape()) + ", expected 3 " +
                         layout);
  const int64_t T = batch_first ? x.dim(1) : x.dim(0);
  const int64_t B = batch_first ? x.dim(0) : x.dim(1);
  if (T == 0) throw Error("x", "T = 0: the sequence length must be at least 1");
  if (B == 0) throw Error("x", "B = 0: the batch must hold at least one sequence");
  if (T > limits::kMaxSteps)
    throw Error("x", "T = " + std::to_string(T) + " exceeds the maximum of " + std::to_string(limits::kMaxSteps));
  if (B > limits::kMaxBatch)
    throw Error("x", "B = " + std::to_string(B) + " exceeds the maximum of " + std::to_string(limits::kMaxBatch));
  // y [T, B, D*H] comes back in host memory whichever device computes it.
  const uint64_t y_bytes = checked_mul(
      checked_mul(checked_mul(static_cast<uint64_t>(T), static_cast<uint64_t>(B), "x"),
                  static_cast<uint64_t>(cfg.num_directions() * cfg.hidden_size), "x"),
      sizeof(float), "x");
  check_host_bytes(y_bytes, "x", [&] { return "the output y for x " + shape_string(x.shape()); });
  if (x.dim(2) != cfg.input_size)
    throw Error("x", "input size (last dimension) is " + std::to_string(x.dim(2)) + ", the model expects " +
                         std::to_string(cfg.input_size));
  if (h0) {
    const std::vector<int64_t> want = {cfg.num_layers * cfg.num_directions(), B, cfg.hidden_size};
    if (h0->shape() != want)
      throw Error("h0", "has shape " + shape_string(h0->shape()) + ", expected [L*D, B, H] = " + shape_string(want));
  }
  if (lengths) check_lengths(*lengths, T, B);
}

void check_cpu_pass_memory(const ModelConfig& config, int64_t T, int64_t B, bool backward, bool batch_first) {
  check_host_bytes(cpu_pass_bytes(config, T, B, backward, batch_first, "x"), "x", [&] {
    return std::string("the CPU ") + (backward ? "backward" : "forward") + " pass over T = " + std::to_string(T) +
           ", B = " + std::to_string(B);
  });
}

bool fast_cpu_fits(const ModelConfig& c, int64_t T, int64_t B) {
  const int64_t widest = std::max({c.input_size, c.num_directions() * c.hidden_size, c.output_size});
  return T * B <= INT32_MAX && T * B * widest <= INT32_MAX;
}

}  // namespace detail

using detail::swap01;
using detail::validate_inputs;

ForwardResult forward(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                      const ForwardOptions& options) {
  validate_inputs(model, x, h0, lengths, options.batch_first);
  ForwardResult r;
  r.device = resolve_device(options.device);
  if (r.device == Device::Cuda) {
    detail::gpu().forward(model, x, h0, lengths, options.batch_first, options.kernel, r.y, r.h_n);
    return r;
  }
  detail::check_cpu_pass_memory(model.config(), options.batch_first ? x.dim(1) : x.dim(0),
                                 options.batch_first ? x.dim(0) : x.dim(1), /*backward=*/false, options.batch_first);
  // The fast backend where BLAS's 32-bit sizes hold the shape, else the reference.
  const int64_t T = options.batch_first ? x.dim(1) : x.dim(0), B = options.batch_first ? x.dim(0) : x.dim(1);
  const bool fast = r.device == Device::Cpu && detail::fast_cpu_fits(model.config(), T, B);
  using Run = void (*)(const Model&, const Tensor&, const Tensor*, const int64_t*, Tensor&, Tensor&);
  const Run run = fast ? static_cast<Run>(cpu::fast::forward) : [](const Model& m, const Tensor& xx, const Tensor* h, const int64_t* len,
                                            Tensor& yy, Tensor& hn) { cpu::forward(m, xx, h, len, yy, hn); };
  if (options.batch_first) {
    run(model, swap01(x), h0, lengths ? lengths->data() : nullptr, r.y, r.h_n);
    r.y = swap01(r.y);
  } else {
    run(model, x, h0, lengths ? lengths->data() : nullptr, r.y, r.h_n);
  }
  return r;
}

SequencesResult forward_sequences(const Model& model, const std::vector<Tensor>& sequences, const Tensor* h0,
                                  Device device) {
  const int64_t I = model.config().input_size;
  if (sequences.empty()) throw Error("sequences", "no sequences given");
  int64_t T = 0;
  std::vector<int64_t> lengths;
  for (size_t b = 0; b < sequences.size(); ++b) {
    const Tensor& s = sequences[b];
    const std::string subject = "sequences[" + std::to_string(b) + "]";
    if (s.rank() != 2 || s.dim(1) != I)
      throw Error(subject, "has shape " + shape_string(s.shape()) + ", expected [T, " + std::to_string(I) + "]");
    if (s.dim(0) < 1) throw Error(subject, "is empty: every sequence needs at least one step");
    lengths.push_back(s.dim(0));
    T = std::max(T, s.dim(0));
  }
  const int64_t B = static_cast<int64_t>(sequences.size());
  Tensor x({T, B, I});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t)
      std::copy_n(sequences[b].data() + t * I, I, x.data() + (t * B + b) * I);
  ForwardOptions opt;
  opt.device = device;
  ForwardResult r = forward(model, x, h0, &lengths, opt);
  SequencesResult out;
  const int64_t W = r.y.dim(2);
  for (int64_t b = 0; b < B; ++b) {
    Tensor yb({lengths[b], W});
    for (int64_t t = 0; t < lengths[b]; ++t) std::copy_n(r.y.data() + (t * B + b) * W, W, yb.data() + t * W);
    out.outputs.push_back(std::move(yb));
  }
  out.h_n = std::move(r.h_n);
  out.device = r.device;
  return out;
}

Tensor embed(const Model& model, const std::vector<int64_t>& ids, const std::vector<int64_t>& shape) {
  if (!model.has_embedding()) throw Error("model", "has no embedding (an nn.Embedding before the RNN)");
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 1) throw Error("ids", "shape " + shape_string(shape) + " has a dimension below 1");
    n = checked_mul(n, static_cast<uint64_t>(d), "ids");
  }
  if (n != ids.size())
    throw Error("ids", "holds " + std::to_string(ids.size()) + " ids for shape " + shape_string(shape));
  const int64_t V = model.embedding.dim(0), I = model.embedding.dim(1);
  std::vector<int64_t> out_shape = shape;
  out_shape.push_back(I);
  for (size_t k = 0; k < ids.size(); ++k)
    if (ids[k] < 0 || ids[k] >= V)
      throw Error("ids", "token " + std::to_string(ids[k]) + " at " + index_string(shape, static_cast<int64_t>(k), {}) +
                             " is outside the embedding's [0, " + std::to_string(V) + ")");
  Tensor x(out_shape);
  for (size_t k = 0; k < ids.size(); ++k)
    std::copy_n(model.embedding.data() + ids[k] * I, I, x.data() + static_cast<int64_t>(k) * I);
  return x;
}

Tensor apply_head(const Model& model, const Tensor& y) {
  if (!model.has_head()) throw Error("model", "has no output head (fc.weight)");
  const ModelConfig& cfg = model.config();
  const int64_t W = cfg.num_directions() * cfg.hidden_size, O = cfg.output_size;
  if (y.rank() < 1 || y.shape().back() != W)
    throw Error("y", "has shape " + shape_string(y.shape()) + ", its last dimension must be D*H = " + std::to_string(W));
  std::vector<int64_t> shape = y.shape();
  shape.back() = O;
  Tensor logits(shape);
  const int64_t rows = y.numel() / W;
  const float* w = model.head().weight.data();
  const bool has_bias = !model.head().bias.empty();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < O; ++o) {
      double acc = has_bias ? model.head().bias[o] : 0.0;
      for (int64_t k = 0; k < W; ++k) acc += static_cast<double>(w[o * W + k]) * y[r * W + k];
      logits[r * O + o] = static_cast<float>(acc);
    }
  }
  return logits;
}

}  // namespace rnn
