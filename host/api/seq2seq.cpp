// host/api/seq2seq.cpp: encoder-decoder training with teacher forcing (the two
// RNNs' passes on the device chosen, each forward pass kept for its backward
// pass) and greedy or sampled decoding (on the CPU).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "engine/check_model.hpp"
#include "rnn/backward.hpp"
#include "rnn/error.hpp"
#include "rnn/forward.hpp"
#include "rnn/seq2seq.hpp"

#include "api/inputs.hpp"
#include "api/sample.hpp"
#include "engine/pass.hpp"

namespace rnn {

namespace {
// [Tt, B, Vt] symbols and the top layer of h_n [L, B, H] -> [Tt, B, Vt + H].
Tensor with_context(const Tensor& symbols, const Tensor& h_n) {
  const int64_t T = symbols.dim(0), B = symbols.dim(1), V = symbols.dim(2), H = h_n.dim(2);
  const float* top = h_n.data() + (h_n.dim(0) - 1) * B * H;
  Tensor x({T, B, V + H});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      float* row = x.data() + (t * B + b) * (V + H);
      const float* s = symbols.data() + (t * B + b) * V;
      std::copy(s, s + V, row);
      std::copy(top + b * H, top + (b + 1) * H, row + V);
    }
  return x;
}
}  // namespace

namespace detail {

void check_seq2seq_pair(const ModelConfig& e, const ModelConfig& d, bool context) {
  if (e.bidirectional || d.bidirectional) throw Error("model", "seq2seq encoder and decoder are unidirectional");
  if (e.output_size > 0)
    throw Error("model", "the encoder has an output head (fc.*): seq2seq reads its final states, not a head");
  if (e.num_layers != d.num_layers || e.hidden_size != d.hidden_size)
    throw Error("model", "the encoder's final states must fit the decoder: same layers and hidden size");
  if (d.output_size < 1) throw Error("model", "the decoder needs an output head");
  if (context && d.input_size <= d.hidden_size)
    throw Error("model", "with context the decoder's input_size (" + std::to_string(d.input_size) +
                             ") must exceed its hidden size (" + std::to_string(d.hidden_size) +
                             "): symbols plus the encoder's state");
  // Each symbol the head produces is fed back as the next input.
  const int64_t symbols = context ? d.input_size - d.hidden_size : d.input_size;
  if (d.output_size > symbols)
    throw Error("model", "the decoder's head has " + std::to_string(d.output_size) + " outputs but its input only " +
                             std::to_string(symbols) + " symbols: every output must be a valid next input");
}

void check_seq2seq_step(const ModelConfig& encoder, const ModelConfig& decoder, bool context, const Tensor& src,
                        const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                        const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets) {
  check_seq2seq_pair(encoder, decoder, context);
  const int64_t symbols = context ? decoder.input_size - decoder.hidden_size : decoder.input_size;
  if (dec_in.rank() != 3 || dec_in.dim(2) != symbols)
    throw Error("dec_in", "has shape " + shape_string(dec_in.shape()) + ", expected [Tt, B, " +
                              std::to_string(symbols) + "] (the decoder's symbols)");
  if (src.rank() != 3 || src.dim(1) != dec_in.dim(1))
    throw Error("dec_in", "holds " + std::to_string(dec_in.dim(1)) + " sequences but src " + shape_string(src.shape()) +
                              " holds " + (src.rank() == 3 ? std::to_string(src.dim(1)) : std::string("?")) +
                              ": one target per source");
  check_inputs_fit(encoder, src, nullptr, &src_lengths, /*batch_first=*/false);
  const int64_t T = dec_in.dim(0), B = dec_in.dim(1);
  if (T < 1) throw Error("dec_in", "Tt = 0: the target must be at least 1 step");
  check_lengths(tgt_lengths, T, B);
  check_targets_within(targets, T, B, &tgt_lengths);
}

}  // namespace detail

int64_t seq2seq_symbols(const Seq2SeqModel& model) {
  const ModelConfig& d = model.decoder.config();
  return model.context ? d.input_size - d.hidden_size : d.input_size;
}

Seq2SeqStepResult seq2seq_step(Seq2SeqModel& model, Optimizer& encoder_opt, Optimizer& decoder_opt, const Tensor& src,
                               const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                               const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets,
                               double clip, Device device) {
  detail::check_model(model.encoder);
  detail::check_model(model.decoder);
  detail::check_seq2seq_step(model.encoder.config(), model.decoder.config(), model.context, src, src_lengths, dec_in,
                             tgt_lengths, targets);
  ForwardOptions cpu;
  cpu.device = resolve_device(device);  // the device of both RNNs' passes
  // The encoder's forward pass, kept for its backward pass below.
  const std::unique_ptr<detail::Pass> enc_pass =
      detail::forward_for_backward(model.encoder, src, nullptr, &src_lengths, cpu);
  const Tensor& enc_h_n = enc_pass->h_n();
  LossAndGrads dec =
      model.context
          ? loss_and_grads(model.decoder, with_context(dec_in, enc_h_n), &enc_h_n, targets, &tgt_lengths, cpu)
          : loss_and_grads(model.decoder, dec_in, &enc_h_n, targets, &tgt_lengths, cpu);
  // The encoder gets the loss through its final states: the decoder's h0
  // and, with context, the context columns of every valid decoder input.
  Tensor dh_n = dec.dh0;
  if (model.context) {
    const int64_t B = dec_in.dim(1), V = dec_in.dim(2), H = dh_n.dim(2);
    float* top = dh_n.data() + (dh_n.dim(0) - 1) * B * H;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = 0; k < H; ++k) {
        double sum = top[b * H + k];
        for (int64_t t = 0; t < tgt_lengths[static_cast<size_t>(b)]; ++t) sum += dec.dx[(t * B + b) * (V + H) + V + k];
        top[b * H + k] = static_cast<float>(sum);
      }
  }
  const Tensor dy(enc_pass->y().shape());
  Tensor enc_dx, enc_dh0;
  Model enc_grads;
  enc_pass->backward(dy, &dh_n, enc_dx, enc_dh0, enc_grads);

  Seq2SeqStepResult r;
  r.loss = dec.loss;
  r.count = dec.count;
  r.grad_norm = clip_grad_norm({&enc_grads, &dec.grads}, clip);
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
  std::vector<double> p;
  detail::check_seq2seq_pair(model.encoder.config(), model.decoder.config(), model.context);
  ForwardOptions cpu;
  cpu.device = Device::Cpu;
  if (src.rank() != 3 || src.dim(1) != 1) throw Error("src", "must be one source [Ts, 1, Vs]");
  const ForwardResult enc = forward(model.encoder, src, nullptr, nullptr, cpu);
  Stepper dec(model.decoder, 1, Device::Cpu);
  dec.reset(&enc.h_n);
  const int64_t V = seq2seq_symbols(model), H = model.decoder.config().hidden_size;
  if (start < 0 || start >= V || stop < 0 || stop >= V)
    throw Error("start/stop", "must be symbols of the decoder's input, in [0, " + std::to_string(V) + ")");
  // The decoder's input: the one-hot symbol, then (with context) the encoder's top state.
  Tensor in({1, model.decoder.config().input_size});
  if (model.context) {
    const float* top = enc.h_n.data() + (enc.h_n.dim(0) - 1) * H;
    std::copy(top, top + H, in.data() + V);
  }
  std::vector<int64_t> out;
  int64_t next = start;
  for (int64_t n = 0; n < max_length; ++n) {
    std::fill(in.data(), in.data() + V, 0.0f);
    in[next] = 1.0f;
    dec.step(in);
    const int64_t arg = detail::pick_next(dec.logits(), temperature, gen, p);
    if (arg == stop) break;
    out.push_back(arg);
    next = arg;
  }
  return out;
}

}  // namespace rnn
