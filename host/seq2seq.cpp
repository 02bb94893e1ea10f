// host/seq2seq.cpp: encoder-decoder training with teacher forcing and
// greedy decoding, on the CPU.
#include <cmath>
#include <random>

#include "rnn/backward.hpp"
#include "rnn/error.hpp"
#include "rnn/forward.hpp"
#include "rnn/seq2seq.hpp"

namespace rnn {

namespace {
void check_pair(const Seq2SeqModel& m) {
  const ModelConfig &e = m.encoder.config(), &d = m.decoder.config();
  if (e.bidirectional || d.bidirectional) throw Error("model", "seq2seq encoder and decoder are unidirectional");
  if (e.num_layers != d.num_layers || e.hidden_size != d.hidden_size)
    throw Error("model", "the encoder's final states must fit the decoder: same layers and hidden size");
  if (!m.decoder.has_head()) throw Error("model", "the decoder needs an output head");
}
}  // namespace

Seq2SeqStepResult seq2seq_step(Seq2SeqModel& model, Optimizer& encoder_opt, Optimizer& decoder_opt, const Tensor& src,
                               const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                               const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets,
                               double clip) {
  check_pair(model);
  ForwardOptions cpu;
  cpu.device = Device::Cpu;
  const ForwardResult enc = forward(model.encoder, src, nullptr, &src_lengths, cpu);
  LossAndGrads dec = loss_and_grads(model.decoder, dec_in, &enc.h_n, targets, &tgt_lengths);
  // The encoder gets the loss only through its final states.
  const Tensor dy(enc.y.shape());
  BackwardResult eb = backward(model.encoder, src, nullptr, &src_lengths, dy, &dec.dh0, cpu);
  Model enc_grads = std::move(eb.grads);

  Seq2SeqStepResult r;
  r.loss = dec.loss;
  r.count = dec.count;
  double sq = 0.0;
  for (const Model* g : {&enc_grads, &dec.grads})
    for (const auto& [name, t] : g->parameters())
      for (int64_t i = 0; i < t->numel(); ++i) sq += static_cast<double>((*t)[i]) * (*t)[i];
  r.grad_norm = std::sqrt(sq);
  if (clip > 0.0 && r.grad_norm > clip) {
    const double scale = clip / (r.grad_norm + 1e-6);
    for (Model* g : {&enc_grads, &dec.grads})
      for (auto& [name, t] : g->parameters())
        for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = static_cast<float>((*t)[i] * scale);
  }
  encoder_opt.step(model.encoder, enc_grads);
  decoder_opt.step(model.decoder, dec.grads);
  return r;
}

std::vector<int64_t> seq2seq_greedy(const Seq2SeqModel& model, const Tensor& src, int64_t start, int64_t stop,
                                    int64_t max_length) {
  return seq2seq_sample(model, src, start, stop, max_length, 0.0, 0);
}

std::vector<int64_t> seq2seq_sample(const Seq2SeqModel& model, const Tensor& src, int64_t start, int64_t stop,
                                    int64_t max_length, double temperature, uint64_t seed) {
  if (!(temperature >= 0.0)) throw Error("temperature", "must be 0 (greedy) or more");
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  check_pair(model);
  ForwardOptions cpu;
  cpu.device = Device::Cpu;
  const ForwardResult enc = forward(model.encoder, src, nullptr, nullptr, cpu);
  Stepper dec(model.decoder, 1, Device::Cpu);
  dec.reset(&enc.h_n);
  std::vector<int64_t> out;
  int64_t next = start;
  for (int64_t n = 0; n < max_length; ++n) {
    dec.step_one_hot({next});
    const Tensor z = dec.logits();
    int64_t arg = 0;
    for (int64_t k = 1; k < z.numel(); ++k)
      if (z[k] > z[arg]) arg = k;
    if (temperature > 0.0) {
      std::vector<double> p(static_cast<size_t>(z.numel()));
      double sum = 0.0;
      for (int64_t k = 0; k < z.numel(); ++k) sum += (p[k] = std::exp((z[k] - z[arg]) / temperature));
      double r = u(gen) * sum;
      int64_t pick = z.numel() - 1;
      for (int64_t k = 0; k < z.numel(); ++k) {
        if (r < p[k]) {
          pick = k;
          break;
        }
        r -= p[k];
      }
      arg = pick;
    }
    if (arg == stop) break;
    out.push_back(arg);
    next = arg;
  }
  return out;
}

}  // namespace rnn
