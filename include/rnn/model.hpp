// rnn/model.hpp: an Elman RNN's configuration and weights, and their files.
//
//   h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)     act = tanh or relu
//   y_t = W_hy h_t + b_hy                                 (optional output head)
//
// Weights follow torch.nn.RNN. For layer k and direction d (0 forward,
// 1 reverse), with H = hidden_size, I = input_size, D = 1 or 2:
//   w_ih [H, I] for k = 0, [H, D*H] for k > 0     (PyTorch weight_ih_l{k}[_reverse])
//   w_hh [H, H]                                    (weight_hh_l{k}[_reverse])
//   b_ih [H], b_hh [H], both empty when bias=false (bias_ih_l{k}, bias_hh_l{k})
// The optional head maps the top layer's concatenated output:
//   head.weight [O, D*H], head.bias [O] or empty   (PyTorch fc.weight, fc.bias)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rnn/tensor.hpp"

namespace rnn {

enum class Nonlinearity { Tanh, Relu };

// "tanh" / "relu"
const char* nonlinearity_name(Nonlinearity n) noexcept;
// Parses "tanh" or "relu"; throws rnn::Error (subject `subject`) otherwise.
Nonlinearity parse_nonlinearity(const std::string& s, const std::string& subject = "nonlinearity");

struct ModelConfig {
  int64_t input_size = 0;   // I >= 1
  int64_t hidden_size = 0;  // H >= 1
  int64_t num_layers = 1;   // L >= 1
  bool bidirectional = false;
  bool bias = true;
  Nonlinearity nonlinearity = Nonlinearity::Tanh;
  int64_t output_size = 0;  // O: 0 = no output head
  bool output_bias = true;  // head has a bias (ignored when output_size == 0)

  int64_t num_directions() const noexcept { return bidirectional ? 2 : 1; }
  // Width of layer k's input: I for k = 0, D*H above.
  int64_t layer_input_size(int64_t layer) const noexcept {
    return layer == 0 ? input_size : num_directions() * hidden_size;
  }
  // Throws rnn::Error (subject "config") on a size < 1 (output_size < 0).
  void validate() const;
  // Parameters a model of this config holds (the head's included); exact
  // and free of overflow for any config within rnn/limits.hpp's maxima.
  uint64_t parameter_count() const noexcept;
};

// One layer, one direction.
struct CellWeights {
  Tensor w_ih;  // [H, layer_input_size]
  Tensor w_hh;  // [H, H]
  Tensor b_ih;  // [H], or empty when the model has no bias
  Tensor b_hh;  // [H], or empty when the model has no bias
};

struct OutputHead {
  Tensor weight;  // [O, D*H]
  Tensor bias;    // [O], or empty
};

class Model {
 public:
  Model() = default;
  // All weights zero, shapes from `config` (validated).
  explicit Model(const ModelConfig& config);

  // Weights drawn like PyTorch's default initialisation: every parameter
  // uniform in [-1/sqrt(H), 1/sqrt(H)] (the head's in [-1/sqrt(D*H), ..]).
  // Deterministic for a given seed on every platform.
  static Model random(const ModelConfig& config, uint64_t seed);

  const ModelConfig& config() const noexcept { return config_; }

  // Layer `layer` in [0, L), direction in [0, D). Throws rnn::Error if out of range.
  CellWeights& cell(int64_t layer, int64_t direction);
  const CellWeights& cell(int64_t layer, int64_t direction) const;

  bool has_head() const noexcept { return config_.output_size > 0; }
  OutputHead& head() noexcept { return head_; }
  const OutputHead& head() const noexcept { return head_; }

  // An nn.Embedding read before the RNN, [V, I] (V tokens, I the RNN's
  // input size), or empty. Not one of parameters(): the library's passes take
  // vectors x; rnn::embed() turns token ids into them and
  // rnn::embedding_grad() gives this table's gradient (rnn/forward.hpp,
  // rnn/backward.hpp).
  Tensor embedding;
  bool has_embedding() const noexcept { return !embedding.empty(); }

  // Characters of a character-level model, in index order ("" if none).
  std::string vocab;
  // Other string metadata carried through load/save untouched.
  std::map<std::string, std::string> metadata;

  // Checks every tensor's shape against the config; throws rnn::Error
  // (subject: the PyTorch name of the offending tensor) on a mismatch.
  void validate() const;

  // Total number of scalar parameters.
  int64_t parameter_count() const noexcept;

  // Every parameter tensor with its PyTorch name ("weight_ih_l0", ...,
  // "fc.weight", "fc.bias"), in state_dict order; absent biases left out.
  std::vector<std::pair<std::string, Tensor*>> parameters();
  std::vector<std::pair<std::string, const Tensor*>> parameters() const;

 private:
  ModelConfig config_;
  std::vector<CellWeights> cells_;  // index layer * D + direction
  OutputHead head_;
};

// PyTorch's name for a cell parameter, e.g. ("weight_ih", 1, 1) -> "weight_ih_l1_reverse".
std::string parameter_name(const std::string& base, int64_t layer, int64_t direction);

// Where a state_dict's modules are: the names (state_dict prefixes, without
// the trailing dot) of the nn.RNN, of the nn.Linear head after it and of the
// nn.Embedding before it. Empty: found by the rules of load_model().
struct LoadOptions {
  std::string rnn_prefix;        // "rnn", "encoder", ...; "." for a bare nn.RNN state_dict
  std::string head_prefix;       // "fc", "head", "classifier.1" (a Linear inside nn.Sequential), ...
  std::string embedding_prefix;  // "emb", "embedding", ...
};

// Reads a model from a .safetensors file holding a PyTorch state_dict: an
// nn.RNN's parameters (weight_ih_l0, ...), bare or under one module name;
// optionally an nn.Linear head after it and an nn.Embedding before it.
// Layers, directions, sizes and bias are inferred from names and shapes.
// Without LoadOptions the RNN is the one module holding weight_ih_l0 (two
// or more: an error asking for rnn_prefix); the head is the module named
// fc, head, decoder, out, output, linear, classifier, proj, projection,
// lm_head or output_layer, or the one Linear inside such an nn.Sequential
// ("head.1.weight"); the embedding is the module named emb, embedding,
// embed, embeddings, encoder, word_embeddings, tok_embeddings or wte. Any
// other tensor is refused, the message listing what was found. nn.LSTM and
// nn.GRU parameters (gate-stacked [4H, H] and [3H, H] weights) are
// recognised and refused by name; so is a torch.save (zip or pickle) file.
// __metadata__ may hold "nonlinearity" ("tanh" default, "relu") and
// "vocab". F32 is read as is; F64, F16 and BF16 are converted. Throws
// rnn::Error with subject `path` on any unreadable, malformed or
// inconsistent file (unknown or missing tensors, wrong shapes, ...).
Model load_model(const std::string& path, const LoadOptions& options = {});

// Same, from the bytes of a file held in memory; `name` is the error subject.
Model parse_model(const uint8_t* bytes, size_t size, const std::string& name, const LoadOptions& options = {});

struct TensorFile;
// Same, from tensors already read (e.g. one part of a file holding several
// models, its names stripped of their part's prefix).
Model model_from_tensors(const TensorFile& file, const std::string& name, const LoadOptions& options = {});

// Which modules of a state_dict load_model() reads, resolved by its rules:
// rnn_prefix ("." for bare names), head_prefix and embedding_prefix (empty:
// none). Throws rnn::Error like load_model() when they cannot be told.
LoadOptions module_names(const TensorFile& file, const std::string& name, const LoadOptions& options = {});

struct SaveOptions {
  // Prefix for the RNN's tensors: "" gives plain nn.RNN names; "rnn." gives
  // the names of a module holding `self.rnn = nn.RNN(...)` and `self.fc`.
  std::string prefix;
  std::string head_prefix = "fc";        // the head's module name
  std::string embedding_prefix = "emb";  // the embedding's module name
  // The names a file was read with (module_names()): save under them.
  static SaveOptions like(const LoadOptions& names);
};

// Writes the model as F32 safetensors (PyTorch names: the embedding as
// emb.weight, the RNN's under `prefix`, the head as fc.*, by default;
// nonlinearity, vocab and other metadata in __metadata__). The file is
// written to a temporary name and renamed, so it is never half-written.
// Throws rnn::Error with subject `path` on failure.
void save_model(const Model& model, const std::string& path, const SaveOptions& options = {});
// The bytes save_model() writes (`name` is the error subject).
std::vector<uint8_t> model_bytes(const Model& model, const SaveOptions& options = {},
                                 const std::string& name = "model");

}  // namespace rnn
