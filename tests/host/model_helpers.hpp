// tests/host/model_helpers.hpp: what the model file suites share
// (test_model.cpp, test_model_malformed.cpp): state dicts as PyTorch writes
// them, edited a tensor at a time and parsed in memory (the error for a file
// named kName), and bitwise comparison of two models.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "testbed.hpp"

namespace model_test {

using testbed::error_of;
using testbed::says;

using testbed::Bytes;

// ---- checking errors ----------------------------------------------------------

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// ---- state dicts as PyTorch writes them -------------------------------------------

inline const std::string kName = "model.safetensors";

// The tensors of torch.nn.RNN(I, H, L, bias=bias, bidirectional=bidir) under
// `prefix`, in state_dict order, filled with seeded random values.
inline rnn::TensorFile state_dict(int64_t I, int64_t H, int64_t L, bool bidir, bool bias,
                                  const std::string& prefix = "") {
  rnn::TensorFile f;
  uint64_t seed = 100;
  const int64_t D = bidir ? 2 : 1;
  for (int64_t l = 0; l < L; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
      f.tensors.emplace_back(prefix + "weight_ih" + sfx, testbed::random_tensor({H, l == 0 ? I : D * H}, seed++));
      f.tensors.emplace_back(prefix + "weight_hh" + sfx, testbed::random_tensor({H, H}, seed++));
      if (bias) {
        f.tensors.emplace_back(prefix + "bias_ih" + sfx, testbed::random_tensor({H}, seed++));
        f.tensors.emplace_back(prefix + "bias_hh" + sfx, testbed::random_tensor({H}, seed++));
      }
    }
  }
  return f;
}

inline void erase(rnn::TensorFile& f, const std::string& name) {
  const auto it = std::find_if(f.tensors.begin(), f.tensors.end(), [&](const auto& e) { return e.first == name; });
  ASSERT_NE(it, f.tensors.end()) << "test setup: no tensor " << name;
  f.tensors.erase(it);
}

// Replaces the tensor called `name`, or appends it.
inline void put(rnn::TensorFile& f, const std::string& name, const rnn::Tensor& t) {
  for (auto& [n, old] : f.tensors) {
    if (n == name) {
      old = t;
      return;
    }
  }
  f.tensors.emplace_back(name, t);
}

inline rnn::Model parse(const rnn::TensorFile& f) {
  const Bytes b = rnn::safetensors_bytes(f);
  return rnn::parse_model(b.data(), b.size(), kName);
}

inline std::string load_error(const rnn::TensorFile& f) {
  const Bytes b = rnn::safetensors_bytes(f);
  return error_of([&] { rnn::parse_model(b.data(), b.size(), kName); }, kName);
}

// ---- comparing models ---------------------------------------------------------------

inline void expect_bitwise_equal(const rnn::Tensor& a, const rnn::Tensor& b, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(bits(a[i]), bits(b[i])) << "element " << i;
}

inline void expect_same_config(const rnn::ModelConfig& a, const rnn::ModelConfig& b) {
  EXPECT_EQ(a.input_size, b.input_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.bidirectional, b.bidirectional);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.nonlinearity, b.nonlinearity);
  EXPECT_EQ(a.output_size, b.output_size);
  if (a.output_size > 0) EXPECT_EQ(a.output_bias, b.output_bias);  // ignored without a head
}

inline void expect_same_model(const rnn::Model& a, const rnn::Model& b) {
  expect_same_config(a.config(), b.config());
  const rnn::ModelConfig& c = b.config();
  if (a.config().num_layers != c.num_layers || a.config().bidirectional != c.bidirectional) return;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    for (int64_t d = 0; d < c.num_directions(); ++d) {
      expect_bitwise_equal(a.cell(l, d).w_ih, b.cell(l, d).w_ih, rnn::parameter_name("weight_ih", l, d));
      expect_bitwise_equal(a.cell(l, d).w_hh, b.cell(l, d).w_hh, rnn::parameter_name("weight_hh", l, d));
      expect_bitwise_equal(a.cell(l, d).b_ih, b.cell(l, d).b_ih, rnn::parameter_name("bias_ih", l, d));
      expect_bitwise_equal(a.cell(l, d).b_hh, b.cell(l, d).b_hh, rnn::parameter_name("bias_hh", l, d));
    }
  }
  expect_bitwise_equal(a.head().weight, b.head().weight, "fc.weight");
  expect_bitwise_equal(a.head().bias, b.head().bias, "fc.bias");
  EXPECT_EQ(a.vocab, b.vocab);
  EXPECT_EQ(a.metadata, b.metadata);
}

inline rnn::Model save_and_load(const rnn::Model& m, const rnn::SaveOptions& options = {}) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  rnn::save_model(m, path, options);
  return rnn::load_model(path);
}

inline rnn::ModelConfig config(int64_t I, int64_t H, int64_t L, bool bidir) {
  rnn::ModelConfig c;
  c.input_size = I;
  c.hidden_size = H;
  c.num_layers = L;
  c.bidirectional = bidir;
  return c;
}

}  // namespace model_test
