// tests/host/test_seq2seq.cpp: the encoder-decoder step's gradients (the
// encoder's through the decoder's h0) against finite differences, and a
// small task learnt to exact match.
#include <cmath>
#include <random>
#include <utility>

#include "testbed.hpp"

namespace {

rnn::Seq2SeqModel pair_model(int64_t vs, int64_t vt, int64_t H, uint64_t seed, bool context = false,
                             int64_t layers = 1) {
  rnn::ModelConfig e, d;
  e.input_size = vs;
  e.hidden_size = d.hidden_size = H;
  e.num_layers = d.num_layers = layers;
  d.output_size = vt;
  d.input_size = vt + (context ? H : 0);
  return {rnn::Model::random(e, seed), rnn::Model::random(d, seed + 1), context};
}

// The decoder's input with context, built independently of the library:
// [symbols_t, top layer of h_n] at every step.
rnn::Tensor append_context(const rnn::Tensor& sym, const rnn::Tensor& h_n) {
  const int64_t T = sym.dim(0), B = sym.dim(1), V = sym.dim(2), H = h_n.dim(2), L = h_n.dim(0);
  rnn::Tensor x({T, B, V + H});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t v = 0; v < V; ++v) x[(t * B + b) * (V + H) + v] = sym[(t * B + b) * V + v];
      for (int64_t k = 0; k < H; ++k) x[(t * B + b) * (V + H) + V + k] = h_n[((L - 1) * B + b) * H + k];
    }
  return x;
}

class Seq2SeqGradients : public ::testing::TestWithParam<std::pair<bool, int64_t>> {};

// SGD, lr 1, no clipping: each model's update is exactly -grad.
TEST_P(Seq2SeqGradients, StepMatchesFiniteDifferences) {
  const bool context = GetParam().first;
  const int64_t layers = GetParam().second;
  const rnn::Seq2SeqModel m0 = pair_model(3, 4, 5, 7, context, layers);
  const auto src = testbed::random_tensor({4, 2, 3}, 8);
  const auto dec_in = testbed::random_tensor({3, 2, 4}, 9);
  const std::vector<int64_t> src_len = {4, 2}, tgt_len = {3, 2};
  const std::vector<int64_t> targets = {1, 3, 0, 2, 2, -1};
  auto loss = [&](const rnn::Seq2SeqModel& m) {
    rnn::ForwardOptions o;
    o.device = rnn::Device::Cpu;
    const auto enc = rnn::forward(m.encoder, src, nullptr, &src_len, o);
    const auto dec =
        rnn::forward(m.decoder, context ? append_context(dec_in, enc.h_n) : dec_in, &enc.h_n, &tgt_len, o);
    return rnn::softmax_cross_entropy(rnn::apply_head(m.decoder, dec.y), targets).loss;
  };
  rnn::Seq2SeqModel m = m0;
  rnn::OptimizerOptions oo;
  oo.kind = rnn::OptimizerKind::Sgd;
  oo.lr = 1.0;
  rnn::Optimizer eo(m.encoder, oo), dopt(m.decoder, oo);
  const auto r = rnn::seq2seq_step(m, eo, dopt, src, src_len, dec_in, tgt_len, targets, 0.0);
  EXPECT_NEAR(r.loss, loss(m0), 1e-6);
  for (int part = 0; part < 2; ++part) {
    rnn::Seq2SeqModel probe = m0;
    auto params = (part == 0 ? probe.encoder : probe.decoder).parameters();
    const auto before = (part == 0 ? m0.encoder : m0.decoder).parameters();
    const auto after = std::as_const(part == 0 ? m.encoder : m.decoder).parameters();
    for (size_t k = 0; k < params.size(); ++k) {
      rnn::Tensor& w = *params[k].second;
      double num = 0, den = 0;
      for (int64_t i = 0; i < w.numel(); ++i) {
        const float keep = w[i], eps = 0x1p-10f;
        w[i] = keep + eps;
        const double up = loss(probe);
        w[i] = keep - eps;
        const double down = loss(probe);
        w[i] = keep;
        const double fd = (up - down) / (2 * eps);
        const double g = static_cast<double>((*before[k].second)[i]) - (*after[k].second)[i];
        num += (fd - g) * (fd - g);
        den += fd * fd;
      }
      EXPECT_LT(std::sqrt(num) / std::max(std::sqrt(den), 1e-12), 5e-3)
          << (part == 0 ? "encoder " : "decoder ") << params[k].first;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ContextAndLayers, Seq2SeqGradients,
                         ::testing::Values(std::make_pair(false, int64_t{1}), std::make_pair(true, int64_t{1}),
                                           std::make_pair(true, int64_t{2})),
                         [](const auto& info) {
                           return std::string(info.param.first ? "Context" : "NoContext") + "L" +
                                  std::to_string(info.param.second);
                         });

TEST(Seq2Seq, RefusesMisfittingModelsAndInputs) {
  rnn::Seq2SeqModel m = pair_model(3, 4, 5, 7, /*context=*/true);
  rnn::OptimizerOptions oo;
  rnn::Optimizer eo(m.encoder, oo), dopt(m.decoder, oo);
  const auto src = testbed::random_tensor({2, 1, 3}, 1);
  const std::vector<int64_t> sl = {2}, tl = {2}, targets = {1, 2};
  EXPECT_EQ(rnn::seq2seq_symbols(m), 4);
  // The symbols alone are passed; the decoder's full input width is refused.
  EXPECT_TRUE(testbed::says(
      testbed::error_of(
          [&] { rnn::seq2seq_step(m, eo, dopt, src, sl, testbed::random_tensor({2, 1, 9}, 2), tl, targets, 0); },
          "dec_in"),
      "[Tt, B, 4]"));
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::seq2seq_greedy(m, src, 0, 4, 5); }, "start/stop"), "[0, 4)"));
  // A batch of targets that does not match the sources.
  EXPECT_TRUE(testbed::says(
      testbed::error_of(
          [&] { rnn::seq2seq_step(m, eo, dopt, src, sl, testbed::random_tensor({2, 3, 4}, 3), {2, 2, 2},
                                  {1, 2, 1, 2, 1, 2}, 0); },
          "dec_in"),
      "one target per source"));
  // A head with more outputs than input symbols could feed back an index past the input.
  rnn::Seq2SeqModel wide = pair_model(3, 4, 5, 7, /*context=*/true);
  {
    rnn::ModelConfig d = wide.decoder.config();
    d.output_size = 6;
    wide.decoder = rnn::Model::random(d, 8);
  }
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::seq2seq_greedy(wide, src, 0, 0, 5); }, "model"),
                            "every output must be a valid next input"));
  rnn::Seq2SeqModel narrow = pair_model(3, 4, 5, 7, /*context=*/false);
  narrow.context = true;  // input_size 4 cannot hold 5 context columns
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::seq2seq_greedy(narrow, src, 0, 0, 5); }, "model"),
                            "must exceed its hidden size"));
}

// Reverse a sequence of 2 to 4 symbols out of 3: learnt to >= 90% exact
// match, with and without context.
class Seq2SeqLearns : public ::testing::TestWithParam<bool> {};

TEST_P(Seq2SeqLearns, ToReverseShortSequences) {
  // source symbols 0..2 (index k+1 would be the CLI's; here plain one-hot of 3);
  // target vocabulary: 0 = boundary, 1..3 = the symbols.
  rnn::Seq2SeqModel m = pair_model(3, 4, 24, 11, GetParam());
  rnn::OptimizerOptions oo;
  oo.lr = 0.02;
  rnn::Optimizer eo(m.encoder, oo), dopt(m.decoder, oo);
  std::mt19937_64 gen(12);
  auto sample = [&](std::vector<int64_t>& s) {
    s.resize(2 + gen() % 3);
    for (auto& v : s) v = static_cast<int64_t>(gen() % 3);
  };
  for (int step = 0; step < 600; ++step) {
    const int64_t B = 16;
    std::vector<std::vector<int64_t>> seqs(B);
    int64_t Ts = 0;
    for (auto& s : seqs) sample(s), Ts = std::max<int64_t>(Ts, s.size());
    const int64_t Tt = Ts + 1;
    rnn::Tensor src({Ts, B, 3}), din({Tt, B, 4});
    std::vector<int64_t> sl, tl, targets(static_cast<size_t>(Tt * B), -1);
    for (int64_t b = 0; b < B; ++b) {
      const auto& s = seqs[b];
      const int64_t n = static_cast<int64_t>(s.size());
      sl.push_back(n);
      tl.push_back(n + 1);
      for (int64_t t = 0; t < n; ++t) src[(t * B + b) * 3 + s[t]] = 1.0f;
      din[(0 * B + b) * 4 + 0] = 1.0f;
      for (int64_t t = 0; t < n; ++t) {
        const int64_t sym = s[n - 1 - t] + 1;
        targets[t * B + b] = sym;
        din[((t + 1) * B + b) * 4 + sym] = 1.0f;
      }
      targets[n * B + b] = 0;
    }
    rnn::seq2seq_step(m, eo, dopt, src, sl, din, tl, targets, 5.0);
  }
  int exact = 0;
  for (int i = 0; i < 100; ++i) {
    std::vector<int64_t> s;
    sample(s);
    rnn::Tensor src({static_cast<int64_t>(s.size()), 1, 3});
    for (size_t t = 0; t < s.size(); ++t) src[t * 3 + s[t]] = 1.0f;
    const auto out = rnn::seq2seq_greedy(m, src, 0, 0, 10);
    std::vector<int64_t> want;
    for (size_t t = s.size(); t-- > 0;) want.push_back(s[t] + 1);
    exact += out == want;
  }
  EXPECT_GE(exact, 90);
}

INSTANTIATE_TEST_SUITE_P(Context, Seq2SeqLearns, ::testing::Bool(),
                         [](const auto& info) { return std::string(info.param ? "Context" : "NoContext"); });

}  // namespace
