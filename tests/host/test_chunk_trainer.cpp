// tests/host/test_chunk_trainer.cpp: the host API's carried-state training
// (rnn::ChunkTrainer), generation (rnn::generate) and UTF-8 codec
// (rnn/text.hpp) on the CPU: the trainer is train_step with the state
// carried, bit for bit; generation is the step API fed its own choices;
// bad arguments are refused naming the argument. (The GPU halves:
// tests/host/cuda/test_trainer_gpu.cpp.)
#include <cmath>
#include <random>
#include <utility>

#include "rnn/rnn.hpp"
#include "testbed.hpp"

namespace {

rnn::Model char_model(uint64_t seed, int64_t V = 7, int64_t H = 12) {
  rnn::ModelConfig c;
  c.input_size = V;
  c.hidden_size = H;
  c.output_size = V;
  return rnn::Model::random(c, seed);
}

std::vector<int64_t> targets_for(int64_t n, int64_t V, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int64_t>(gen() % static_cast<uint64_t>(V));
  t[1] = -1;  // one ignored position
  return t;
}

TEST(ChunkTrainer, IsTrainStepWithTheStateCarriedBitForBit) {
  rnn::Model start = char_model(3);
  start.vocab = "abcdefg";
  start.metadata["note"] = "kept";
  rnn::OptimizerOptions o;
  o.lr = 0.01;
  const int64_t T = 5, B = 3, V = 7;
  rnn::ChunkTrainer trainer(start, o, 0.5, rnn::Device::Cpu, T, B);
  EXPECT_EQ(trainer.device(), rnn::Device::Cpu);

  rnn::Model model = start;
  rnn::Optimizer opt(model, o);
  rnn::Tensor h;
  for (int k = 0; k < 4; ++k) {
    const bool fresh = k == 0 || k == 2;  // a new pass starts from zeros
    const rnn::Tensor x = testbed::random_tensor({T, B, V}, 10 + k);
    const std::vector<int64_t> targets = targets_for(T * B, V, 20 + k);
    const double loss = trainer.step(x, targets, fresh);
    if (fresh) h = rnn::Tensor();
    const rnn::TrainStepResult r = rnn::train_step(model, opt, x, h.empty() ? nullptr : &h, targets, 0.5);
    h = r.h_n;
    EXPECT_EQ(loss, r.loss) << "chunk " << k;
  }
  const rnn::Model trained = trainer.model();
  const auto want = std::as_const(model).parameters();
  const auto got = trained.parameters();
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i].second->values(), want[i].second->values()) << want[i].first;
  EXPECT_NE(got[0].second->values(), start.parameters()[0].second->values());  // it did train
  EXPECT_EQ(trained.vocab, "abcdefg");
  EXPECT_EQ(trained.metadata.at("note"), "kept");
}

// A carried state holds the previous chunk's B sequences: another B is
// refused, naming x, unless the chunk starts fresh.
TEST(ChunkTrainer, RefusesAnotherBatchSizeForTheCarriedState) {
  const int64_t T = 4, V = 7;
  rnn::ChunkTrainer trainer(char_model(5), {}, 0.0, rnn::Device::Cpu, T, 3);
  trainer.step(testbed::random_tensor({T, 2, V}, 30), targets_for(T * 2, V, 31), true);
  try {
    trainer.step(testbed::random_tensor({T, 3, V}, 32), targets_for(T * 3, V, 33), false);
    FAIL() << "a chunk of 3 sequences continued a state of 2";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "x");
    EXPECT_NE(e.message().find("holds 2"), std::string::npos) << e.message();
  }
  EXPECT_GT(trainer.step(testbed::random_tensor({T, 3, V}, 32), targets_for(T * 3, V, 33), true), 0.0);
}

TEST(ChunkTrainer, RefusesModelsWithoutAHeadAndEmptySizes) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 4;
  const rnn::Model no_head = rnn::Model::random(c, 1);
  try {
    rnn::ChunkTrainer t(no_head, {}, 0.0, rnn::Device::Cpu, 4, 2);
    FAIL() << "a model without a head was accepted";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "model");
  }
  try {
    rnn::ChunkTrainer t(char_model(1), {}, 0.0, rnn::Device::Cpu, 0, 2);
    FAIL() << "max_steps 0 was accepted";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "options");
  }
}

TEST(Generate, GreedyIsTheStepperFedItsArgmax) {
  const rnn::Model model = char_model(5);
  const std::vector<int64_t> prime = {2, 0, 6};
  const std::vector<int64_t> got = rnn::generate(model, prime, 12, 0.0, 1, rnn::Device::Cpu);
  rnn::Stepper s(model, 1, rnn::Device::Cpu);
  for (int64_t i : prime) s.step_one_hot({i});
  std::vector<int64_t> want;
  for (int n = 0; n < 12; ++n) {
    const rnn::Tensor z = s.logits();
    int64_t best = 0;
    for (int64_t k = 1; k < z.numel(); ++k)
      if (z[k] > z[best]) best = k;
    want.push_back(best);
    s.step_one_hot({best});
  }
  EXPECT_EQ(got, want);
  EXPECT_TRUE(rnn::generate(model, prime, 0, 0.0, 1, rnn::Device::Cpu).empty());
}

TEST(Generate, SampledIsSeededAndFollowsTheTemperature) {
  const rnn::Model model = char_model(6);
  const auto a = rnn::generate(model, {1}, 200, 1.0, 7, rnn::Device::Cpu);
  EXPECT_EQ(a, rnn::generate(model, {1}, 200, 1.0, 7, rnn::Device::Cpu));  // same seed, same draws
  EXPECT_NE(a, rnn::generate(model, {1}, 200, 1.0, 8, rnn::Device::Cpu));
  for (int64_t i : a) EXPECT_TRUE(i >= 0 && i < 7);
  // A tiny temperature is greedy in all but name.
  EXPECT_EQ(rnn::generate(model, {1}, 30, 1e-6, 9, rnn::Device::Cpu), rnn::generate(model, {1}, 30, 0.0, 9, rnn::Device::Cpu));
}

TEST(Generate, RefusesWhatCannotBeFedBack) {
  auto refused = [](const rnn::Model& m, const std::vector<int64_t>& prime, int64_t length, double temperature,
                    const std::string& subject) {
    try {
      rnn::generate(m, prime, length, temperature, 1, rnn::Device::Cpu);
      ADD_FAILURE() << "accepted; expected a refusal about " << subject;
    } catch (const rnn::Error& e) {
      EXPECT_EQ(e.subject(), subject) << e.what();
    }
  };
  const rnn::Model m = char_model(1);
  refused(m, {}, 3, 0.0, "prime");
  refused(m, {7}, 3, 0.0, "prime");
  refused(m, {-1}, 3, 0.0, "prime");
  refused(m, {1}, -1, 0.0, "length");
  refused(m, {1}, 3, -0.5, "temperature");
  refused(m, {1}, 3, std::nan(""), "temperature");
  rnn::ModelConfig c = m.config();
  c.output_size = 5;  // outputs cannot be fed back as inputs
  refused(rnn::Model::random(c, 1), {1}, 3, 0.0, "model");
  c.output_size = 7;
  c.bidirectional = true;
  refused(rnn::Model::random(c, 1), {1}, 3, 0.0, "model");
}

TEST(Text, Utf8RoundTripsAndRefusesInvalidBytes) {
  const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x99\x82";  // a, e-acute, euro, a 4-byte emoji
  const std::vector<char32_t> cps = rnn::decode_utf8(s, "t");
  EXPECT_EQ(cps, (std::vector<char32_t>{U'a', 0xe9, 0x20ac, 0x1f642}));
  EXPECT_EQ(rnn::encode_utf8(cps), s);
  for (const std::string bad : {std::string("\xc3"), std::string("\xc0\x80"), std::string("\xed\xa0\x80"),
                                std::string("\xf4\x90\x80\x80"), std::string("ab\xff")}) {
    try {
      rnn::decode_utf8(bad, "file.txt");
      ADD_FAILURE() << "accepted invalid UTF-8";
    } catch (const rnn::Error& e) {
      EXPECT_EQ(e.subject(), "file.txt");
      EXPECT_NE(e.message().find("not valid UTF-8 at byte"), std::string::npos) << e.what();
    }
  }
}

TEST(Text, VocabIndicesStoreAndReadBack) {
  const rnn::Vocab chars({U'c', U'a', U'b', U'a'}, 0);  // train-char: character k is index k
  EXPECT_EQ(chars.size(), 3);
  EXPECT_EQ(chars.index(U'a'), 0);
  EXPECT_EQ(chars.index(U'c'), 2);
  EXPECT_EQ(chars.index(U'z'), -1);
  EXPECT_EQ(chars.character(1), U'b');
  const rnn::Vocab task({U'y', U'x'}, 1);  // the task commands: index 0 reserved
  EXPECT_EQ(task.size(), 3);
  EXPECT_EQ(task.index(U'x'), 1);
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { task.character(0); }, "index"), "not a character"));
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { task.character(3); }, "index"), "not a character"));

  // Through a model file: the convention is stored beside the characters.
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 4;
  c.output_size = 3;
  rnn::Model m = rnn::Model::random(c, 1);
  task.store(m);
  testbed::ScratchDir dir;
  rnn::save_model(m, dir.file("m.safetensors"));
  const rnn::Model back = rnn::load_model(dir.file("m.safetensors"));
  EXPECT_EQ(back.metadata.at("vocab_reserved"), "1");
  const rnn::Vocab read = rnn::Vocab::read(back, 0, "m");  // the stored convention wins over the legacy one
  EXPECT_EQ(read.reserved(), 1);
  EXPECT_EQ(read.chars(), task.chars());

  // A file written before vocab_reserved existed is read by the rule given.
  rnn::Model old = back;
  old.metadata.erase("vocab_reserved");
  EXPECT_EQ(rnn::Vocab::read(old, 0, "old").reserved(), 0);
  EXPECT_EQ(rnn::Vocab::read(old, 1, "old").reserved(), 1);
  // Stored order is index order, sorted or not.
  old.vocab = "ba";
  EXPECT_EQ(rnn::Vocab::read(old, 0, "old").index(U'b'), 0);

  std::map<std::string, std::string> meta;
  task.store(meta, "target_vocab");
  EXPECT_EQ(meta.at("target_vocab"), "xy");
  EXPECT_EQ(meta.at("target_vocab_reserved"), "1");
  EXPECT_EQ(rnn::Vocab::read(meta, "target_vocab", 0, "f").index(U'y'), 2);
  meta["target_vocab"] = "xyx";
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::Vocab::read(meta, "target_vocab", 1, "f"); }, "f: target_vocab"),
                            "repeats"));
  meta["target_vocab"] = "xy";
  meta["target_vocab_reserved"] = "2";
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::Vocab::read(meta, "target_vocab", 1, "f"); }, "f"),
                            "expected 0 or 1"));
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::Vocab::read(meta, "source_vocab", 1, "f"); }, "f"),
                            "no 'source_vocab'"));
}

}  // namespace

