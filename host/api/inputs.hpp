// host/api/inputs.hpp: input checks and layout helpers shared by the entry
// points in host/api/ (forward, backward, training, the optimizers).
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/model.hpp"
#include "rnn/seq2seq.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn::detail {

// [A, B, C] -> [B, A, C]
Tensor swap01(const Tensor& t);

// Throws rnn::Error with subject "model", "x", "h0" or "lengths" when an
// input does not fit the model (see rnn/forward.hpp).
void validate_inputs(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                     bool batch_first);
// The same checks of the inputs alone against a model of `config` (one
// already validated).
void check_inputs_fit(const ModelConfig& config, const Tensor& x, const Tensor* h0,
                      const std::vector<int64_t>* lengths, bool batch_first);

// rnn::Optimizer's checks of its settings (rnn::Error "optimizer").
void check_optimizer_options(const OptimizerOptions& options);

// Throws rnn::Error("lengths", ...) unless lengths holds B lengths, each in [1, T].
void check_lengths(const std::vector<int64_t>& lengths, int64_t T, int64_t B);

// A training step's checks before any work: the model has a head, x (and
// h0, lengths) fit it (validate_inputs, time-major), targets hold T*B
// entries and -1 at every position past its sequence's length.
void check_training_inputs(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>& targets,
                           const std::vector<int64_t>* lengths);
// The same against a model of `config` (one already validated).
void check_training_inputs(const ModelConfig& config, const Tensor& x, const Tensor* h0,
                           const std::vector<int64_t>& targets, const std::vector<int64_t>* lengths);
// targets [T*B]: -1 past each length (lengths null: all T); rnn::Error("targets").
void check_targets_within(const std::vector<int64_t>& targets, int64_t T, int64_t B,
                          const std::vector<int64_t>* lengths);
// Each target below O; at least one counted (>= 0). Returns the count.
int64_t counted_targets(const std::vector<int64_t>& targets, int64_t O);
// labels [B] of a classifier's batch, each in [0, O) (none ignored: the loss
// is the mean over the batch); rnn::Error("labels").
void check_labels(const std::vector<int64_t>& labels, int64_t B, int64_t O);

// Refuses (rnn::Error "model") an encoder and decoder that do not fit
// together (rnn/seq2seq.hpp).
void check_seq2seq_pair(const ModelConfig& encoder, const ModelConfig& decoder, bool context);
// seq2seq_step's checks (rnn/seq2seq.hpp): the pair fits together, src
// and its lengths fit the encoder, dec_in is [Tt, B, symbols] with
// tgt_lengths and targets as a training step's.
void check_seq2seq_step(const ModelConfig& encoder, const ModelConfig& decoder, bool context, const Tensor& src,
                        const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                        const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets);

// Refuses (subject "x") a CPU pass over T steps of B sequences whose
// buffers would not fit in the host memory available (rnn/limits.hpp).
void check_cpu_pass_memory(const ModelConfig& config, int64_t T, int64_t B, bool backward, bool batch_first);

// True when the fast CPU backend can take T steps of B sequences: BLAS's
// 32-bit sizes hold every matrix of the pass (else the reference runs).
bool fast_cpu_fits(const ModelConfig& config, int64_t T, int64_t B);

// True when a and b have the same parameters, by name and shape.
bool same_shapes(const Model& a, const Model& b);

}  // namespace rnn::detail
