// rnn/seq2seq.hpp: sequence to sequence: an encoder RNN reads the source;
// its final states are the decoder RNN's initial states; the decoder, fed
// the target shifted right (teacher forcing), predicts each next target
// symbol through its head. Encoder and decoder have the same layers and
// hidden size and are unidirectional.
//
// With `context` set, the encoder's final top-layer state c [B, H] is also
// appended to every decoder input (Cho et al., 2014): the decoder's input
// at step t is [symbol_t, c], so its input_size is the target symbols' width
// plus H. The decoder then never has to carry the source through its own
// recurrence alone, which is what lets a vanilla RNN decoder reproduce
// every detail of a long output. The symbols passed to the functions below
// are always the symbols alone; the context is appended here.
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/model.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn {

struct Seq2SeqModel {
  Model encoder;  // input: the source symbols
  Model decoder;  // input: the target symbols (and the context); head: the target symbols' logits
  bool context = false;  // append the encoder's final top-layer state to every decoder input
};

// The width of the decoder's symbol input: decoder input_size, less H with context.
int64_t seq2seq_symbols(const Seq2SeqModel& model);

struct Seq2SeqStepResult {
  double loss = 0.0;   // mean NLL (nats) per target symbol
  int64_t count = 0;
  double grad_norm = 0.0;  // of both models' gradients together, before clipping
};

// One update with teacher forcing:
//   src [Ts, B, Vs] with src_lengths [B]; dec_in [Tt, B, Vt] with
//   tgt_lengths [B]; targets [Tt*B] time-major (-1 past each length).
// Vt is seq2seq_symbols(model). The loss reaches the encoder through the
// decoder's h0 (and, with context, through every decoder input). Clipping
// (<= 0: none) is over both models' gradients together. The RNNs' forward
// and backward passes run on `device` (auto: the GPU when usable); the
// heads, losses and updates on the host.
Seq2SeqStepResult seq2seq_step(Seq2SeqModel& model, Optimizer& encoder_opt, Optimizer& decoder_opt, const Tensor& src,
                               const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                               const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets,
                               double clip, Device device = Device::Cpu);

// Greedy decoding of one source [Ts, 1, Vs] (all Ts steps valid): feeds
// `start` (a one-hot index of the decoder's input) and then each argmax,
// until `stop` is produced or max_length symbols; returns the indices
// produced (without `stop`).
std::vector<int64_t> seq2seq_greedy(const Seq2SeqModel& model, const Tensor& src, int64_t start, int64_t stop,
                                    int64_t max_length);

// The same, drawing each symbol from softmax(logits / temperature) with a
// generator seeded by `seed` (temperature 0 is greedy): one source, many
// different outputs (one-to-many generation).
std::vector<int64_t> seq2seq_sample(const Seq2SeqModel& model, const Tensor& src, int64_t start, int64_t stop,
                                    int64_t max_length, double temperature, uint64_t seed);

}  // namespace rnn
