// cli/commands/seq2seq.hpp: encoder-decoder commands:
//   rnn train-seq2seq (source<TAB>target lines in, a translator out)
//   rnn translate     (greedy decoding of each stdin line)
#pragma once

#include <cstdint>
#include <string>

#include "rnn/seq2seq.hpp"
#include "rnn/text.hpp"
#include "task_args.hpp"

namespace seq2seq_cmd {

struct TrainArgs : tasks::TrainArgs {
  TrainArgs() {
    hidden = 128;
    steps = 3000;
  }
  int64_t max_length = 100;     // the longest output when decoding
  bool reverse_source = false;  // read each source backwards (Sutskever et al.'s trick)
  bool context = true;          // the encoder's state in every decoder input (Cho et al.)
};

int train(const TrainArgs& args);
// A model file from train-seq2seq: the two RNNs (the decoder with the head
// fc.*), the vocabularies and whether sources are read reversed.
rnn::Seq2SeqModel load_pair(const std::string& path, rnn::Vocab& src, rnn::Vocab& tgt, bool& reverse);
int translate(const std::string& model, int64_t max_length, double temperature, uint64_t seed,
              const std::string& unknown);

}  // namespace seq2seq_cmd
