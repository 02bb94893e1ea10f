// cli/commands/charlm.hpp: the character-level language model commands:
//   rnn train-char (train on a text, save a model with its vocabulary)
//   rnn sample     (generate text one character at a time)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace charlm {

struct TrainArgs {
  std::string text, string, out, optimizer = "adam", device = "auto", keep = "last";
  int64_t hidden = 128, layers = 1, seq_len = 50, batch = 32, steps = 1000;
  int64_t save_every = 0, eval_every = 0;  // 0: never
  double lr = 2e-3, clip = 5.0, momentum = 0.9;
  uint64_t seed = 1;
};

struct SampleArgs {
  std::string model, prime, device = "auto";
  int64_t length = 200;
  double temperature = 1.0;
  uint64_t seed = 1;
};

int train(const TrainArgs& args);
int sample(const SampleArgs& args);

}  // namespace charlm
