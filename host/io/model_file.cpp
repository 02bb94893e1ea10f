// host/io/model_file.cpp: a model's safetensors mapping, both ways.
//
// Names follow a PyTorch state_dict: an nn.RNN's (bare or under one module
// name), an optional nn.Linear head and nn.Embedding (rnn/model.hpp lists
// the names found without options). Loading finds those modules
// (model_names.cpp), infers L, D, I, H, bias, O and V from names and shapes
// and rejects every inconsistency.
#include <algorithm>
#include <map>
#include <regex>
#include <tuple>

#include "io/model_names.hpp"
#include "rnn/error.hpp"
#include "rnn/io.hpp"
#include "rnn/limits.hpp"
#include "rnn/model.hpp"

namespace rnn {

// ---- loading -----------------------------------------------------------------

namespace {

using detail::Split;
using detail::split_by_module;

// The head's and the embedding's tensors (nullptr: absent).
struct Extras {
  const Tensor* fc_weight = nullptr;
  const Tensor* fc_bias = nullptr;
  const Tensor* emb_weight = nullptr;
  std::string head_name;   // the head's module, "fc" when there is none
  std::string emb_module;  // "" when there is none
};

// The head's weight and bias and the embedding's weight; those modules hold
// nothing else, and an embedding has its weight.
Extras find_extras(const Split& split, const LoadOptions& names, const std::string& name) {
  const auto& modules = split.modules;
  const std::string& head_module = names.head_prefix;
  Extras x;
  x.head_name = head_module.empty() ? "fc" : head_module;
  x.emb_module = names.embedding_prefix;
  const std::vector<std::pair<std::string, const Tensor*>> none;
  auto leaves = [&](const std::string& module) -> const std::vector<std::pair<std::string, const Tensor*>>& {
    const auto it = module.empty() ? modules.end() : modules.find(module);
    return it == modules.end() ? none : it->second;
  };
  for (const auto& [leaf, t] : leaves(head_module)) {
    if (leaf == "weight") x.fc_weight = t;
    else if (leaf == "bias") x.fc_bias = t;
    else throw Error(name, "unexpected tensor '" + x.head_name + "." + leaf + "' in the head (an nn.Linear has weight and bias)");
  }
  for (const auto& [leaf, t] : leaves(x.emb_module)) {
    if (leaf == "weight") x.emb_weight = t;
    else throw Error(name, "unexpected tensor '" + x.emb_module + "." + leaf + "' in the embedding (an nn.Embedding has only weight)");
  }
  if (!x.emb_module.empty() && !x.emb_weight) throw Error(name, "embedding '" + x.emb_module + "' has no weight");
  return x;
}

// The RNN's cell tensors by (base name, layer, direction).
struct Cells {
  std::map<std::tuple<std::string, int64_t, int64_t>, const Tensor*> tensors;
  int64_t max_layer = -1;
  bool any_reverse = false;

  // The tensor, or nullptr.
  const Tensor* get(const std::string& base, int64_t l, int64_t d) const {
    auto it = tensors.find({base, l, d});
    return it == tensors.end() ? nullptr : it->second;
  }
};

// The RNN's tensors by cell; each must be named like an nn.RNN parameter.
Cells parse_cells(const std::vector<std::pair<std::string, const Tensor*>>& rnn_tensors, const std::string& pre,
                  const std::string& name) {
  static const std::regex kCell(R"((weight_ih|weight_hh|bias_ih|bias_hh)_l(0|[1-9][0-9]{0,5})(_reverse)?)");
  Cells cells;
  for (const auto& [n, t] : rnn_tensors) {
    std::smatch m;
    if (!std::regex_match(n, m, kCell))
      throw Error(name, "unexpected tensor '" + pre + n + "' (not an nn.RNN parameter)");
    const int64_t layer = std::stoll(m[2].str());
    const int64_t dir = m[3].matched ? 1 : 0;
    cells.tensors[{m[1].str(), layer, dir}] = t;
    cells.max_layer = std::max(cells.max_layer, layer);
    cells.any_reverse = cells.any_reverse || dir == 1;
  }
  return cells;
}

// L, D, H, I and bias from the cells (layer 0's shapes checked), the
// nonlinearity from the file's metadata.
ModelConfig rnn_config(const TensorFile& file, const Cells& cells, const std::string& pre, const std::string& name) {
  auto require = [&](const std::string& base, int64_t l, int64_t d) -> const Tensor& {
    const Tensor* t = cells.get(base, l, d);
    if (!t) throw Error(name, "missing tensor '" + pre + parameter_name(base, l, d) + "'");
    return *t;
  };

  ModelConfig cfg;
  cfg.num_layers = cells.max_layer + 1;
  cfg.bidirectional = cells.any_reverse;
  const Tensor& whh0 = require("weight_hh", 0, 0);
  const Tensor& wih0 = require("weight_ih", 0, 0);
  if (whh0.rank() != 2 || whh0.dim(0) != whh0.dim(1) || whh0.dim(0) < 1)
    throw Error(name, "tensor '" + pre + "weight_hh_l0' has shape " + shape_string(whh0.shape()) + ", expected [H, H]");
  if (wih0.rank() != 2 || wih0.dim(1) < 1)
    throw Error(name, "tensor '" + pre + "weight_ih_l0' has shape " + shape_string(wih0.shape()) + ", expected [H, I]");
  cfg.hidden_size = whh0.dim(0);
  cfg.input_size = wih0.dim(1);
  cfg.bias = cells.get("bias_ih", 0, 0) != nullptr || cells.get("bias_hh", 0, 0) != nullptr;
  if (file.metadata.count("nonlinearity")) {
    // The subject must be the file (as for every other load error); the
    // text stays "<file>: __metadata__ nonlinearity: unknown ...".
    try {
      cfg.nonlinearity = parse_nonlinearity(file.metadata.at("nonlinearity"), "__metadata__ nonlinearity");
    } catch (const Error& e) {
      throw Error(name, e.what());
    }
  }
  return cfg;
}

// O and the head's bias from the head; checks the head's weight and the
// embedding's shape ([V, I]).
void add_extras(ModelConfig& cfg, const Extras& x, const std::string& name) {
  if (x.fc_weight) {
    if (x.fc_weight->rank() != 2 || x.fc_weight->dim(0) < 1)
      throw Error(name, "tensor '" + x.head_name + ".weight' has shape " + shape_string(x.fc_weight->shape()) +
                            ", expected [O, D*H]");
    cfg.output_size = x.fc_weight->dim(0);
    cfg.output_bias = x.fc_bias != nullptr;
  } else if (x.fc_bias) {
    throw Error(name, "has '" + x.head_name + ".bias' without '" + x.head_name + ".weight'");
  }
  if (x.emb_weight && (x.emb_weight->rank() != 2 || x.emb_weight->dim(0) < 1 || x.emb_weight->dim(1) != cfg.input_size))
    throw Error(name, "tensor '" + x.emb_module + ".weight' has shape " + shape_string(x.emb_weight->shape()) +
                          ", expected [V, " + std::to_string(cfg.input_size) + "] (V tokens, the RNN's input size)");
}

// Checks every cell tensor against the shapes the config implies before
// allocating anything, so a lying header cannot cause a large allocation.
void check_cells(const Cells& cells, const ModelConfig& cfg, const std::string& pre, const std::string& name) {
  const int64_t D = cfg.num_directions(), H = cfg.hidden_size;
  const std::vector<std::string> bases = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      const std::vector<int64_t> shapes[] = {{H, cfg.layer_input_size(l)}, {H, H}, {H}, {H}};
      for (size_t k = 0; k < 4; ++k) {
        const bool is_bias = k >= 2;
        const std::string tname = pre + parameter_name(bases[k], l, d);
        const Tensor* t = cells.get(bases[k], l, d);
        if (is_bias && !cfg.bias) {
          if (t) throw Error(name, "tensor '" + tname + "' is present but layer 0 has no bias");
          continue;
        }
        if (!t) throw Error(name, "missing tensor '" + tname + "'");
        if (t->shape() != shapes[k])
          throw Error(name, "tensor '" + tname + "' has shape " + shape_string(t->shape()) + ", expected " +
                                shape_string(shapes[k]));
      }
    }
  }
  if (cells.tensors.size() != static_cast<size_t>(cfg.num_layers * D * (cfg.bias ? 4 : 2)))
    throw Error(name, "holds tensors that do not fit a " + std::to_string(cfg.num_layers) + "-layer model");
}

// The model of `cfg` holding the checked tensors (the head's shapes checked
// against it) and the file's metadata, validated.
Model build_model(const TensorFile& file, const Cells& cells, const Extras& x, const ModelConfig& cfg,
                  const std::string& name) {
  const int64_t D = cfg.num_directions();
  Model model(cfg);
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      CellWeights& c = model.cell(l, d);
      c.w_ih = *cells.get("weight_ih", l, d);
      c.w_hh = *cells.get("weight_hh", l, d);
      if (cfg.bias) {
        c.b_ih = *cells.get("bias_ih", l, d);
        c.b_hh = *cells.get("bias_hh", l, d);
      }
    }
  }
  if (x.fc_weight) {
    if (x.fc_weight->shape() != model.head().weight.shape())
      throw Error(name, "tensor '" + x.head_name + ".weight' has shape " + shape_string(x.fc_weight->shape()) +
                            ", expected " + shape_string(model.head().weight.shape()) + " (the RNN's output is D*H = " +
                            std::to_string(D * cfg.hidden_size) + " wide)");
    model.head().weight = *x.fc_weight;
    if (x.fc_bias) {
      if (x.fc_bias->shape() != model.head().bias.shape())
        throw Error(name, "tensor '" + x.head_name + ".bias' has shape " + shape_string(x.fc_bias->shape()) +
                              ", expected " + shape_string(model.head().bias.shape()));
      model.head().bias = *x.fc_bias;
    }
  }
  if (x.emb_weight) model.embedding = *x.emb_weight;
  for (const auto& [k, v] : file.metadata) {
    if (k == "nonlinearity") continue;
    if (k == "vocab") model.vocab = v;
    else model.metadata[k] = v;
  }
  model.validate();
  return model;
}

}  // namespace

Model model_from_tensors(const TensorFile& file, const std::string& name, const LoadOptions& options) {
  const LoadOptions names = module_names(file, name, options);
  const std::string pre = names.rnn_prefix == "." ? "" : names.rnn_prefix + ".";
  const Split split = split_by_module(file, pre);
  const Extras extras = find_extras(split, names, name);
  const Cells cells = parse_cells(split.rnn, pre, name);  // the RNN's cells
  ModelConfig cfg = rnn_config(file, cells, pre, name);
  add_extras(cfg, extras, name);
  check_cells(cells, cfg, pre, name);
  return build_model(file, cells, extras, cfg, name);
}

Model parse_model(const uint8_t* bytes, size_t size, const std::string& name, const LoadOptions& options) {
  return model_from_tensors(parse_safetensors(bytes, size, name), name, options);
}

SaveOptions SaveOptions::like(const LoadOptions& names) {
  SaveOptions o;
  o.prefix = names.rnn_prefix.empty() || names.rnn_prefix == "." ? "" : names.rnn_prefix + ".";
  if (!names.head_prefix.empty()) o.head_prefix = names.head_prefix;
  if (!names.embedding_prefix.empty()) o.embedding_prefix = names.embedding_prefix;
  return o;
}

Model load_model(const std::string& path, const LoadOptions& options) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_model(bytes.data(), bytes.size(), path, options);
}

void save_model(const Model& model, const std::string& path, const SaveOptions& options) {
  write_file_atomic(path, model_bytes(model, options, path));
}

std::vector<uint8_t> model_bytes(const Model& model, const SaveOptions& options, const std::string& name) {
  try {
    model.validate();
  } catch (const Error& e) {
    throw Error(name, "cannot save an inconsistent model: " + std::string(e.what()));
  }
  const ModelConfig& cfg = model.config();
  TensorFile file;
  if (model.has_embedding()) file.tensors.emplace_back(options.embedding_prefix + ".weight", model.embedding);
  for (const auto& [pname, t] : model.parameters())
    file.tensors.emplace_back(pname.rfind("fc.", 0) == 0 ? options.head_prefix + pname.substr(2) : options.prefix + pname,
                              *t);
  file.metadata = model.metadata;
  file.metadata["nonlinearity"] = nonlinearity_name(cfg.nonlinearity);
  if (!model.vocab.empty()) file.metadata["vocab"] = model.vocab;
  return safetensors_bytes(file, name);
}

}  // namespace rnn
