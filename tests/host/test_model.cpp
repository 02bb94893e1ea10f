// tests/host/test_model.cpp: rnn::Model, ModelConfig and the model file
// mapping (host/model.cpp: parse_model, load_model, save_model).
//
// ModelFile: save_model then load_model gives back every tensor bitwise and
//   the same config, vocab and metadata (with and without bias, with a head
//   with or without bias, plain and "rnn."-prefixed names); hand-built
//   PyTorch-style state dicts load with and without the prefix; parameter
//   counts and names.
// ModelNames: the module names PyTorch users give (embedding, head) found
//   without options; nn.LSTM and nn.GRU refused by name.
// ModelRandom: Model::random's determinism and value range.
// The malformed state dicts and validate(): test_model_malformed.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "model_helpers.hpp"

namespace {

using model_test::bits;
using model_test::config;
using model_test::error_of;
using model_test::expect_bitwise_equal;
using model_test::expect_same_model;
using model_test::load_error;
using model_test::parse;
using model_test::put;
using model_test::save_and_load;
using model_test::says;
using model_test::state_dict;

}  // namespace

// ---- save and load ------------------------------------------------------------------

TEST(ModelFile, RoundTripThreeLayerBidirectionalReluWithBias) {
  rnn::ModelConfig c = config(5, 4, 3, true);
  c.nonlinearity = rnn::Nonlinearity::Relu;
  const rnn::Model m = rnn::Model::random(c, 1);
  const rnn::Model back = save_and_load(m);
  EXPECT_EQ(back.config().nonlinearity, rnn::Nonlinearity::Relu);
  EXPECT_TRUE(back.config().bidirectional);
  EXPECT_EQ(back.config().num_layers, 3);
  expect_same_model(back, m);
}

TEST(ModelFile, RoundTripWithoutBias) {
  rnn::ModelConfig c = config(3, 6, 2, false);
  c.bias = false;
  const rnn::Model m = rnn::Model::random(c, 2);
  const rnn::Model back = save_and_load(m);
  EXPECT_FALSE(back.config().bias);
  EXPECT_TRUE(back.cell(1, 0).b_ih.empty());
  EXPECT_TRUE(back.cell(1, 0).b_hh.empty());
  expect_same_model(back, m);
}

TEST(ModelFile, RoundTripWithHeadVocabMetadataAndPrefix) {
  rnn::ModelConfig c = config(4, 5, 2, true);
  c.output_size = 3;
  rnn::Model m = rnn::Model::random(c, 3);
  m.vocab = "ab\n \"c\xc3\xa9";  // newline, quote and a UTF-8 character
  m.metadata["author"] = "someone";
  m.metadata["epochs"] = "12";
  testbed::ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  rnn::save_model(m, path, rnn::SaveOptions{"rnn."});

  // The file holds rnn.-prefixed RNN tensors and an unprefixed head.
  const rnn::TensorFile f = rnn::read_safetensors(path);
  EXPECT_NE(f.find("rnn.weight_ih_l1_reverse"), nullptr);
  EXPECT_EQ(f.find("weight_ih_l0"), nullptr);
  EXPECT_NE(f.find("fc.weight"), nullptr);
  EXPECT_NE(f.find("fc.bias"), nullptr);
  EXPECT_EQ(f.tensors.size(), 2u * 2 * 4 + 2);
  EXPECT_EQ(f.metadata.at("nonlinearity"), "tanh");
  EXPECT_EQ(f.metadata.at("vocab"), m.vocab);
  EXPECT_EQ(f.metadata.at("author"), "someone");

  const rnn::Model back = rnn::load_model(path);
  EXPECT_TRUE(back.has_head());
  EXPECT_EQ(back.config().output_size, 3);
  EXPECT_TRUE(back.config().output_bias);
  expect_same_model(back, m);
}

TEST(ModelFile, RoundTripWithHeadWithoutBias) {
  rnn::ModelConfig c = config(2, 3, 1, false);
  c.output_size = 4;
  c.output_bias = false;
  const rnn::Model m = rnn::Model::random(c, 4);
  testbed::ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  rnn::save_model(m, path);
  EXPECT_EQ(rnn::read_safetensors(path).find("fc.bias"), nullptr);
  const rnn::Model back = rnn::load_model(path);
  EXPECT_FALSE(back.config().output_bias);
  EXPECT_TRUE(back.head().bias.empty());
  expect_same_model(back, m);
}

TEST(ModelFile, SavedFileHasPyTorchNamesInStateDictOrder) {
  const rnn::Model m = rnn::Model::random(config(2, 3, 2, true), 5);
  testbed::ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  rnn::save_model(m, path);
  const rnn::TensorFile f = rnn::read_safetensors(path);
  const std::vector<std::string> expected = {
      "weight_ih_l0",         "weight_hh_l0",         "bias_ih_l0",         "bias_hh_l0",
      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
      "weight_ih_l1",         "weight_hh_l1",         "bias_ih_l1",         "bias_hh_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
  std::vector<std::string> names;
  for (const auto& e : f.tensors) names.push_back(e.first);
  EXPECT_EQ(names, expected);
  EXPECT_EQ(f.find("weight_ih_l1")->shape(), (std::vector<int64_t>{3, 6}));
}

TEST(ModelFile, LoadsStateDictWithAndWithoutRnnPrefix) {
  const rnn::TensorFile plain = state_dict(3, 4, 2, true, true);
  const rnn::TensorFile prefixed = state_dict(3, 4, 2, true, true, "rnn.");
  const rnn::Model a = parse(plain);
  const rnn::Model b = parse(prefixed);
  EXPECT_EQ(a.config().input_size, 3);
  EXPECT_EQ(a.config().hidden_size, 4);
  EXPECT_EQ(a.config().num_layers, 2);
  EXPECT_TRUE(a.config().bidirectional);
  EXPECT_TRUE(a.config().bias);
  EXPECT_EQ(a.config().nonlinearity, rnn::Nonlinearity::Tanh);  // default without metadata
  EXPECT_FALSE(a.has_head());
  expect_same_model(b, a);
  expect_bitwise_equal(a.cell(1, 1).w_ih, *plain.find("weight_ih_l1_reverse"), "weight_ih_l1_reverse");
}

TEST(ModelFile, LoadsPrefixedStateDictWithHead) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true, "rnn.");
  put(f, "fc.weight", testbed::random_tensor({2, 4}, 9));
  put(f, "fc.bias", testbed::random_tensor({2}, 10));
  f.metadata["nonlinearity"] = "relu";
  f.metadata["vocab"] = "xy";
  f.metadata["format"] = "pt";
  const rnn::Model m = parse(f);
  EXPECT_EQ(m.config().output_size, 2);
  EXPECT_EQ(m.config().nonlinearity, rnn::Nonlinearity::Relu);
  EXPECT_EQ(m.vocab, "xy");
  EXPECT_EQ(m.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  expect_bitwise_equal(m.head().weight, *f.find("fc.weight"), "fc.weight");
  expect_bitwise_equal(m.head().bias, *f.find("fc.bias"), "fc.bias");
}

TEST(ModelFile, ParameterCount) {
  // Layer 0: 2 directions x (4*5 + 4*4 + 4 + 4) = 88; layers 1 and 2 read
  // D*H = 8 inputs: 2 x (4*8 + 4*4 + 4 + 4) = 112 each.
  rnn::ModelConfig c = config(5, 4, 3, true);
  EXPECT_EQ(rnn::Model(c).parameter_count(), 88 + 112 + 112);
  c.bias = false;  // 2 x (20 + 16) + 2 x 2 x (32 + 16)
  EXPECT_EQ(rnn::Model(c).parameter_count(), 72 + 96 + 96);
  c = config(5, 4, 1, false);
  c.output_size = 3;  // 20 + 16 + 4 + 4, plus a 3x4 head and its 3 biases
  EXPECT_EQ(rnn::Model(c).parameter_count(), 44 + 12 + 3);
  c.output_bias = false;
  EXPECT_EQ(rnn::Model(c).parameter_count(), 44 + 12);
}

TEST(ModelFile, ParameterNames) {
  EXPECT_EQ(rnn::parameter_name("weight_ih", 0, 0), "weight_ih_l0");
  EXPECT_EQ(rnn::parameter_name("weight_ih", 1, 1), "weight_ih_l1_reverse");
  EXPECT_EQ(rnn::parameter_name("bias_hh", 12, 0), "bias_hh_l12");
}

TEST(ModelFile, NonlinearityNames) {
  EXPECT_STREQ(rnn::nonlinearity_name(rnn::Nonlinearity::Tanh), "tanh");
  EXPECT_STREQ(rnn::nonlinearity_name(rnn::Nonlinearity::Relu), "relu");
  EXPECT_EQ(rnn::parse_nonlinearity("relu"), rnn::Nonlinearity::Relu);
  EXPECT_EQ(rnn::parse_nonlinearity("tanh"), rnn::Nonlinearity::Tanh);
  EXPECT_TRUE(says(error_of([] { rnn::parse_nonlinearity("ReLU", "--act"); }, "--act"), "unknown nonlinearity 'ReLU'"));
}

TEST(ModelFile, SaveRefusesInconsistentModelAndWritesNothing) {
  rnn::Model m = rnn::Model::random(config(2, 3, 1, false), 6);
  m.cell(0, 0).w_hh = rnn::Tensor({3, 2});
  testbed::ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  const std::string msg = error_of([&] { rnn::save_model(m, path); }, path);
  EXPECT_TRUE(says(msg, "cannot save an inconsistent model"));
  EXPECT_TRUE(says(msg, "weight_hh_l0"));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// ---- module names -------------------------------------------------------------------

// What PyTorch users name their modules: found without options.
TEST(ModelNames, EmbeddingAndHeadUnderTheirCommonNames) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true, "encoder.");
  put(f, "embedding.weight", testbed::random_tensor({10, 3}, 2));
  put(f, "head.1.weight", testbed::random_tensor({6, 4}, 3));
  put(f, "head.1.bias", testbed::random_tensor({6}, 4));
  const rnn::Model m = rnn::model_from_tensors(f, "m");
  EXPECT_EQ(m.embedding.shape(), (std::vector<int64_t>{10, 3}));
  EXPECT_EQ(m.config().output_size, 6);
  const rnn::LoadOptions names = rnn::module_names(f, "m");
  EXPECT_EQ(names.rnn_prefix, "encoder");
  EXPECT_EQ(names.head_prefix, "head.1");
  EXPECT_EQ(names.embedding_prefix, "embedding");
  // Saved under the names read, the file reads back the same.
  const std::vector<uint8_t> bytes = rnn::model_bytes(m, rnn::SaveOptions::like(names));
  const rnn::TensorFile back = rnn::parse_safetensors(bytes.data(), bytes.size(), "back");
  EXPECT_NE(back.find("head.1.weight"), nullptr);
  EXPECT_NE(back.find("encoder.weight_ih_l0"), nullptr);
  EXPECT_NE(back.find("embedding.weight"), nullptr);
  // An embedding of the wrong width, a second head candidate, options.
  rnn::TensorFile g = f;
  put(g, "fc.weight", testbed::random_tensor({6, 4}, 5));
  EXPECT_TRUE(says(load_error(g), "could be the head (fc, head.1): choose one with --head-prefix"));
  rnn::LoadOptions o;
  o.head_prefix = "fc";
  EXPECT_THROW(rnn::model_from_tensors(g, "m", o), rnn::Error);  // head.1 is then unexpected
  rnn::TensorFile w = state_dict(3, 4, 1, false, true, "rnn.");
  put(w, "emb.weight", testbed::random_tensor({10, 5}, 2));
  EXPECT_TRUE(says(load_error(w), "tensor 'emb.weight' has shape [10, 5], expected [V, 3]"));
}

// nn.LSTM / nn.GRU share nn.RNN's names: recognised by their stacked gates.
TEST(ModelNames, GatedRecurrentModelsAreRefusedByName) {
  for (const auto& [rows, kind] : {std::pair<int64_t, const char*>{16, "nn.LSTM"}, {12, "nn.GRU"}}) {
    rnn::TensorFile f;
    put(f, "lstm.weight_ih_l0", testbed::random_tensor({rows, 3}, 1));
    put(f, "lstm.weight_hh_l0", testbed::random_tensor({rows, 4}, 2));
    EXPECT_TRUE(says(load_error(f), kind)) << kind;
    EXPECT_TRUE(says(load_error(f), "only nn.RNN (Elman) models are supported"));
  }
}

// ---- Model::random ------------------------------------------------------------------

namespace {

// Every parameter of the model, cells first, then the head.
std::vector<float> all_values(const rnn::Model& m) {
  std::vector<float> v;
  const rnn::ModelConfig& c = m.config();
  for (int64_t l = 0; l < c.num_layers; ++l)
    for (int64_t d = 0; d < c.num_directions(); ++d)
      for (const rnn::Tensor* t : {&m.cell(l, d).w_ih, &m.cell(l, d).w_hh, &m.cell(l, d).b_ih, &m.cell(l, d).b_hh})
        v.insert(v.end(), t->values().begin(), t->values().end());
  v.insert(v.end(), m.head().weight.values().begin(), m.head().weight.values().end());
  v.insert(v.end(), m.head().bias.values().begin(), m.head().bias.values().end());
  return v;
}

rnn::ModelConfig random_config() {
  rnn::ModelConfig c = config(5, 16, 2, true);
  c.output_size = 3;
  return c;
}

}  // namespace

TEST(ModelRandom, DeterministicForASeed) {
  const rnn::Model a = rnn::Model::random(random_config(), 42);
  const rnn::Model b = rnn::Model::random(random_config(), 42);
  expect_same_model(a, b);
  EXPECT_EQ(all_values(a).size(), static_cast<size_t>(a.parameter_count()));
}

TEST(ModelRandom, DifferentForAnotherSeed) {
  const std::vector<float> a = all_values(rnn::Model::random(random_config(), 42));
  const std::vector<float> b = all_values(rnn::Model::random(random_config(), 43));
  ASSERT_EQ(a.size(), b.size());
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += bits(a[i]) == bits(b[i]);
  EXPECT_LT(same, a.size() / 100) << same << " of " << a.size() << " values equal";
}

TEST(ModelRandom, ValuesWithinPyTorchBounds) {
  const rnn::Model m = rnn::Model::random(random_config(), 7);
  const rnn::ModelConfig& c = m.config();
  const float k = static_cast<float>(1.0 / std::sqrt(16.0));        // cells: 1/sqrt(H)
  const float kf = static_cast<float>(1.0 / std::sqrt(2.0 * 16.0));  // head: 1/sqrt(D*H)
  std::vector<float> cells;
  for (int64_t l = 0; l < c.num_layers; ++l)
    for (int64_t d = 0; d < c.num_directions(); ++d)
      for (const rnn::Tensor* t : {&m.cell(l, d).w_ih, &m.cell(l, d).w_hh, &m.cell(l, d).b_ih, &m.cell(l, d).b_hh})
        cells.insert(cells.end(), t->values().begin(), t->values().end());
  ASSERT_FALSE(cells.empty());
  for (float v : cells) ASSERT_LE(std::abs(v), k) << v;
  // Spread over the whole range, not one value repeated.
  const auto [lo, hi] = std::minmax_element(cells.begin(), cells.end());
  EXPECT_LT(*lo, -0.9f * k);
  EXPECT_GT(*hi, 0.9f * k);
  EXPECT_NE(*lo, *hi);

  std::vector<float> head = m.head().weight.values();
  head.insert(head.end(), m.head().bias.values().begin(), m.head().bias.values().end());
  ASSERT_EQ(head.size(), 3u * 32 + 3);
  for (float v : head) ASSERT_LE(std::abs(v), kf) << v;
  const auto [hlo, hhi] = std::minmax_element(head.begin(), head.end());
  EXPECT_LT(*hlo, -0.5f * kf);
  EXPECT_GT(*hhi, 0.5f * kf);
}

TEST(ModelRandom, EveryTensorIsFilled) {
  const rnn::Model m = rnn::Model::random(random_config(), 8);
  const rnn::ModelConfig& c = m.config();
  for (int64_t l = 0; l < c.num_layers; ++l) {
    for (int64_t d = 0; d < c.num_directions(); ++d) {
      SCOPED_TRACE(rnn::parameter_name("layer", l, d));
      EXPECT_FALSE(testbed::all_zero(m.cell(l, d).w_ih));
      EXPECT_FALSE(testbed::all_zero(m.cell(l, d).w_hh));
      EXPECT_FALSE(testbed::all_zero(m.cell(l, d).b_ih));
      EXPECT_FALSE(testbed::all_zero(m.cell(l, d).b_hh));
    }
  }
  EXPECT_FALSE(testbed::all_zero(m.head().weight));
  EXPECT_FALSE(testbed::all_zero(m.head().bias));
  EXPECT_NO_THROW(m.validate());
}
