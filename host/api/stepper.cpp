// host/api/stepper.cpp: rnn::Stepper, the step API on the CPU: the fast
// backend's kernels (Device::Cpu) or the reference's double arithmetic
// (Device::Reference), one time step of every layer at a time.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/check_model.hpp"
#include "cpu/fast.hpp"
#include "cpu/fast_kernels.hpp"
#include "rnn/error.hpp"
#include "rnn/forward.hpp"
#include "rnn/train.hpp"

namespace rnn {

namespace detail {

// What the fast stepper reads of the model, prepared when the Stepper is
// made or reset: per layer, b_ih + b_hh, W_hh packed for the step kernel,
// and for layer 0 the rows of W_ih^T + bias (a one-hot input's projection,
// as the forward pass computes it), the last row the bias alone.
struct StepWeights {
  std::vector<std::vector<float>> bias;
  std::vector<cpu::fast::Packed> packed;
  std::vector<float> hot;  // [I + 1, H]
};

}  // namespace detail

namespace {

std::shared_ptr<const detail::StepWeights> step_weights(const Model& model, int64_t batch) {
  const ModelConfig& c = model.config();
  const int64_t H = c.hidden_size, I = c.input_size;
  auto w = std::make_shared<detail::StepWeights>();
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const CellWeights& cw = model.cell(l, 0);
    std::vector<float> bias(static_cast<size_t>(H), 0.0f);
    if (c.bias)
      for (int64_t k = 0; k < H; ++k) bias[static_cast<size_t>(k)] = cw.b_ih[k] + cw.b_hh[k];
    cpu::fast::Packed packed;
    if (cpu::fast::wants_packed(batch)) cpu::fast::pack_panels(cw.w_hh.data(), H, H, packed);
    w->bias.push_back(std::move(bias));
    w->packed.push_back(std::move(packed));
  }
  const CellWeights& first = model.cell(0, 0);
  w->hot.resize(static_cast<size_t>((I + 1) * H));
  for (int64_t j = 0; j < H; ++j) {
    const float b = w->bias[0][static_cast<size_t>(j)];
    for (int64_t i = 0; i < I; ++i) w->hot[static_cast<size_t>(i * H + j)] = first.w_ih[j * I + i] + b;
    w->hot[static_cast<size_t>(I * H + j)] = b;
  }
  return w;
}

}  // namespace

Stepper::Stepper(const Model& model, int64_t batch, Device device) : model_(&model), batch_(batch) {
  detail::check_model(model);
  if (model.config().bidirectional)
    throw Error("model", "is bidirectional: its reverse direction needs the whole sequence, it cannot be stepped");
  if (batch < 1) throw Error("batch", "must be at least 1");
  // The host step API steps on the CPU (Auto included); the GPU's is
  // rnn::cuda::Stepper on device pointers, or rnn::generate.
  if (device == Device::Cuda)
    throw Error("device", "cuda: rnn::Stepper steps on the CPU; on the GPU use rnn::cuda::Stepper (rnn/cuda.hpp) "
                          "or rnn::generate (rnn/sample.hpp)");
  device_ = device == Device::Reference ? Device::Reference : Device::Cpu;
  reset(nullptr);
}

void Stepper::reset(const Tensor* h0) {
  const ModelConfig& c = model_->config();
  const std::vector<int64_t> shape = {c.num_layers, batch_, c.hidden_size};
  if (h0 && h0->shape() != shape)
    throw Error("h0", "has shape " + shape_string(h0->shape()) + ", expected [L, B, H] = " + shape_string(shape));
  const size_t n = static_cast<size_t>(c.num_layers * batch_ * c.hidden_size);
  top_ = Tensor({batch_, c.hidden_size});
  const size_t top = static_cast<size_t>((c.num_layers - 1) * batch_ * c.hidden_size);
  if (device_ == Device::Reference) {
    h_.assign(n, 0.0);
    if (h0)
      for (size_t i = 0; i < n; ++i) h_[i] = (*h0)[static_cast<int64_t>(i)];
    for (int64_t i = 0; i < top_.numel(); ++i) top_[i] = static_cast<float>(h_[top + static_cast<size_t>(i)]);
    return;
  }
  weights_ = step_weights(*model_, batch_);  // the model's weights as they are now
  hf_.assign(n, 0.0f);
  if (h0) std::copy_n(h0->data(), n, hf_.data());
  std::copy_n(hf_.data() + top, top_.numel(), top_.data());
}

// One step of every layer, in double as the reference forward computes it,
// so that stepping reproduces the reference's rnn::forward bit for bit.
void Stepper::advance(const std::vector<double>& input, int64_t width) {
  const ModelConfig& c = model_->config();
  const int64_t H = c.hidden_size;
  std::vector<double> in = input, next(static_cast<size_t>(batch_ * H));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const CellWeights& w = model_->cell(l, 0);
    const int64_t K = l == 0 ? width : H;
    double* h = &h_[static_cast<size_t>(l * batch_ * H)];
    for (int64_t b = 0; b < batch_; ++b) {
      const double* x = &in[static_cast<size_t>(b * K)];
      for (int64_t i = 0; i < H; ++i) {
        double acc = c.bias ? static_cast<double>(w.b_ih[i]) + static_cast<double>(w.b_hh[i]) : 0.0;
        for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(w.w_ih[i * K + k]) * x[k];
        for (int64_t j = 0; j < H; ++j) acc += static_cast<double>(w.w_hh[i * H + j]) * h[b * H + j];
        next[static_cast<size_t>(b * H + i)] =
            c.nonlinearity == Nonlinearity::Tanh ? std::tanh(acc) : ((acc > 0.0 || std::isnan(acc)) ? acc : 0.0);
      }
    }
    std::copy(next.begin(), next.end(), h);
    in = next;
  }
  for (int64_t i = 0; i < top_.numel(); ++i) top_[i] = static_cast<float>(in[static_cast<size_t>(i)]);
}

// One step of every layer on the fast backend's kernels, in the forward
// pass's order of operations: the input projection (a copy of W_ih^T's row
// + bias for a one-hot input, else a GEMM then + bias), + h W_hh^T on the
// step kernel, the activation row by row. x [B, I] dense, or `hot` indices.
void Stepper::advance_fast(const float* x, const std::vector<int64_t>* hot) {
  const ModelConfig& c = model_->config();
  const int64_t H = c.hidden_size, B = batch_;
  const detail::StepWeights& w = *weights_;
  std::vector<float> out(static_cast<size_t>(B * H));
  const float* in = x;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const CellWeights& cw = model_->cell(l, 0);
    const int64_t K = l == 0 ? c.input_size : H;
    if (l == 0 && hot) {
      for (int64_t b = 0; b < B; ++b)
        std::copy_n(w.hot.data() + (*hot)[static_cast<size_t>(b)] * H, H, out.data() + b * H);
    } else {
      cpu::fast::gemm_nt(B, H, K, in, K, cw.w_ih.data(), K, 0.0f, out.data(), H);
      if (c.bias)
        for (int64_t b = 0; b < B; ++b) cpu::fast::add_to(out.data() + b * H, w.bias[static_cast<size_t>(l)].data(), H);
    }
    float* h = hf_.data() + l * B * H;
    const cpu::fast::Packed& packed = w.packed[static_cast<size_t>(l)];
    cpu::fast::step_gemm(B, H, H, h, H, cw.w_hh.data(), packed.empty() ? nullptr : packed.data(), out.data(), H);
    for (int64_t b = 0; b < B; ++b) cpu::fast::activate(out.data() + b * H, H, c.nonlinearity);
    std::copy(out.begin(), out.end(), h);
    in = h;
  }
  std::copy_n(in, B * H, top_.data());
}

const Tensor& Stepper::step(const Tensor& x_t) {
  const int64_t I = model_->config().input_size;
  if (x_t.shape() != std::vector<int64_t>{batch_, I})
    throw Error("x", "has shape " + shape_string(x_t.shape()) + ", expected [B, I] = [" + std::to_string(batch_) +
                         ", " + std::to_string(I) + "]");
  if (device_ == Device::Reference) advance(std::vector<double>(x_t.values().begin(), x_t.values().end()), I);
  else advance_fast(x_t.data(), nullptr);
  return top_;
}

const Tensor& Stepper::step_one_hot(const std::vector<int64_t>& index) {
  const int64_t I = model_->config().input_size;
  if (static_cast<int64_t>(index.size()) != batch_)
    throw Error("index", "holds " + std::to_string(index.size()) + " entries for a batch of " + std::to_string(batch_));
  for (int64_t b = 0; b < batch_; ++b)
    if (index[b] < 0 || index[b] >= I)
      throw Error("index", "entry " + std::to_string(index[b]) + " is outside [0, " + std::to_string(I) + ")");
  if (device_ == Device::Reference) {
    std::vector<double> x(static_cast<size_t>(batch_ * I), 0.0);
    for (int64_t b = 0; b < batch_; ++b) x[static_cast<size_t>(b * I + index[b])] = 1.0;
    advance(x, I);
  } else {
    advance_fast(nullptr, &index);
  }
  return top_;
}

Tensor Stepper::logits() const { return apply_head(*model_, top_); }

Tensor Stepper::state() const {
  const ModelConfig& c = model_->config();
  Tensor s({c.num_layers, batch_, c.hidden_size});
  if (device_ == Device::Reference)
    for (int64_t i = 0; i < s.numel(); ++i) s[i] = static_cast<float>(h_[static_cast<size_t>(i)]);
  else
    std::copy(hf_.begin(), hf_.end(), s.data());
  return s;
}

}  // namespace rnn
