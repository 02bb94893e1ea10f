// host/api/train_fast.hpp: the training step on the fast CPU backend with
// buffers kept from step to step (rnn::ChunkTrainer holds one state for the
// whole run, so a step allocates nothing after the first).
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/fast.hpp"
#include "rnn/train.hpp"

namespace rnn::detail {

struct FastTrainState {
  cpu::fast::Cache cache;  // the forward pass kept, and the working buffers
  Model grads;             // the model's config, head included
  Tensor dh0;
};

// train_step (rnn/train.hpp) on the fast CPU backend; inputs validated
// here, as train_step does.
TrainStepResult fast_train_step(Model& model, Optimizer& optimizer, const Tensor& x, const Tensor* h0,
                                const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets, double clip,
                                FastTrainState& state);

}  // namespace rnn::detail
