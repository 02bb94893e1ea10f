// cli/commands/run.cpp: rnn run and rnn backward: read the model and the
// .npy inputs, check them, compute everything, then write the outputs
// (temporary names renamed into place), so a failure writes nothing.
#include "run.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "rnn/rnn.hpp"

namespace run_cmd {

namespace {

// With --check-finite: throws naming the first non-finite element of each
// output, in the order given, before anything is written.
void check_finite(const std::vector<std::pair<std::string, const rnn::Tensor*>>& outputs, const RunArgs& a) {
  if (!a.check_finite) return;
  for (const auto& [name, t] : outputs) {
    const int64_t at = rnn::first_non_finite(*t);
    if (at < 0) continue;
    std::vector<std::string> dims;
    if (name == "y" || name == "dx" || name == "logits") dims = a.batch_first ? std::vector<std::string>{"b", "t", "k"}
                                                          : std::vector<std::string>{"t", "b", "k"};
    else if (name == "h_n" || name == "dh0") dims = {"layer*dir", "b", "k"};
    const float v = (*t)[at];
    throw rnn::Error("--check-finite", name + rnn::index_string(t->shape(), at, dims) + " is " +
                                           (std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf") +
                                           " (the first non-finite value of " + name + "; nothing written)");
  }
}



std::string describe(const rnn::ModelConfig& c) {
  std::ostringstream s;
  s << c.num_layers << (c.num_layers == 1 ? " layer, " : " layers, ")
    << (c.bidirectional ? "bidirectional" : "unidirectional") << ", " << rnn::nonlinearity_name(c.nonlinearity)
    << ", I=" << c.input_size << " H=" << c.hidden_size << (c.bias ? "" : ", no bias");
  if (c.output_size > 0) s << ", head O=" << c.output_size;
  return s.str();
}

std::string describe(const rnn::Model& m) {
  std::string s = describe(m.config());
  if (m.has_embedding()) s = "embedding of " + std::to_string(m.embedding.dim(0)) + " tokens, " + s;
  return s;
}

// What run and backward read: the model and the input arrays.
struct Inputs {
  rnn::Model model;
  rnn::Tensor x, h0;
  rnn::IntArray lengths;
  rnn::IntArray ids;  // a model with an embedding reads token ids; x is their vectors
  rnn::LoadOptions names;  // the modules the model was read from (gradients are written under them)
  const rnn::Tensor* h0_ptr = nullptr;
  const std::vector<int64_t>* lengths_ptr = nullptr;
  rnn::ForwardOptions options;
};

void load_inputs(const RunArgs& a, Inputs& in) {
  in.options.device = rnn::parse_device(a.device, "--device");
  in.options.kernel = rnn::parse_kernel(a.kernel, "--kernel");
  in.options.batch_first = a.batch_first;
  const rnn::LoadOptions& lo = a.names;
  const rnn::TensorFile file = rnn::read_safetensors(a.model);
  in.names = rnn::module_names(file, a.model, lo);
  in.model = rnn::model_from_tensors(file, a.model, lo);
  if (in.model.has_embedding()) {
    try {
      in.ids = rnn::read_npy_int(a.input);
    } catch (const rnn::Error& e) {
      throw rnn::Error(a.input, e.message() + " (the model has an embedding: --input holds integer token ids [T, B]" +
                                    (a.batch_first ? " or [B, T]" : "") + ")");
    }
    if (in.ids.shape.size() != 2)
      throw rnn::Error(a.input, "has shape " + rnn::shape_string(in.ids.shape) + ", expected token ids " +
                                    (a.batch_first ? "[B, T]" : "[T, B]"));
    try {
      in.x = rnn::embed(in.model, in.ids.data, in.ids.shape);
    } catch (const rnn::Error& e) {
      throw rnn::Error(a.input, e.message());
    }
  } else {
    in.x = rnn::read_npy(a.input);
  }
  if (!a.h0.empty()) {
    in.h0 = rnn::read_npy(a.h0);
    in.h0_ptr = &in.h0;
  }
  if (!a.lengths.empty()) {
    in.lengths = rnn::read_npy_int(a.lengths);
    if (in.lengths.shape.size() != 1)
      throw rnn::Error(a.lengths, "has shape " + rnn::shape_string(in.lengths.shape) + ", expected [B]");
    in.lengths_ptr = &in.lengths.data;
  }
}

// Runs f; an rnn::Error about an API argument is re-thrown naming the file
// or flag the user gave for it.
template <class F>
void naming_files(const std::map<std::string, std::string>& where, F f) {
  try {
    f();
  } catch (const rnn::Error& e) {
    auto it = where.find(e.subject());
    if (it != where.end() && !it->second.empty()) throw rnn::Error(it->second, e.message());
    throw;
  }
}

std::map<std::string, std::string> input_files(const RunArgs& a) {
  return {{"x", a.input},           {"h0", a.h0},           {"lengths", a.lengths},
          {"model", a.model},       {"device", "--device"}, {"kernel", "--kernel"}};
}

// Refuses two outputs naming one file.
void distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (!outputs[i].second.empty() && outputs[i].second == outputs[j].second)
        throw rnn::Error(outputs[i].first, "same file as " + outputs[j].first + ": " + outputs[i].second);
}

}  // namespace

int run(const RunArgs& a) {
  distinct_outputs({{"--output", a.output}, {"--final-state", a.final_state}, {"--states", a.states}});
  Inputs in;
  load_inputs(a, in);
  rnn::ForwardResult r;
  const auto t0 = std::chrono::steady_clock::now();
  naming_files(input_files(a), [&] { r = rnn::forward(in.model, in.x, in.h0_ptr, in.lengths_ptr, in.options); });
  // The model's output: with a head, its logits (PyTorch's fc(rnn(x)[0])).
  const bool head = in.model.has_head();
  rnn::Tensor logits;
  if (head) logits = rnn::apply_head(in.model, r.y);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (head) check_finite({{"logits", &logits}}, a);
  check_finite({{"y", &r.y}, {"h_n", &r.h_n}}, a);

  const char* out_name = head ? "logits" : "y";
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
  if (!a.output.empty()) files.emplace_back(a.output, rnn::npy_bytes(head ? logits : r.y));
  if (!a.states.empty()) files.emplace_back(a.states, rnn::npy_bytes(r.y));
  if (!a.final_state.empty()) files.emplace_back(a.final_state, rnn::npy_bytes(r.h_n));
  rnn::write_files_atomic(files);

  std::printf("rnn run: %s (%s)\n", a.model.c_str(), describe(in.model).c_str());
  std::printf("  %s %s%s -> %s%s%s, h_n %s on %s in %.3f ms\n", in.model.has_embedding() ? "token ids" : "x",
              rnn::shape_string(in.model.has_embedding() ? in.ids.shape : in.x.shape()).c_str(),
              a.batch_first ? " (batch-first)" : "", head ? "logits " : "",
              head ? rnn::shape_string(logits.shape()).c_str() : "",
              (std::string(head ? " of states y " : "y ") + rnn::shape_string(r.y.shape())).c_str(),
              rnn::shape_string(r.h_n.shape()).c_str(), rnn::device_name(r.device), ms);
  if (!a.output.empty()) std::printf("  wrote %s to %s\n", out_name, a.output.c_str());
  if (!a.states.empty()) std::printf("  wrote y (the top layer's states) to %s\n", a.states.c_str());
  if (!a.final_state.empty()) std::printf("  wrote h_n to %s\n", a.final_state.c_str());
  if (files.empty()) std::printf("  (no --output, --states or --final-state given: nothing written)\n");
  return 0;
}

int backward(const BackwardArgs& a) {
  distinct_outputs({{"--grad-input", a.grad_input}, {"--grad-h0", a.grad_h0}, {"--grad-weights", a.grad_weights}});
  Inputs in;
  load_inputs(a.in, in);
  if (in.model.has_embedding() && !a.grad_input.empty())
    throw rnn::Error("--grad-input", "token ids have no gradient (the embedding's is in --grad-weights, as emb.weight)");
  const rnn::Tensor dy_given = rnn::read_npy(a.grad_output);  // dL/dlogits with a head, else dL/dy
  rnn::Tensor dhn;
  if (!a.grad_final_state.empty()) dhn = rnn::read_npy(a.grad_final_state);
  auto where = input_files(a.in);
  where["dy"] = a.grad_output;
  where["dlogits"] = a.grad_output;
  where["dh_n"] = a.grad_final_state;
  rnn::BackwardResult r;
  const bool head = in.model.has_head();
  const auto t0 = std::chrono::steady_clock::now();
  naming_files(where, [&] {
    // With a head, dy comes through it: the forward pass first, for y.
    rnn::Model head_grads;
    rnn::Tensor dy = dy_given;
    if (head) {
      const rnn::ForwardResult f = rnn::forward(in.model, in.x, in.h0_ptr, in.lengths_ptr, in.options);
      head_grads = rnn::Model(in.model.config());
      dy = rnn::head_backward(in.model, f.y, dy_given, head_grads);
    }
    r = rnn::backward(in.model, in.x, in.h0_ptr, in.lengths_ptr, dy, a.grad_final_state.empty() ? nullptr : &dhn,
                      in.options);
    if (head || in.model.has_embedding()) {
      rnn::Model all(in.model.config());  // the RNN's gradients with the head's and the embedding's
      for (int64_t l = 0; l < all.config().num_layers; ++l)
        for (int64_t d = 0; d < all.config().num_directions(); ++d) all.cell(l, d) = r.grads.cell(l, d);
      if (head) all.head() = head_grads.head();
      if (in.model.has_embedding()) all.embedding = rnn::embedding_grad(in.model, in.ids.data, r.dx);
      r.grads = std::move(all);
    }
  });
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  check_finite({{"dx", &r.dx}, {"dh0", &r.dh0}}, a.in);
  if (a.in.check_finite)
    for (const auto& [name, t] : std::as_const(r.grads).parameters())
      check_finite({{"grad " + name, t}}, a.in);

  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
  if (!a.grad_input.empty()) files.emplace_back(a.grad_input, rnn::npy_bytes(r.dx));
  if (!a.grad_h0.empty()) files.emplace_back(a.grad_h0, rnn::npy_bytes(r.dh0));
  if (!a.grad_weights.empty()) files.emplace_back(a.grad_weights, rnn::model_bytes(r.grads, rnn::SaveOptions::like(in.names), a.grad_weights));
  rnn::write_files_atomic(files);

  std::printf("rnn backward: %s (%s)\n", a.in.model.c_str(), describe(in.model).c_str());
  std::printf("  x %s, %s %s -> dx, dh0 %s, %lld parameter gradients on %s in %.3f ms\n",
              rnn::shape_string(in.x.shape()).c_str(), head ? "dlogits" : "dy",
              rnn::shape_string(dy_given.shape()).c_str(), rnn::shape_string(r.dh0.shape()).c_str(),
              static_cast<long long>(r.grads.parameter_count() + r.grads.embedding.numel()),
              rnn::device_name(r.device), ms);
  for (const auto& f : files) std::printf("  wrote %s\n", f.first.c_str());
  if (files.empty()) std::printf("  (no --grad-input, --grad-h0 or --grad-weights given: nothing written)\n");
  return 0;
}

}  // namespace run_cmd
