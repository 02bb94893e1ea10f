// rnn/rnn.hpp: the whole public API of the rnn engine.
//
//   rnn/error.hpp    rnn::Error, the one exception type
//   rnn/tensor.hpp   rnn::Tensor, a host float32 array
//   rnn/model.hpp    rnn::Model, its config and weights; load_model / save_model
//   rnn/io.hpp       .npy and .safetensors readers and writers
//   rnn/device.hpp   rnn::Device (auto, cpu, cuda)
//   rnn/forward.hpp  rnn::forward, rnn::forward_sequences, rnn::apply_head
//   rnn/backward.hpp rnn::backward (BPTT: dx, dh0, parameter gradients)
//   rnn/train.hpp    loss, optimizers, clipping, train_step, the step API (rnn::Stepper)
//   rnn/classify.hpp many-to-one: final states through the head (classify_step, classify_logits)
//   rnn/seq2seq.hpp  encoder-decoder: seq2seq_step (teacher forcing), seq2seq_greedy
#pragma once

#include "rnn/backward.hpp"
#include "rnn/classify.hpp"
#include "rnn/device.hpp"
#include "rnn/error.hpp"
#include "rnn/forward.hpp"
#include "rnn/io.hpp"
#include "rnn/learner.hpp"
#include "rnn/limits.hpp"
#include "rnn/model.hpp"
#include "rnn/sample.hpp"
#include "rnn/seq2seq.hpp"
#include "rnn/tensor.hpp"
#include "rnn/text.hpp"
#include "rnn/train.hpp"
#include "rnn/version.hpp"
