// host/io/model_names.cpp: the modules of a safetensors file that hold the
// RNN, its head and its embedding.
//
// The RNN is the one module holding tensors named like an nn.RNN's (bare
// or under one module name) unless a prefix is given; the head and the
// embedding are found by their usual PyTorch names (rnn/model.hpp lists
// them) unless given. Every other tensor is refused.
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/model_names.hpp"
#include "rnn/error.hpp"
#include "rnn/io.hpp"
#include "rnn/model.hpp"

namespace rnn {

namespace {

const std::set<std::string> kHeadNames = {"fc",         "head",    "decoder",     "out",   "output", "linear",
                                          "classifier", "proj",    "projection",  "lm_head", "output_layer"};
const std::set<std::string> kEmbeddingNames = {"emb",    "embedding",       "embed",          "embeddings",
                                               "encoder", "word_embeddings", "tok_embeddings", "wte"};

// "a.b.weight" -> {"a.b", "weight"}; "weight" -> {"", "weight"}.
std::pair<std::string, std::string> split_last(const std::string& n) {
  const size_t dot = n.rfind('.');
  if (dot == std::string::npos) return {"", n};
  return {n.substr(0, dot), n.substr(dot + 1)};
}

// The module's own name, or for a Linear inside nn.Sequential ("head.1")
// the Sequential's.
std::string role_name(const std::string& module) {
  const auto [outer, last] = split_last(module);
  const bool index = !last.empty() && last.find_first_not_of("0123456789") == std::string::npos;
  return index && !outer.empty() ? split_last(outer).second : last;
}

std::string list_tensors(const std::vector<std::pair<std::string, const Tensor*>>& ts) {
  std::string out;
  for (size_t i = 0; i < ts.size() && i < 8; ++i)
    out += (i ? ", " : "") + ts[i].first + " " + shape_string(ts[i].second->shape());
  if (ts.size() > 8) out += ", ... (" + std::to_string(ts.size()) + " in all)";
  return out;
}

// nn.LSTM / nn.GRU keep nn.RNN's names with gate-stacked rows.
void refuse_gated(const Tensor& whh, const std::string& tname, const std::string& name) {
  if (whh.rank() != 2 || whh.dim(1) < 1) return;
  const int64_t rows = whh.dim(0), H = whh.dim(1);
  const char* kind = rows == 4 * H ? "an nn.LSTM's (4 gates)" : rows == 3 * H ? "an nn.GRU's (3 gates)" : nullptr;
  if (kind)
    throw Error(name, "tensor '" + tname + "' has shape " + shape_string(whh.shape()) + ": " + kind +
                          "; only nn.RNN (Elman) models are supported");
}

}  // namespace

namespace detail {

Split split_by_module(const TensorFile& file, const std::string& pre) {
  Split s;
  for (const auto& [n, t] : file.tensors) {
    if (n.compare(0, pre.size(), pre) == 0 && (pre.empty() ? n.find('.') == std::string::npos : true)) {
      s.rnn.emplace_back(n.substr(pre.size()), &t);
      continue;
    }
    const auto [module, leaf] = split_last(n);
    s.modules[module].emplace_back(leaf, &t);
    s.others.emplace_back(n, &t);
  }
  return s;
}

}  // namespace detail

namespace {

using detail::Split;
using detail::split_by_module;

// The RNN's prefix with its dot ("" for bare names): the one given (which
// must hold weight_ih_l0), else that of the one module holding tensors named
// like an nn.RNN's parameters (none or several is an error).
std::string rnn_prefix(const TensorFile& file, const std::string& name, const LoadOptions& options) {
  if (!options.rnn_prefix.empty()) {
    const std::string pre = options.rnn_prefix == "." ? "" : options.rnn_prefix + ".";
    if (!file.find(pre + "weight_ih_l0"))
      throw Error(name, "holds no tensor '" + pre + "weight_ih_l0' (rnn prefix '" + options.rnn_prefix + "')");
    return pre;
  }
  // Every module holding a tensor named like an nn.RNN's parameter.
  static const std::regex kLike(R"((weight|bias)_(ih|hh|hr)_l[0-9]+(_reverse)?)");
  std::vector<std::string> found;
  for (const auto& [n, t] : file.tensors) {
    const auto [module, leaf] = split_last(n);
    const std::string prefix = module.empty() ? "" : module + ".";
    if (std::regex_match(leaf, kLike) && std::find(found.begin(), found.end(), prefix) == found.end())
      found.push_back(prefix);
  }
  if (found.empty()) {
    std::vector<std::pair<std::string, const Tensor*>> all;
    for (const auto& [n, t] : file.tensors) all.emplace_back(n, &t);
    throw Error(name, "holds no nn.RNN tensors (expected weight_ih_l0, weight_hh_l0, ..., bare or under one "
                      "module name); found: " + (all.empty() ? std::string("nothing") : list_tensors(all)));
  }
  if (found.size() > 1) {
    std::string which;
    for (const auto& f : found) which += (which.empty() ? "" : ", ") + (f.empty() ? std::string("(bare)") : f + "*");
    throw Error(name, "holds " + std::to_string(found.size()) + " RNNs (" + which +
                          "): choose one with the rnn prefix (--rnn-prefix)");
  }
  return found[0];
}

// The head's or the embedding's module: the one `given` (which must exist),
// else the one whose role name is in `names` ("" when none is).
std::string pick_module(const Split& split, const std::string& given, const std::set<std::string>& names,
                        const char* what, const char* flag, const std::string& name) {
  const auto& modules = split.modules;
  if (!given.empty()) {
    if (!modules.count(given)) throw Error(name, std::string("holds no module '") + given + "' (" + flag + ")");
    return given;
  }
  std::vector<std::string> hits;
  for (const auto& [module, leaves] : modules)
    if (!module.empty() && names.count(role_name(module))) hits.push_back(module);
  if (hits.size() > 1)
    throw Error(name, std::string("holds ") + std::to_string(hits.size()) + " modules that could be the " + what +
                          " (" + hits[0] + ", " + hits[1] + "): choose one with " + flag);
  return hits.empty() ? std::string() : hits[0];
}

// Refuses a tensor outside the RNN, the head and the embedding.
void refuse_strays(const Split& split, const std::string& pre, const std::string& head_module,
                   const std::string& emb_module, const std::string& name) {
  const auto& others = split.others;
  for (const auto& [n, t] : others) {
    const std::string module = split_last(n).first;
    if (module == head_module || module == emb_module) continue;
    throw Error(name, "unexpected tensor '" + n + "' " + shape_string(t->shape()) + ": not a parameter of the nn.RNN" +
                          (pre.empty() ? "" : " '" + pre.substr(0, pre.size() - 1) + "'") +
                          ", of a head or of an embedding (found: " + list_tensors(others) +
                          "); --head-prefix names a Linear after the RNN, --embedding-prefix an nn.Embedding before it");
  }
}

}  // namespace

LoadOptions module_names(const TensorFile& file, const std::string& name, const LoadOptions& options) {
  const std::string pre = rnn_prefix(file, name, options);  // the RNN's prefix with its dot ("" for bare names)
  if (const Tensor* whh = file.find(pre + "weight_hh_l0")) refuse_gated(*whh, pre + "weight_hh_l0", name);
  if (file.find(pre + "weight_hr_l0"))
    throw Error(name, "tensor '" + pre + "weight_hr_l0' is an nn.LSTM's projection; only nn.RNN (Elman) models "
                      "are supported");

  // The other tensors, by module.
  const Split split = split_by_module(file, pre);
  const std::string head_module = pick_module(split, options.head_prefix, kHeadNames, "head", "--head-prefix", name);
  const std::string emb_module =
      pick_module(split, options.embedding_prefix, kEmbeddingNames, "embedding", "--embedding-prefix", name);
  if (!head_module.empty() && head_module == emb_module)
    throw Error(name, "module '" + head_module + "' cannot be both the head and the embedding");
  refuse_strays(split, pre, head_module, emb_module, name);
  LoadOptions found;
  found.rnn_prefix = pre.empty() ? "." : pre.substr(0, pre.size() - 1);
  found.head_prefix = head_module;
  found.embedding_prefix = emb_module;
  return found;
}

}  // namespace rnn
