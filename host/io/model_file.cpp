// host/io/model_file.cpp: a model's safetensors mapping, both ways.
//
// Names follow torch.nn.RNN's state_dict (optionally all under "rnn."), plus
// an optional nn.Linear head "fc.weight" / "fc.bias". Loading infers L, D, I,
// H, bias and O from names and shapes and rejects every inconsistency.
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include "rnn/error.hpp"
#include "rnn/io.hpp"
#include "rnn/limits.hpp"
#include "rnn/model.hpp"

namespace rnn {

// ---- loading -----------------------------------------------------------------

Model parse_model(const uint8_t* bytes, size_t size, const std::string& name) {
  return model_from_tensors(parse_safetensors(bytes, size, name), name);
}

Model model_from_tensors(const TensorFile& file, const std::string& name) {

  // Strip the optional "rnn." prefix: either every RNN tensor has it or none.
  int prefixed = 0, plain = 0;
  for (const auto& entry : file.tensors) {
    const std::string& n = entry.first;
    if (n.rfind("fc.", 0) == 0) continue;
    (n.rfind("rnn.", 0) == 0 ? prefixed : plain)++;
  }
  if (prefixed && plain) throw Error(name, "mixes tensor names with and without the 'rnn.' prefix");

  struct Found {
    const Tensor* t = nullptr;
  };
  static const std::regex kCell(R"((weight_ih|weight_hh|bias_ih|bias_hh)_l(0|[1-9][0-9]{0,5})(_reverse)?)");
  std::map<std::tuple<std::string, int64_t, int64_t>, const Tensor*> cell_tensors;
  const Tensor* fc_weight = nullptr;
  const Tensor* fc_bias = nullptr;
  int64_t max_layer = -1;
  bool any_reverse = false;
  for (const auto& [full, t] : file.tensors) {
    if (full == "fc.weight") {
      fc_weight = &t;
      continue;
    }
    if (full == "fc.bias") {
      fc_bias = &t;
      continue;
    }
    const std::string n = prefixed ? full.substr(4) : full;
    std::smatch m;
    if (!std::regex_match(n, m, kCell))
      throw Error(name, "unexpected tensor '" + full + "' (not an nn.RNN parameter or fc.weight/fc.bias)");
    const int64_t layer = std::stoll(m[2].str());
    const int64_t dir = m[3].matched ? 1 : 0;
    cell_tensors[{m[1].str(), layer, dir}] = &t;
    max_layer = std::max(max_layer, layer);
    any_reverse = any_reverse || dir == 1;
  }
  if (max_layer < 0) throw Error(name, "holds no nn.RNN tensors (expected weight_ih_l0, weight_hh_l0, ...)");

  const std::string pre = prefixed ? "rnn." : "";
  auto get = [&](const std::string& base, int64_t l, int64_t d) -> const Tensor* {
    auto it = cell_tensors.find({base, l, d});
    return it == cell_tensors.end() ? nullptr : it->second;
  };
  auto require = [&](const std::string& base, int64_t l, int64_t d) -> const Tensor& {
    const Tensor* t = get(base, l, d);
    if (!t) throw Error(name, "missing tensor '" + pre + parameter_name(base, l, d) + "'");
    return *t;
  };

  ModelConfig cfg;
  cfg.num_layers = max_layer + 1;
  cfg.bidirectional = any_reverse;
  const Tensor& whh0 = require("weight_hh", 0, 0);
  const Tensor& wih0 = require("weight_ih", 0, 0);
  if (whh0.rank() != 2 || whh0.dim(0) != whh0.dim(1) || whh0.dim(0) < 1)
    throw Error(name, "tensor '" + pre + "weight_hh_l0' has shape " + shape_string(whh0.shape()) + ", expected [H, H]");
  if (wih0.rank() != 2 || wih0.dim(1) < 1)
    throw Error(name, "tensor '" + pre + "weight_ih_l0' has shape " + shape_string(wih0.shape()) + ", expected [H, I]");
  cfg.hidden_size = whh0.dim(0);
  cfg.input_size = wih0.dim(1);
  cfg.bias = get("bias_ih", 0, 0) != nullptr || get("bias_hh", 0, 0) != nullptr;
  if (file.metadata.count("nonlinearity")) {
    // The subject must be the file (as for every other load error); the
    // text stays "<file>: __metadata__ nonlinearity: unknown ...".
    try {
      cfg.nonlinearity = parse_nonlinearity(file.metadata.at("nonlinearity"), "__metadata__ nonlinearity");
    } catch (const Error& e) {
      throw Error(name, e.what());
    }
  }
  if (fc_weight) {
    if (fc_weight->rank() != 2 || fc_weight->dim(0) < 1)
      throw Error(name, "tensor 'fc.weight' has shape " + shape_string(fc_weight->shape()) + ", expected [O, D*H]");
    cfg.output_size = fc_weight->dim(0);
    cfg.output_bias = fc_bias != nullptr;
  } else if (fc_bias) {
    throw Error(name, "has 'fc.bias' without 'fc.weight'");
  }

  // Check every tensor against the shapes the config implies before
  // allocating anything, so a lying header cannot cause a large allocation.
  const int64_t D = cfg.num_directions(), H = cfg.hidden_size;
  const std::vector<std::string> bases = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      const std::vector<int64_t> shapes[] = {{H, cfg.layer_input_size(l)}, {H, H}, {H}, {H}};
      for (size_t k = 0; k < 4; ++k) {
        const bool is_bias = k >= 2;
        const std::string tname = pre + parameter_name(bases[k], l, d);
        const Tensor* t = get(bases[k], l, d);
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
  if (cell_tensors.size() != static_cast<size_t>(cfg.num_layers * D * (cfg.bias ? 4 : 2)))
    throw Error(name, "holds tensors that do not fit a " + std::to_string(cfg.num_layers) + "-layer model");

  Model model(cfg);
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    for (int64_t d = 0; d < D; ++d) {
      CellWeights& c = model.cell(l, d);
      c.w_ih = *get("weight_ih", l, d);
      c.w_hh = *get("weight_hh", l, d);
      if (cfg.bias) {
        c.b_ih = *get("bias_ih", l, d);
        c.b_hh = *get("bias_hh", l, d);
      }
    }
  }
  if (fc_weight) {
    if (fc_weight->shape() != model.head().weight.shape())
      throw Error(name, "tensor 'fc.weight' has shape " + shape_string(fc_weight->shape()) + ", expected " +
                            shape_string(model.head().weight.shape()) + " (the RNN's output is D*H = " +
                            std::to_string(D * cfg.hidden_size) + " wide)");
    model.head().weight = *fc_weight;
    if (fc_bias) {
      if (fc_bias->shape() != model.head().bias.shape())
        throw Error(name, "tensor 'fc.bias' has shape " + shape_string(fc_bias->shape()) + ", expected " +
                              shape_string(model.head().bias.shape()));
      model.head().bias = *fc_bias;
    }
  }
  for (const auto& [k, v] : file.metadata) {
    if (k == "nonlinearity") continue;
    if (k == "vocab") model.vocab = v;
    else model.metadata[k] = v;
  }
  model.validate();
  return model;
}

Model load_model(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_model(bytes.data(), bytes.size(), path);
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
  for (const auto& [pname, t] : model.parameters())
    file.tensors.emplace_back(pname.rfind("fc.", 0) == 0 ? pname : options.prefix + pname, *t);
  file.metadata = model.metadata;
  file.metadata["nonlinearity"] = nonlinearity_name(cfg.nonlinearity);
  if (!model.vocab.empty()) file.metadata["vocab"] = model.vocab;
  return safetensors_bytes(file, name);
}

}  // namespace rnn
