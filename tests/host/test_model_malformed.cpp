// tests/host/test_model_malformed.cpp: model files rnn refuses
// (host/model.cpp: parse_model, load_model, save_model).
//
// ModelMalformed: one test per class of inconsistent state dict, each
//   checking that rnn::Error is thrown, that its subject is the file name and
//   that its message names the problem; ModelConfig::validate and
//   Model::validate errors.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "model_helpers.hpp"

namespace {

using model_test::Bytes;
using model_test::config;
using model_test::erase;
using model_test::error_of;
using model_test::kName;
using model_test::load_error;
using model_test::put;
using model_test::says;
using model_test::state_dict;

}  // namespace

// ---- malformed state dicts ----------------------------------------------------------

TEST(ModelMalformed, NoRnnTensors) {
  EXPECT_TRUE(says(load_error(rnn::TensorFile{}), "holds no nn.RNN tensors"));
  rnn::TensorFile head_only;
  put(head_only, "fc.weight", rnn::Tensor({2, 4}));
  EXPECT_TRUE(says(load_error(head_only), "holds no nn.RNN tensors"));
}

TEST(ModelMalformed, MissingWeightHhL0) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  erase(f, "weight_hh_l0");
  EXPECT_TRUE(says(load_error(f), "missing tensor 'weight_hh_l0'"));
}

TEST(ModelMalformed, MissingWeightIhL0) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  erase(f, "weight_ih_l0");
  EXPECT_TRUE(says(load_error(f), "missing tensor 'weight_ih_l0'"));
}

TEST(ModelMalformed, MissingTensorIsNamedWithItsPrefix) {
  rnn::TensorFile f = state_dict(3, 4, 2, false, true, "rnn.");
  erase(f, "rnn.weight_hh_l1");
  EXPECT_TRUE(says(load_error(f), "missing tensor 'rnn.weight_hh_l1'"));
}

TEST(ModelMalformed, MissingOneBiasOfAPair) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  erase(f, "bias_hh_l0");
  EXPECT_TRUE(says(load_error(f), "missing tensor 'bias_hh_l0'"));
  rnn::TensorFile g = state_dict(3, 4, 1, false, true);
  erase(g, "bias_ih_l0");
  EXPECT_TRUE(says(load_error(g), "missing tensor 'bias_ih_l0'"));
}

TEST(ModelMalformed, BiasInLayer0Only) {
  rnn::TensorFile f = state_dict(3, 4, 2, false, true);
  erase(f, "bias_ih_l1");
  erase(f, "bias_hh_l1");
  EXPECT_TRUE(says(load_error(f), "missing tensor 'bias_ih_l1'"));
}

TEST(ModelMalformed, BiasInLayer1Only) {
  rnn::TensorFile f = state_dict(3, 4, 2, false, true);
  erase(f, "bias_ih_l0");
  erase(f, "bias_hh_l0");
  EXPECT_TRUE(says(load_error(f), "tensor 'bias_ih_l1' is present but layer 0 has no bias"));
}

TEST(ModelMalformed, LayerGap) {
  rnn::TensorFile f = state_dict(3, 4, 3, false, true);
  for (const char* n : {"weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}) erase(f, n);
  EXPECT_TRUE(says(load_error(f), "missing tensor 'weight_ih_l1'"));
}

TEST(ModelMalformed, ReverseTensorsOnlyForLayer1) {
  rnn::TensorFile f = state_dict(3, 4, 2, true, true);
  for (const char* n : {"weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"})
    erase(f, n);
  EXPECT_TRUE(says(load_error(f), "missing tensor 'weight_ih_l0_reverse'"));
}

TEST(ModelMalformed, WeightHhNotSquare) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "weight_hh_l0", rnn::Tensor({4, 3}));
  EXPECT_TRUE(says(load_error(f), "tensor 'weight_hh_l0' has shape [4, 3], expected [H, H]"));
  rnn::TensorFile g = state_dict(3, 4, 2, false, true);
  put(g, "weight_hh_l1", rnn::Tensor({4, 3}));
  EXPECT_TRUE(says(load_error(g), "tensor 'weight_hh_l1' has shape [4, 3], expected [4, 4]"));
}

TEST(ModelMalformed, WeightIhL0NotAMatrix) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "weight_ih_l0", rnn::Tensor({12}));
  EXPECT_TRUE(says(load_error(f), "tensor 'weight_ih_l0' has shape [12], expected [H, I]"));
}

TEST(ModelMalformed, WeightIhL0RowsNotH) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "weight_ih_l0", rnn::Tensor({5, 3}));
  EXPECT_TRUE(says(load_error(f), "tensor 'weight_ih_l0' has shape [5, 3], expected [4, 3]"));
}

TEST(ModelMalformed, Layer1WeightIhWidthNotDTimesH) {
  rnn::TensorFile f = state_dict(3, 4, 2, true, true);
  put(f, "weight_ih_l1", rnn::Tensor({4, 4}));  // H wide, but the layer below is bidirectional: 2H
  EXPECT_TRUE(says(load_error(f), "tensor 'weight_ih_l1' has shape [4, 4], expected [4, 8]"));
}

TEST(ModelMalformed, WrongBiasLength) {
  rnn::TensorFile f = state_dict(3, 4, 1, true, true);
  put(f, "bias_hh_l0_reverse", rnn::Tensor({5}));
  EXPECT_TRUE(says(load_error(f), "tensor 'bias_hh_l0_reverse' has shape [5], expected [4]"));
}

TEST(ModelMalformed, UnknownTensorName) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "norm.weight", rnn::Tensor({10, 3}));
  EXPECT_TRUE(says(load_error(f), "unexpected tensor 'norm.weight' [10, 3]"));
  EXPECT_TRUE(says(load_error(f), "--head-prefix names a Linear after the RNN"));
}

TEST(ModelMalformed, LayerIndexWithLeadingZeroOrSevenDigits) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "weight_ih_l01", rnn::Tensor({4, 4}));
  EXPECT_TRUE(says(load_error(f), "unexpected tensor 'weight_ih_l01'"));
  rnn::TensorFile g = state_dict(3, 4, 1, false, true);
  put(g, "weight_ih_l1000000", rnn::Tensor({4, 4}));
  EXPECT_TRUE(says(load_error(g), "unexpected tensor 'weight_ih_l1000000'"));
}

TEST(ModelMalformed, MixedPrefixedAndUnprefixedNames) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true, "rnn.");
  erase(f, "rnn.weight_hh_l0");
  put(f, "weight_hh_l0", testbed::random_tensor({4, 4}, 1));
  EXPECT_TRUE(says(load_error(f), "holds 2 RNNs (rnn.*, (bare)): choose one with the rnn prefix"));
}

TEST(ModelMalformed, UnknownNonlinearity) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  f.metadata["nonlinearity"] = "gelu";
  const std::string msg = load_error(f);
  EXPECT_TRUE(says(msg, "__metadata__ nonlinearity: unknown nonlinearity 'gelu' (expected tanh or relu)"));
}

TEST(ModelMalformed, FcBiasWithoutFcWeight) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "fc.bias", rnn::Tensor({2}));
  EXPECT_TRUE(says(load_error(f), "has 'fc.bias' without 'fc.weight'"));
}

TEST(ModelMalformed, FcWeightWidthNotDTimesH) {
  rnn::TensorFile f = state_dict(3, 4, 1, true, true);
  put(f, "fc.weight", rnn::Tensor({2, 4}));  // H wide; a bidirectional RNN gives 2H
  const std::string msg = load_error(f);
  EXPECT_TRUE(says(msg, "tensor 'fc.weight' has shape [2, 4], expected [2, 8]"));
  EXPECT_TRUE(says(msg, "D*H = 8"));
}

TEST(ModelMalformed, FcWeightNotAMatrix) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "fc.weight", rnn::Tensor({8}));
  EXPECT_TRUE(says(load_error(f), "tensor 'fc.weight' has shape [8], expected [O, D*H]"));
}

TEST(ModelMalformed, FcBiasWrongLength) {
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  put(f, "fc.weight", rnn::Tensor({2, 4}));
  put(f, "fc.bias", rnn::Tensor({3}));
  EXPECT_TRUE(says(load_error(f), "tensor 'fc.bias' has shape [3], expected [2]"));
}

// A lone weight_ih_l999999 would mean a million layers: the loader must
// report the first missing tensor without building anything that size.
TEST(ModelMalformed, MillionLayerIndexFailsFast) {
  rnn::TensorFile f;
  put(f, "weight_ih_l999999", rnn::Tensor({4, 8}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(says(load_error(f), "missing tensor 'weight_hh_l0'"));

  rnn::TensorFile g = state_dict(3, 4, 1, false, true);
  put(g, "weight_ih_l999999", rnn::Tensor({4, 4}));
  put(g, "weight_hh_l999999", rnn::Tensor({4, 4}));
  EXPECT_TRUE(says(load_error(g), "missing tensor 'weight_ih_l1'"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);
}

TEST(ModelMalformed, MalformedSafetensorsIsReportedAgainstTheFile) {
  const Bytes b = {3, 0, 0, 0, 0, 0, 0, 0, '{', '}', '}'};  // header length 3, "{}}"
  EXPECT_TRUE(says(error_of([&] { rnn::parse_model(b.data(), b.size(), kName); }, kName), "not valid JSON"));
}

TEST(ModelMalformed, NonexistentPath) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("none.safetensors");
  EXPECT_TRUE(says(error_of([&] { rnn::load_model(path); }, path), "no such file"));
}

TEST(ModelMalformed, MalformedFileNamesThePath) {
  testbed::ScratchDir dir;
  const std::string path = dir.file("bad.safetensors");
  rnn::TensorFile f = state_dict(3, 4, 1, false, true);
  erase(f, "weight_hh_l0");
  rnn::write_safetensors(path, f);
  EXPECT_TRUE(says(error_of([&] { rnn::load_model(path); }, path), "missing tensor 'weight_hh_l0'"));
}

// ---- ModelConfig::validate and Model::validate ------------------------------------------

TEST(ModelMalformed, ConfigSizesBelowOne) {
  rnn::ModelConfig c = config(0, 4, 1, false);
  EXPECT_TRUE(says(error_of([&] { c.validate(); }, "config"), "input_size must be at least 1, got 0"));
  c = config(3, 0, 1, false);
  EXPECT_TRUE(says(error_of([&] { c.validate(); }, "config"), "hidden_size must be at least 1, got 0"));
  c = config(3, 4, 0, false);
  EXPECT_TRUE(says(error_of([&] { c.validate(); }, "config"), "num_layers must be at least 1, got 0"));
  c = config(3, 4, 1, false);
  c.output_size = -1;
  EXPECT_TRUE(says(error_of([&] { c.validate(); }, "config"), "output_size must be 0 (no head) or more, got -1"));
  c = config(-2, 4, 1, false);
  EXPECT_TRUE(says(error_of([&] { rnn::Model m(c); }, "config"), "input_size must be at least 1, got -2"));
  EXPECT_TRUE(says(error_of([&] { rnn::Model::random(c, 1); }, "config"), "input_size"));
  EXPECT_NO_THROW(config(1, 1, 1, false).validate());
}

TEST(ModelMalformed, ValidateCatchesTensorReshapedAfterConstruction) {
  rnn::Model m = rnn::Model::random(config(3, 4, 2, true), 7);
  EXPECT_NO_THROW(m.validate());
  m.cell(1, 1).w_ih = rnn::Tensor({4, 4});
  EXPECT_TRUE(says(error_of([&] { m.validate(); }, "weight_ih_l1_reverse"), "shape [4, 4], expected [4, 8]"));
}

TEST(ModelMalformed, ValidateCatchesBiasReshaped) {
  rnn::Model m = rnn::Model::random(config(3, 4, 1, false), 7);
  m.cell(0, 0).b_hh = rnn::Tensor({5});
  EXPECT_TRUE(says(error_of([&] { m.validate(); }, "bias_hh_l0"), "shape [5], expected [4]"));
}

TEST(ModelMalformed, ValidateCatchesBiasInModelWithoutBias) {
  rnn::ModelConfig c = config(3, 4, 1, false);
  c.bias = false;
  rnn::Model m(c);
  m.cell(0, 0).b_ih = rnn::Tensor({4});
  EXPECT_TRUE(says(error_of([&] { m.validate(); }, "bias_ih_l0"), "present in a model configured without bias"));
}

TEST(ModelMalformed, ValidateCatchesHeadReshaped) {
  rnn::ModelConfig c = config(3, 4, 1, false);
  c.output_size = 2;
  rnn::Model m(c);
  m.head().weight = rnn::Tensor({2, 3});
  EXPECT_TRUE(says(error_of([&] { m.validate(); }, "fc.weight"), "shape [2, 3], expected [2, 4]"));
}

TEST(ModelMalformed, CellOutOfRange) {
  const rnn::Model m(config(3, 4, 2, false));
  EXPECT_TRUE(says(error_of([&] { m.cell(2, 0); }, "model"), "no cell for layer 2, direction 0"));
  EXPECT_TRUE(says(error_of([&] { m.cell(0, 1); }, "model"), "no cell for layer 0, direction 1"));
  EXPECT_TRUE(says(error_of([&] { m.cell(-1, 0); }, "model"), "no cell for layer -1"));
}
