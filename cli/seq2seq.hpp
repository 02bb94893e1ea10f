// cli/seq2seq.hpp: encoder-decoder commands:
//   rnn train-seq2seq (source<TAB>target lines in, a translator out)
//   rnn translate     (greedy decoding of each stdin line)
#pragma once

#include <cstdint>
#include <string>

namespace seq2seq_cmd {

struct TrainArgs {
  std::string train, test, out, optimizer = "adam", device = "auto";
  int64_t hidden = 128, layers = 1, batch = 32, steps = 3000, max_length = 100;
  double lr = 3e-3, clip = 5.0, momentum = 0.9;
  bool reverse_source = false;  // read each source backwards (Sutskever et al.'s trick)
  bool context = true;          // the encoder's state in every decoder input (Cho et al.)
  uint64_t seed = 1;
};

int train(const TrainArgs& args);
int translate(const std::string& model, int64_t max_length, double temperature, uint64_t seed);

}  // namespace seq2seq_cmd
