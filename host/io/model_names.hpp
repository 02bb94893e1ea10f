// host/io/model_names.hpp: which modules of a safetensors file hold the RNN,
// its head and its embedding (model_names.cpp), for the loader
// (model_file.cpp).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rnn/io.hpp"

namespace rnn::detail {

// The RNN's tensors (names relative to its prefix `pre`, "" or "x.") and the
// other tensors by module.
struct Split {
  std::vector<std::pair<std::string, const Tensor*>> rnn, others;
  std::map<std::string, std::vector<std::pair<std::string, const Tensor*>>> modules;  // module -> (leaf, tensor)
};
Split split_by_module(const TensorFile& file, const std::string& pre);

}  // namespace rnn::detail
