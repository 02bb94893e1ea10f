// tests/host/test_learner.cpp: rnn::Learner and rnn::Seq2SeqLearner on the
// CPU are the host API's steps (train_step, classify_step, seq2seq_step)
// bit for bit, over several updates, on both CPU devices; they refuse bad
// input naming it and leave the model as it was; model() carries the vocab
// and metadata given.
#include <random>
#include <utility>

#include "testbed.hpp"

namespace {

rnn::Model tagger(int64_t I, int64_t H, int64_t O, bool bidirectional, uint64_t seed) {
  rnn::Model m = testbed::two_layer_model(I, H, O, bidirectional, seed);
  m.vocab = "abc";
  m.metadata["task"] = "test";
  m.embedding = testbed::random_tensor({3, I}, seed + 99);  // kept, not trained
  return m;
}

void expect_same_weights(const rnn::Model& a, const rnn::Model& b) {
  const auto pa = a.parameters();
  const auto pb = b.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t k = 0; k < pa.size(); ++k) EXPECT_EQ(pa[k].second->values(), pb[k].second->values()) << pa[k].first;
}

class LearnerOnCpu : public ::testing::TestWithParam<rnn::Device> {};

TEST_P(LearnerOnCpu, StepIsTrainStepBitForBit) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int64_t I = 5, H = 7, O = 4;
  const rnn::Model m0 = tagger(I, H, O, true, seed);
  rnn::LearnOptions lo;
  lo.device = GetParam();
  lo.clip = 0.5;  // reached: the clipped path too
  rnn::Learner learner(m0, lo);
  EXPECT_EQ(learner.device(), GetParam());
  rnn::Model m = m0;
  rnn::Optimizer opt(m, lo.optimizer);
  rnn::ForwardOptions on;
  on.device = GetParam();
  for (int step = 0; step < 4; ++step) {
    const int64_t T = 3 + step, B = 2 + step % 2;  // shapes change from step to step
    const rnn::Tensor x = testbed::random_tensor({T, B, I}, seed + 10 + step);
    std::vector<int64_t> lengths, targets;
    testbed::random_batch(T, B, O, seed + 20 + step, lengths, targets);
    const rnn::StepStats s = learner.step(x, &lengths, targets);
    const rnn::TrainStepResult r = rnn::train_step(m, opt, x, nullptr, &lengths, targets, lo.clip, on);
    EXPECT_EQ(s.loss, r.loss);
    EXPECT_EQ(s.count, r.count);
    EXPECT_EQ(s.grad_norm, r.grad_norm);
  }
  const rnn::Model trained = learner.model();
  expect_same_weights(trained, m);
  EXPECT_EQ(trained.embedding.values(), m0.embedding.values());
  EXPECT_EQ(trained.vocab, "abc");
  EXPECT_EQ(trained.metadata.at("task"), "test");
}

TEST_P(LearnerOnCpu, ClassifyIsClassifyStepBitForBit) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  const int64_t I = 4, H = 6, O = 3, T = 5, B = 6;
  const rnn::Model m0 = tagger(I, H, O, true, seed);
  rnn::LearnOptions lo;
  lo.device = GetParam();
  lo.optimizer.kind = rnn::OptimizerKind::Sgd;
  lo.optimizer.momentum = 0.9;
  lo.optimizer.lr = 0.1;
  rnn::Learner learner(m0, lo);
  rnn::Model m = m0;
  rnn::Optimizer opt(m, lo.optimizer);
  rnn::ForwardOptions on;
  on.device = GetParam();
  for (int step = 0; step < 3; ++step) {
    const rnn::Tensor x = testbed::random_tensor({T, B, I}, seed + 10 + step);
    std::vector<int64_t> lengths, unused;
    testbed::random_batch(T, B, O, seed + 20 + step, lengths, unused);
    std::vector<int64_t> labels(static_cast<size_t>(B));
    for (size_t b = 0; b < labels.size(); ++b) labels[b] = static_cast<int64_t>((b + step) % O);
    const rnn::StepStats s = learner.classify(x, lengths, labels);
    const rnn::ClassifyStepResult r = rnn::classify_step(m, opt, x, lengths, labels, lo.clip, on);
    EXPECT_EQ(s.loss, r.loss);
    EXPECT_EQ(s.correct, r.correct);
    EXPECT_EQ(s.count, B);
    EXPECT_EQ(s.grad_norm, r.grad_norm);
  }
  expect_same_weights(learner.model(), m);
}

rnn::Seq2SeqModel pair_model(bool context, uint64_t seed) {
  rnn::ModelConfig e, d;
  e.input_size = 5;
  e.hidden_size = d.hidden_size = 6;
  e.num_layers = d.num_layers = 2;
  d.output_size = 4;
  d.input_size = 4 + (context ? 6 : 0);
  rnn::Seq2SeqModel m{rnn::Model::random(e, seed), rnn::Model::random(d, seed + 1), context};
  m.encoder.metadata["part"] = "encoder";
  m.decoder.vocab = "wxyz";
  return m;
}

TEST_P(LearnerOnCpu, Seq2SeqIsSeq2SeqStepBitForBit) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  for (const bool context : {false, true}) {
    SCOPED_TRACE(context ? "context" : "no context");
    const rnn::Seq2SeqModel m0 = pair_model(context, seed);
    rnn::LearnOptions lo;
    lo.device = GetParam();
    lo.clip = 1.0;
    rnn::Seq2SeqLearner learner(m0, lo);
    rnn::Seq2SeqModel m = m0;
    rnn::Optimizer eo(m.encoder, lo.optimizer), dopt(m.decoder, lo.optimizer);
    for (int step = 0; step < 3; ++step) {
      const int64_t Ts = 4 + step, Tt = 3 + step, B = 3;
      const rnn::Tensor src = testbed::random_tensor({Ts, B, 5}, seed + 10 + step);
      const rnn::Tensor dec_in = testbed::random_tensor({Tt, B, 4}, seed + 20 + step);
      std::vector<int64_t> src_len, tgt_len, targets, unused;
      testbed::random_batch(Ts, B, 4, seed + 30 + step, src_len, unused);
      testbed::random_batch(Tt, B, 4, seed + 40 + step, tgt_len, targets);
      const rnn::StepStats s = learner.step(src, src_len, dec_in, tgt_len, targets);
      const rnn::Seq2SeqStepResult r =
          rnn::seq2seq_step(m, eo, dopt, src, src_len, dec_in, tgt_len, targets, lo.clip, GetParam());
      EXPECT_EQ(s.loss, r.loss);
      EXPECT_EQ(s.count, r.count);
      EXPECT_EQ(s.grad_norm, r.grad_norm);
    }
    const rnn::Seq2SeqModel trained = learner.model();
    expect_same_weights(trained.encoder, m.encoder);
    expect_same_weights(trained.decoder, m.decoder);
    EXPECT_EQ(trained.context, context);
    EXPECT_EQ(trained.encoder.metadata.at("part"), "encoder");
    EXPECT_EQ(trained.decoder.vocab, "wxyz");
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, LearnerOnCpu, ::testing::Values(rnn::Device::Cpu, rnn::Device::Reference),
                         [](const auto& info) { return std::string(rnn::device_name(info.param)); });

// Each refusal names its argument, and a refused call changes nothing.
TEST(Learner, RefusesBadInputAndKeepsTheModel) {
  const rnn::Model m0 = tagger(3, 4, 3, false, 5);
  rnn::LearnOptions lo;
  lo.device = rnn::Device::Cpu;
  rnn::Learner learner(m0, lo);
  const rnn::Tensor x = testbed::random_tensor({2, 2, 3}, 6);
  const std::vector<int64_t> lengths = {2, 1};
  EXPECT_EQ(testbed::error_subject([&] { learner.step(x, &lengths, {-1, -1, -1, -1}); }), "targets");  // none counted
  EXPECT_EQ(testbed::error_subject([&] { learner.step(x, &lengths, {0, 1, 2, 3}); }), "targets");     // 3 >= O, past length
  EXPECT_EQ(testbed::error_subject([&] { learner.step(x, &lengths, {0, 1, 2}); }), "targets");        // T*B = 4
  EXPECT_EQ(testbed::error_subject([&] { learner.step(testbed::random_tensor({2, 2, 5}, 7), nullptr, {0, 1, 2, 0}); }), "x");
  const std::vector<int64_t> long_lengths = {3, 1};
  EXPECT_EQ(testbed::error_subject([&] { learner.step(x, &long_lengths, {0, 1, 2, -1}); }), "lengths");
  EXPECT_EQ(testbed::error_subject([&] { learner.classify(x, lengths, {0}); }), "labels");
  EXPECT_EQ(testbed::error_subject([&] { learner.classify(x, lengths, {0, 3}); }), "labels");
  EXPECT_EQ(testbed::error_subject([&] { learner.classify(x, lengths, {-1, 0}); }), "labels");
  expect_same_weights(learner.model(), m0);

  rnn::ModelConfig headless = m0.config();
  headless.output_size = 0;
  EXPECT_EQ(testbed::error_subject([&] { rnn::Learner(rnn::Model::random(headless, 1), lo); }), "model");
  rnn::LearnOptions bad = lo;
  bad.optimizer.lr = 0.0;
  EXPECT_EQ(testbed::error_subject([&] { rnn::Learner(m0, bad); }), "optimizer");
}

TEST(Seq2SeqLearner, RefusesPairsThatDoNotFitAndBadInput) {
  rnn::Seq2SeqModel m = pair_model(true, 3);
  rnn::LearnOptions lo;
  lo.device = rnn::Device::Cpu;
  rnn::Seq2SeqModel small = m;
  small.decoder = rnn::Model::random([&] {
    rnn::ModelConfig c = m.decoder.config();
    c.hidden_size = 3;
    return c;
  }(), 1);
  EXPECT_EQ(testbed::error_subject([&] { rnn::Seq2SeqLearner(small, lo); }), "model");
  rnn::Seq2SeqModel headed = m;  // an encoder's head would never be trained
  headed.encoder = rnn::Model::random([&] {
    rnn::ModelConfig c = m.encoder.config();
    c.output_size = 2;
    return c;
  }(), 1);
  EXPECT_EQ(testbed::error_subject([&] { rnn::Seq2SeqLearner(headed, lo); }), "model");
  rnn::Seq2SeqLearner learner(m, lo);
  const rnn::Tensor src = testbed::random_tensor({3, 2, 5}, 4), dec_in = testbed::random_tensor({2, 2, 4}, 5);
  const std::vector<int64_t> len = {2, 1};
  EXPECT_EQ(testbed::error_subject([&] { learner.step(src, len, testbed::random_tensor({2, 2, 10}, 6), len, {0, 1, 2, -1}); }),
            "dec_in");  // the context columns are the learner's to add
  EXPECT_EQ(testbed::error_subject([&] { learner.step(src, {4, 1}, dec_in, len, {0, 1, 2, -1}); }), "lengths");
  EXPECT_EQ(testbed::error_subject([&] { learner.step(src, len, dec_in, len, {0, 1, 2, 3}); }), "targets");
  EXPECT_EQ(testbed::error_subject([&] { learner.step(src, len, dec_in, len, {-1, -1, -1, -1}); }), "targets");
  const rnn::Seq2SeqModel after = learner.model();
  expect_same_weights(after.encoder, m.encoder);
  expect_same_weights(after.decoder, m.decoder);
}

}  // namespace
