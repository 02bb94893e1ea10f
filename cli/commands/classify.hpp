// cli/commands/classify.hpp: many-to-one commands:
//   rnn train-classify (label<TAB>text lines in, a classifier out)
//   rnn classify       (a label per stdin line)
#pragma once

#include <string>

#include "task_args.hpp"

namespace classify_cmd {

using TrainArgs = tasks::TrainArgs;  // defaults: H=64, 2000 updates

int train(const TrainArgs& args);
int classify(const std::string& model, const std::string& device, const std::string& unknown);

}  // namespace classify_cmd
