// cli/commands/info.hpp: rnn info (describe a model file) and rnn bench
// (run the benchmark program rnn-bench, bench/main.cpp, beside rnn).
#pragma once

#include <string>
#include <vector>

#include "rnn/model.hpp"

namespace info_cmd {

// Describes every kind of model the project writes (a plain RNN, a
// character model, a classifier, a tagger, an encoder-decoder).
int info(const std::string& model_path, const rnn::LoadOptions& options = {});
// Replaces this process with rnn-bench, the program beside this one, given
// `args`; throws rnn::Error("bench", ...) when it cannot be run.
int exec_bench(const std::vector<std::string>& args, const char* argv0);

}  // namespace info_cmd
