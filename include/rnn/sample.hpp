// rnn/sample.hpp: generation from a model whose head's output indexes its
// input (a character language model from `rnn train-char`: I = O = V).
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/device.hpp"
#include "rnn/model.hpp"

namespace rnn {

// Feeds `prime` (at least one index, each in [0, I)) one step at a time,
// then generates `length` indices, each the next step's one-hot input:
// greedy (the largest logit) at temperature 0, else drawn
// from softmax(logits / temperature) with a generator seeded by `seed`. Same
// seed, same result, run after run on one device. On the CPU the draws come
// from std::mt19937_64; on the GPU (rnn::cuda::Stepper: each step is one
// launch that also picks the next index, kept on the device) from a
// generator keyed by (seed, step), so CPU and GPU agree at temperature 0 and
// draw differently above it. Returns the generated indices (without the
// prime). The model must be unidirectional with a head, O = I. Throws
// rnn::Error("model" or "prime", ...) otherwise, "device" when the device
// cannot run.
std::vector<int64_t> generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                              double temperature, uint64_t seed, Device device = Device::Auto);

}  // namespace rnn
