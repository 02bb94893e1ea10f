// host/api/model.cpp: rnn::Model, its configuration and its validation. The
// model file (names, shapes, metadata) is host/io/model_file.cpp.
#include <cmath>
#include <random>

#include "rnn/error.hpp"
#include "rnn/io.hpp"
#include "rnn/limits.hpp"
#include "rnn/model.hpp"
#include "rnn/version.hpp"

namespace rnn {

const char* version() noexcept { return "0.1.0"; }

const char* nonlinearity_name(Nonlinearity n) noexcept { return n == Nonlinearity::Relu ? "relu" : "tanh"; }

Nonlinearity parse_nonlinearity(const std::string& s, const std::string& subject) {
  if (s == "tanh") return Nonlinearity::Tanh;
  if (s == "relu") return Nonlinearity::Relu;
  throw Error(subject, "unknown nonlinearity '" + s + "' (expected tanh or relu)");
}

void ModelConfig::validate() const {
  if (input_size < 1) throw Error("config", "input_size must be at least 1, got " + std::to_string(input_size));
  if (hidden_size < 1) throw Error("config", "hidden_size must be at least 1, got " + std::to_string(hidden_size));
  if (num_layers < 1) throw Error("config", "num_layers must be at least 1, got " + std::to_string(num_layers));
  if (output_size < 0) throw Error("config", "output_size must be 0 (no head) or more, got " + std::to_string(output_size));
  auto at_most = [](const char* name, int64_t v, int64_t max) {
    if (v > max)
      throw Error("config", std::string(name) + " " + std::to_string(v) + " exceeds the maximum of " + std::to_string(max));
  };
  at_most("input_size", input_size, limits::kMaxInput);
  at_most("hidden_size", hidden_size, limits::kMaxHidden);
  at_most("num_layers", num_layers, limits::kMaxLayers);
  at_most("output_size", output_size, limits::kMaxOutput);
}

std::string parameter_name(const std::string& base, int64_t layer, int64_t direction) {
  return base + "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
}

uint64_t ModelConfig::parameter_count() const noexcept {
  const uint64_t D = static_cast<uint64_t>(num_directions()), H = static_cast<uint64_t>(hidden_size);
  uint64_t count = 0;
  for (int64_t l = 0; l < num_layers; ++l)
    count += D * H * (static_cast<uint64_t>(layer_input_size(l)) + H + (bias ? 2 : 0));
  if (output_size > 0)
    count += static_cast<uint64_t>(output_size) * (D * H + (output_bias ? 1 : 0));
  return count;
}

Model::Model(const ModelConfig& config) : config_(config) {
  config_.validate();
  const int64_t H = config_.hidden_size, D = config_.num_directions();
  // Every count below fits 64 bits within the maxima; refuse a model that
  // cannot fit in memory before allocating any of it.
  const uint64_t count = config_.parameter_count();
  const uint64_t bytes = checked_mul(count, sizeof(float), "config");
  check_host_bytes(bytes, "config", [&] { return "a model of " + std::to_string(count) + " parameters"; });
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      CellWeights c;
      c.w_ih = Tensor({H, config_.layer_input_size(l)});
      c.w_hh = Tensor({H, H});
      if (config_.bias) {
        c.b_ih = Tensor({H});
        c.b_hh = Tensor({H});
      }
      cells_.push_back(std::move(c));
    }
  }
  if (config_.output_size > 0) {
    head_.weight = Tensor({config_.output_size, D * H});
    if (config_.output_bias) head_.bias = Tensor({config_.output_size});
  }
}

Model Model::random(const ModelConfig& config, uint64_t seed) {
  Model m(config);
  std::mt19937_64 gen(seed);
  // Uniform in [-bound, bound) from the top 53 bits: identical on every platform
  // (std::uniform_real_distribution is not).
  auto fill = [&gen](Tensor& t, double bound) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double u = static_cast<double>(gen() >> 11) * 0x1.0p-53;
      t[i] = static_cast<float>((2.0 * u - 1.0) * bound);
    }
  };
  const double k = 1.0 / std::sqrt(static_cast<double>(config.hidden_size));
  for (auto& c : m.cells_) {
    fill(c.w_ih, k);
    fill(c.w_hh, k);
    fill(c.b_ih, k);
    fill(c.b_hh, k);
  }
  const double kf = 1.0 / std::sqrt(static_cast<double>(config.num_directions() * config.hidden_size));
  fill(m.head_.weight, kf);
  fill(m.head_.bias, kf);
  return m;
}

CellWeights& Model::cell(int64_t layer, int64_t direction) {
  return const_cast<CellWeights&>(static_cast<const Model&>(*this).cell(layer, direction));
}

const CellWeights& Model::cell(int64_t layer, int64_t direction) const {
  if (layer < 0 || layer >= config_.num_layers || direction < 0 || direction >= config_.num_directions())
    throw Error("model", "no cell for layer " + std::to_string(layer) + ", direction " + std::to_string(direction));
  return cells_[static_cast<size_t>(layer * config_.num_directions() + direction)];
}

namespace {
void expect_shape(const Tensor& t, const std::vector<int64_t>& shape, const std::string& name) {
  if (t.shape() != shape)
    throw Error(name, "shape " + shape_string(t.shape()) + ", expected " + shape_string(shape));
}
}  // namespace

void Model::validate() const {
  config_.validate();
  const int64_t H = config_.hidden_size, D = config_.num_directions();
  if (cells_.size() != static_cast<size_t>(config_.num_layers * D))
    throw Error("model", "holds " + std::to_string(cells_.size()) + " cells for " +
                             std::to_string(config_.num_layers) + " layers x " + std::to_string(D) + " directions");
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      const CellWeights& c = cell(l, d);
      expect_shape(c.w_ih, {H, config_.layer_input_size(l)}, parameter_name("weight_ih", l, d));
      expect_shape(c.w_hh, {H, H}, parameter_name("weight_hh", l, d));
      if (config_.bias) {
        expect_shape(c.b_ih, {H}, parameter_name("bias_ih", l, d));
        expect_shape(c.b_hh, {H}, parameter_name("bias_hh", l, d));
      } else if (!c.b_ih.empty() || !c.b_hh.empty()) {
        throw Error(parameter_name("bias_ih", l, d), "present in a model configured without bias");
      }
    }
  }
  if (config_.output_size > 0) {
    expect_shape(head_.weight, {config_.output_size, D * H}, "fc.weight");
    if (config_.output_bias) expect_shape(head_.bias, {config_.output_size}, "fc.bias");
    else if (!head_.bias.empty()) throw Error("fc.bias", "present in a head configured without bias");
  }
  if (!embedding.empty() && (embedding.rank() != 2 || embedding.dim(0) < 1 || embedding.dim(1) != config_.input_size))
    throw Error("emb.weight", "shape " + shape_string(embedding.shape()) + ", expected [V, " +
                                  std::to_string(config_.input_size) + "] (V >= 1 tokens, the input size)");
}

int64_t Model::parameter_count() const noexcept {
  int64_t n = 0;
  for (const auto& c : cells_) n += c.w_ih.numel() + c.w_hh.numel() + c.b_ih.numel() + c.b_hh.numel();
  return n + head_.weight.numel() + head_.bias.numel();
}

std::vector<std::pair<std::string, const Tensor*>> Model::parameters() const {
  std::vector<std::pair<std::string, const Tensor*>> out;
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    for (int64_t d = 0; d < config_.num_directions(); ++d) {
      const CellWeights& c = cell(l, d);
      out.emplace_back(parameter_name("weight_ih", l, d), &c.w_ih);
      out.emplace_back(parameter_name("weight_hh", l, d), &c.w_hh);
      if (config_.bias) {
        out.emplace_back(parameter_name("bias_ih", l, d), &c.b_ih);
        out.emplace_back(parameter_name("bias_hh", l, d), &c.b_hh);
      }
    }
  }
  if (has_head()) {
    out.emplace_back("fc.weight", &head_.weight);
    if (config_.output_bias) out.emplace_back("fc.bias", &head_.bias);
  }
  return out;
}

std::vector<std::pair<std::string, Tensor*>> Model::parameters() {
  std::vector<std::pair<std::string, Tensor*>> out;
  for (auto& [name, t] : static_cast<const Model&>(*this).parameters())
    out.emplace_back(name, const_cast<Tensor*>(t));
  return out;
}

}  // namespace rnn
