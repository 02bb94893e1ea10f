// cli/commands/task_args.hpp: the model and training flags the supervised task
// commands share (train-classify, train-tag, train-seq2seq).
#pragma once

#include <cstdint>
#include <string>

namespace tasks {

struct TrainArgs {
  std::string train, test, out, optimizer = "adam", device = "auto";
  int64_t hidden = 64, layers = 1, batch = 32, steps = 2000;
  int64_t save_every = 0;  // 0: save at the end only
  bool bidirectional = false;  // not offered by train-seq2seq
  double lr = 3e-3, clip = 5.0, momentum = 0.9;
  uint64_t seed = 1;
};

}  // namespace tasks
