// host/capi/c_api.cpp: the C interface (include/rnn/c_api.h) over the host
// API: rnn::forward for inference, detail::forward_for_backward (the
// library's one route to gradients) for passes kept for their backward
// pass. Every entry point catches what the library throws and leaves the
// message for rnn_last_error().
#include "rnn/c_api.h"

#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "capi/c_api_internal.hpp"
#include "cpu/fast.hpp"  // kKeptBytes
#include "engine/kept.hpp"
#include "engine/pass.hpp"
#include "rnn/error.hpp"
#include "rnn/limits.hpp"
#include "rnn/rnn.hpp"

namespace rnn::capi {
thread_local std::string last_error;
}  // namespace rnn::capi

namespace {

using rnn::capi::guard;
using rnn::capi::model_config;
using rnn::capi::need;

rnn::Device device_of(int32_t d) {
  switch (d) {
    case RNN_DEVICE_AUTO: return rnn::Device::Auto;
    case RNN_DEVICE_CPU: return rnn::Device::Cpu;
    case RNN_DEVICE_CUDA: return rnn::Device::Cuda;
    case RNN_DEVICE_REFERENCE: return rnn::Device::Reference;
    default: throw rnn::Error("device", "unknown device code " + std::to_string(d));
  }
}

// The copies' buffers, kept for the next call (engine/kept.hpp).
rnn::detail::Kept<std::vector<float>, 4>& spare() {
  static auto* kept = new rnn::detail::Kept<std::vector<float>, 4>;  // lives as long as the process
  return *kept;
}

// A tensor holding a copy of the values at `from` (no zero-fill first), in
// a spare buffer where there is one; give_back() returns it.
rnn::Tensor copy_in(std::vector<int64_t> shape, const float* from) {
  const int64_t n = rnn::checked_numel(shape);
  std::vector<float> v = spare().take();
  v.assign(from, from + n);
  return rnn::Tensor(std::move(shape), std::move(v));
}

void give_back(rnn::Tensor& t) noexcept {
  const size_t bytes = t.values().capacity() * sizeof(float);
  if (bytes > 0 && bytes <= rnn::cpu::fast::kKeptBytes) spare().give(std::move(t.values()));
}

float* copy_out(const rnn::Tensor& t, float* to) {
  if (to && t.numel() > 0) std::memcpy(to, t.data(), static_cast<size_t>(t.numel()) * sizeof(float));
  return to;
}

// A forward pass's inputs, copied: x in its layout, h0, lengths.
struct Inputs {
  rnn::Tensor x, h0;
  bool has_h0 = false;
  std::vector<int64_t> lengths;
  bool has_lengths = false;
  rnn::ForwardOptions options;

  Inputs(const rnn::ModelConfig& cfg, const rnn_inputs* in) {
    need(in, "inputs");
    need(in->x, "x");
    if (in->seq_len < 1) throw rnn::Error("x", "the sequence length must be at least 1, got " + std::to_string(in->seq_len));
    if (in->batch < 1) throw rnn::Error("x", "the batch must be at least 1, got " + std::to_string(in->batch));
    const int64_t T = in->seq_len, B = in->batch;
    std::vector<int64_t> shape = in->batch_first ? std::vector<int64_t>{B, T, cfg.input_size}
                                                 : std::vector<int64_t>{T, B, cfg.input_size};
    rnn::check_host_bytes(rnn::checked_mul(static_cast<uint64_t>(rnn::checked_numel(shape, "x")), sizeof(float), "x"),
                          "x", [] { return std::string("a copy of x"); });
    x = copy_in(shape, in->x);
    if (in->h0) {
      h0 = copy_in({cfg.num_layers * cfg.num_directions(), B, cfg.hidden_size}, in->h0);
      has_h0 = true;
    }
    if (in->lengths) {
      lengths.assign(in->lengths, in->lengths + B);
      has_lengths = true;
    }
    options.batch_first = in->batch_first != 0;
    options.device = device_of(in->device);
  }
  ~Inputs() {
    give_back(x);
    give_back(h0);
  }
  Inputs(const Inputs&) = delete;
  Inputs& operator=(const Inputs&) = delete;
  const rnn::Tensor* h0_ptr() const { return has_h0 ? &h0 : nullptr; }
  const std::vector<int64_t>* lengths_ptr() const { return has_lengths ? &lengths : nullptr; }
};

// The forward pass of `model` on `inputs`, y and h_n copied to the caller's.
void forward_into(const rnn::Model& model, const Inputs& inputs, float* y, float* h_n) {
  const rnn::ForwardResult r = rnn::forward(model, inputs.x, inputs.h0_ptr(), inputs.lengths_ptr(), inputs.options);
  copy_out(r.y, y);
  copy_out(r.h_n, h_n);
}

rnn::Model model_of(const rnn::ModelConfig& cfg, const float* const* params) {
  if (cfg.output_size != 0) throw rnn::Error("config", "a pass over given weights takes no head (output_size 0)");
  need(params, "params");
  rnn::Model m(cfg);
  auto ps = m.parameters();
  for (size_t i = 0; i < ps.size(); ++i) {
    if (!params[i]) throw rnn::Error("params", "parameter " + ps[i].first + " is a null pointer");
    std::memcpy(ps[i].second->data(), params[i], static_cast<size_t>(ps[i].second->numel()) * sizeof(float));
  }
  return m;
}

}  // namespace

struct rnn_model {
  rnn::Model model;
  std::vector<std::string> names;  // rnn_model_tensor's, made on first use
};

// A kept pass: its own copies of the weights and inputs (the Pass refers to
// them), so the caller may change or free theirs.
struct rnn_pass {
  rnn::Model model;
  std::unique_ptr<Inputs> inputs;
  std::unique_ptr<rnn::detail::Pass> pass;
  bool used = false;
};

extern "C" {

int rnn_c_api_version(void) { return RNN_C_API_VERSION; }

const char* rnn_version(void) { return rnn::version(); }

const char* rnn_last_error(void) { return rnn::capi::last_error.c_str(); }

int rnn_num_threads(void) { return rnn::cpu_threads(); }

int rnn_set_num_threads(int n) {
  return guard([&] {
    if (n < 1) throw rnn::Error("threads", "must be at least 1, got " + std::to_string(n));
    if (!rnn::set_cpu_threads(n))
      throw rnn::Error("threads", "the CPU backend already runs " + std::to_string(rnn::cpu_threads()) +
                                      " threads: the count is fixed by the first pass (set it before, or set "
                                      "RNN_NUM_THREADS before the program starts)");
  });
}

int rnn_cuda_device_count(void) { return rnn::cuda_device_count(); }

int rnn_model_new(const rnn_config* config, uint64_t seed, int32_t random, rnn_model** out) {
  return guard([&] {
    need(out, "out");
    const rnn::ModelConfig cfg = model_config(config);
    auto m = std::make_unique<rnn_model>();
    m->model = random ? rnn::Model::random(cfg, seed) : rnn::Model(cfg);
    *out = m.release();
  });
}

int rnn_model_load(const char* path, rnn_model** out) {
  return guard([&] {
    need(path, "path");
    need(out, "out");
    auto m = std::make_unique<rnn_model>();
    m->model = rnn::load_model(path);
    *out = m.release();
  });
}

int rnn_model_save(const rnn_model* model, const char* path, const char* prefix) {
  return guard([&] {
    need(model, "model");
    need(path, "path");
    rnn::SaveOptions o;
    if (prefix) o.prefix = prefix;
    rnn::save_model(model->model, path, o);
  });
}

void rnn_model_free(rnn_model* model) { delete model; }

int rnn_model_config(const rnn_model* model, rnn_config* out) {
  return guard([&] {
    need(model, "model");
    need(out, "out");
    const rnn::ModelConfig& c = model->model.config();
    out->input_size = c.input_size;
    out->hidden_size = c.hidden_size;
    out->num_layers = c.num_layers;
    out->bidirectional = c.bidirectional;
    out->bias = c.bias;
    out->relu = c.nonlinearity == rnn::Nonlinearity::Relu;
    out->output_size = c.output_size;
    out->output_bias = c.output_size > 0 && c.output_bias;
  });
}

int rnn_model_num_tensors(const rnn_model* model) {
  return model ? static_cast<int>(model->model.parameters().size()) : 0;
}

int rnn_model_tensor(rnn_model* model, int index, const char** name, int* rank, int64_t shape[2], float** data) {
  return guard([&] {
    need(model, "model");
    auto ps = model->model.parameters();
    if (index < 0 || static_cast<size_t>(index) >= ps.size())
      throw rnn::Error("index", std::to_string(index) + " is not in [0, " + std::to_string(ps.size()) + ")");
    if (model->names.size() != ps.size()) {
      model->names.clear();
      for (const auto& p : ps) model->names.push_back(p.first);
    }
    const std::string& held = model->names[static_cast<size_t>(index)];
    const rnn::Tensor& t = *ps[static_cast<size_t>(index)].second;
    if (name) *name = held.c_str();
    if (rank) *rank = static_cast<int>(t.rank());
    if (shape) {
      shape[0] = t.rank() > 0 ? t.shape()[0] : 0;
      shape[1] = t.rank() > 1 ? t.shape()[1] : 0;
    }
    if (data) *data = ps[static_cast<size_t>(index)].second->data();
  });
}

const char* rnn_model_vocab(const rnn_model* model) { return model ? model->model.vocab.c_str() : ""; }

int rnn_model_forward(const rnn_model* model, const rnn_inputs* in, float* y, float* h_n) {
  return guard([&] {
    need(model, "model");
    need(y, "y");
    need(h_n, "h_n");
    forward_into(model->model, Inputs(model->model.config(), in), y, h_n);
  });
}

int rnn_model_apply_head(const rnn_model* model, const float* y, int64_t rows, float* logits) {
  return guard([&] {
    need(model, "model");
    need(y, "y");
    need(logits, "logits");
    if (rows < 1) throw rnn::Error("y", "needs at least one row, got " + std::to_string(rows));
    const rnn::ModelConfig& c = model->model.config();
    rnn::Tensor t = copy_in({rows, c.num_directions() * c.hidden_size}, y);
    copy_out(rnn::apply_head(model->model, t), logits);
    give_back(t);
  });
}

int rnn_pass_forward(const rnn_config* config, const float* const* params, const rnn_inputs* in, float* y,
                     float* h_n, rnn_pass** pass) {
  return guard([&] {
    need(y, "y");
    need(h_n, "h_n");
    const rnn::ModelConfig cfg = model_config(config);
    if (!pass) {
      forward_into(model_of(cfg, params), Inputs(cfg, in), y, h_n);
      return;
    }
    auto p = std::make_unique<rnn_pass>();
    p->model = model_of(cfg, params);
    p->inputs = std::make_unique<Inputs>(cfg, in);
    const Inputs& i = *p->inputs;
    p->pass = rnn::detail::forward_for_backward(p->model, i.x, i.h0_ptr(), i.lengths_ptr(), i.options);
    copy_out(p->pass->y(), y);
    copy_out(p->pass->h_n(), h_n);
    *pass = p.release();
  });
}

int rnn_pass_backward(rnn_pass* pass, const float* dy, const float* dh_n, float* dx, float* dh0,
                      float* const* grads) {
  return guard([&] {
    need(pass, "pass");
    need(grads, "grads");
    if (pass->used) throw rnn::Error("pass", "its backward pass has already run (once per forward pass)");
    // Every output pointer checked before anything is computed or written.
    const auto names = pass->model.parameters();
    for (size_t k = 0; k < names.size(); ++k)
      if (!grads[k]) throw rnn::Error("grads", "gradient " + names[k].first + " is a null pointer");
    rnn::Tensor dy_t = dy ? copy_in(pass->pass->y().shape(), dy) : rnn::Tensor(pass->pass->y().shape());
    rnn::Tensor dh_n_t;
    if (dh_n) dh_n_t = copy_in(pass->pass->h_n().shape(), dh_n);
    rnn::Tensor dx_t, dh0_t;
    rnn::Model g;
    pass->used = true;
    pass->pass->set_dx_wanted(dx != nullptr);
    pass->pass->backward(dy_t, dh_n ? &dh_n_t : nullptr, dx_t, dh0_t, g);
    give_back(dy_t);
    copy_out(dx_t, dx);
    copy_out(dh0_t, dh0);
    const auto gs = g.parameters();
    for (size_t k = 0; k < gs.size(); ++k) copy_out(*gs[k].second, grads[k]);
  });
}

void rnn_pass_free(rnn_pass* pass) { delete pass; }

#ifndef RNN_C_API_CUDA
// A build without the CUDA backend: its CUDA plans fail, saying why.
namespace {
int no_cuda() {
  return guard([] { throw rnn::Error("cuda", "this build of the engine has no CUDA backend (built without nvcc)"); });
}
}  // namespace

int rnn_cuda_plan_new(const rnn_config*, int64_t, int64_t, int32_t, rnn_cuda_plan** out) {
  if (out) *out = nullptr;
  return no_cuda();
}
void rnn_cuda_plan_free(rnn_cuda_plan*) {}
int rnn_cuda_plan_sizes(const rnn_cuda_plan*, uint64_t*, uint64_t*, uint64_t*) { return no_cuda(); }
int rnn_cuda_plan_load_weights(rnn_cuda_plan*, const float*, void*) { return no_cuda(); }
int rnn_cuda_plan_forward(rnn_cuda_plan*, const rnn_cuda_args*, void*, int32_t, void*) { return no_cuda(); }
int rnn_cuda_plan_backward(rnn_cuda_plan*, const rnn_cuda_args*, const float*, const float*, float*, float*, float*,
                           void*, void*) {
  return no_cuda();
}
#endif

}  // extern "C"
