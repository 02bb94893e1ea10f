// cli/commands/tag.hpp: many-to-many (synchronised) commands:
//   rnn train-tag (text<TAB>tags lines in, one tag character per text character)
//   rnn tag       (the tags of each stdin line)
#pragma once

#include <string>

#include "task_args.hpp"

namespace tag_cmd {

using TrainArgs = tasks::TrainArgs;  // defaults: H=64, 2000 updates

int train(const TrainArgs& args);
int tag(const std::string& model, const std::string& device, const std::string& unknown);

}  // namespace tag_cmd
