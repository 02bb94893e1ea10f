// cli/classify.hpp: many-to-one commands:
//   rnn train-classify (label<TAB>text lines in, a classifier out)
//   rnn classify       (a label per stdin line)
#pragma once

#include <cstdint>
#include <string>

namespace classify_cmd {

struct TrainArgs {
  std::string train, test, out, optimizer = "adam", device = "auto";
  int64_t hidden = 64, layers = 1, batch = 32, steps = 2000;
  bool bidirectional = false;
  double lr = 3e-3, clip = 5.0, momentum = 0.9;
  uint64_t seed = 1;
};

int train(const TrainArgs& args);
int classify(const std::string& model, const std::string& device);

}  // namespace classify_cmd
