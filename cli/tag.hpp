// cli/tag.hpp: many-to-many (synchronised) commands:
//   rnn train-tag (text<TAB>tags lines in, one tag character per text character)
//   rnn tag       (the tags of each stdin line)
#pragma once

#include <cstdint>
#include <string>

namespace tag_cmd {

struct TrainArgs {
  std::string train, test, out, optimizer = "adam", device = "auto";
  int64_t hidden = 64, layers = 1, batch = 32, steps = 2000;
  bool bidirectional = false;
  double lr = 3e-3, clip = 5.0, momentum = 0.9;
  uint64_t seed = 1;
};

int train(const TrainArgs& args);
int tag(const std::string& model, const std::string& device);

}  // namespace tag_cmd
