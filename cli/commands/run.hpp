// cli/commands/run.hpp: rnn run (the forward pass on .npy inputs) and rnn
// backward (its gradients), the commands of the project's contract.
#pragma once

#include <string>

#include "rnn/model.hpp"

namespace run_cmd {

struct RunArgs {
  std::string model, input, h0, lengths, output, final_state, device = "auto", kernel = "auto";
  std::string states;  // with a head: write the top layer's states here (--output gets the logits)
  rnn::LoadOptions names;  // --rnn-prefix, --head-prefix, --embedding-prefix
  bool batch_first = false;
  bool check_finite = false;  // a NaN or infinity in an output is an error naming its position
};

struct BackwardArgs {
  RunArgs in;  // model, input, h0, lengths, batch-first, device
  std::string grad_output, grad_final_state, grad_input, grad_h0, grad_weights;
};

int run(const RunArgs& args);
int backward(const BackwardArgs& args);

}  // namespace run_cmd
