// host/cuda/learner.cpp: the engine's learners on the GPU
// (host/engine/learner.hpp). Each keeps its models as DeviceModels
// (device_model.hpp): the weights, gradients and optimizer state stay on the
// device from the first step to the last; a step uploads x, the lengths and
// the targets and reads back the row losses (and, classifying, the logits
// of the batch). No plan is made per step: a DeviceModel grows its plan
// when a larger batch or a longer sequence arrives. All on the default
// stream.
#include <cmath>
#include <initializer_list>
#include <string>

#include "../../kernels/context.cuh"
#include "device_model.hpp"
#include "gpu.hpp"

namespace rnn::detail {

using cuda_detail::DeviceBuffer;
using cuda_detail::clip_and_update;
using cuda_detail::DeviceModel;

namespace {

constexpr cudaStream_t kStream = nullptr;

int64_t counted(const std::vector<int64_t>& targets) {
  int64_t n = 0;
  for (int64_t t : targets) n += t >= 0;
  return n;
}

// A buffer of at least `bytes` (its contents lost when it grows).
void at_least(DeviceBuffer& b, size_t bytes) {
  if (b.bytes() < bytes) b = DeviceBuffer(bytes);
}

// [L*D, B, H] states: how many bytes.
size_t state_bytes(const ModelConfig& c, int64_t B) {
  return static_cast<size_t>(c.num_layers * c.num_directions() * B * c.hidden_size) * sizeof(float);
}

class GpuLearner final : public Learner {
 public:
  GpuLearner(const Model& model, const LearnOptions& o) : dm_(model, o.optimizer, o.kernel, 0, 0), o_(o) {}

  void reserve(int64_t T, int64_t B) override {
    dm_.reserve(T, B);
    at_least(state_[0], state_bytes(dm_.config(), B));
    at_least(state_[1], state_bytes(dm_.config(), B));
  }

  StepStats every_step(const Tensor& x, const std::vector<int64_t>* lengths, const std::vector<int64_t>& targets,
                       bool carry) override {
    const int64_t T = x.dim(0), B = x.dim(1);
    if (carry && carried_ != 0 && carried_ != B)
      throw Error("x", "holds " + std::to_string(B) + " sequences; the carried state holds " +
                           std::to_string(carried_));
    const bool from_carried = carry && carried_ != 0;
    if (!from_carried) carried_ = 0;
    dm_.reserve(T, B);
    at_least(state_[0], state_bytes(dm_.config(), B));
    at_least(state_[1], state_bytes(dm_.config(), B));
    const float* xs = dm_.upload_x(x, kStream);
    const int32_t* len = dm_.upload_lengths(lengths, kStream);
    const int32_t* tg = dm_.upload_targets(targets, kStream);
    const int64_t count = counted(targets);
    const float* h0 = from_carried ? state_[current_].as<float>() : nullptr;
    const int next = current_ ^ 1;
    dm_.forward(xs, T, B, h0, len, state_[next].as<float>(), kStream);
    const int rows = static_cast<int>(T * B);
    dm_.head(dm_.y(), rows, tg, static_cast<int>(count), dm_.dy(), nullptr, kStream);
    dm_.backward(dm_.dy(), nullptr, nullptr, nullptr, kStream);
    StepStats s;
    s.grad_norm = clip_and_update({&dm_}, o_.clip, kStream);
    s.loss = dm_.mean_loss(rows, count, kStream);
    s.count = count;
    current_ = next;  // the step went through: its h_n is the state carried
    carried_ = B;
    return s;
  }

  StepStats final_state(const Tensor& x, const std::vector<int64_t>& lengths,
                        const std::vector<int64_t>& labels) override;

  Model model() const override { return dm_.download(); }

 private:
  DeviceModel dm_;
  LearnOptions o_;
  DeviceBuffer state_[2];  // [L*D, B, H]: h_n of the last step and the one before, written in turn
  int current_ = 0;        // which of state_ holds the last step's h_n
  int64_t carried_ = 0;    // its B, or 0 when nothing is carried
  DeviceBuffer features_, dfeatures_, logits_;  // final_state's [B, W], [B, W], [B, O]
};

// The head on the top layer's final states: features [B, D*H] gathered from
// h_n, their gradient scattered back into dh_n (zero elsewhere), dy zero.
StepStats GpuLearner::final_state(const Tensor& x, const std::vector<int64_t>& lengths,
                                  const std::vector<int64_t>& labels) {
  const ModelConfig& c = dm_.config();
  const int64_t T = x.dim(0), B = x.dim(1), D = c.num_directions(), H = c.hidden_size, W = D * H;
  const int64_t O = c.output_size, top = (c.num_layers - 1) * D;
  carried_ = 0;
  dm_.reserve(T, B);
  at_least(state_[0], state_bytes(c, B));
  at_least(state_[1], state_bytes(c, B));
  at_least(features_, static_cast<size_t>(B * W) * sizeof(float));
  at_least(dfeatures_, static_cast<size_t>(B * W) * sizeof(float));
  at_least(logits_, static_cast<size_t>(B * O) * sizeof(float));
  float* h_n = state_[0].as<float>();
  float* dh_n = state_[1].as<float>();
  const float* xs = dm_.upload_x(x, kStream);
  const int32_t* len = dm_.upload_lengths(&lengths, kStream);
  const int32_t* tg = dm_.upload_targets(labels, kStream);
  dm_.forward(xs, T, B, nullptr, len, h_n, kStream);
  const size_t row = static_cast<size_t>(H) * sizeof(float), pitch = static_cast<size_t>(W) * sizeof(float);
  for (int64_t d = 0; d < D; ++d)
    RNN_CUDA_CHECK(cudaMemcpy2DAsync(features_.as<float>() + d * H, pitch, h_n + (top + d) * B * H, row, row,
                                     static_cast<size_t>(B), cudaMemcpyDeviceToDevice, kStream));
  dm_.head(features_.as<float>(), static_cast<int>(B), tg, static_cast<int>(B), dfeatures_.as<float>(),
           logits_.as<float>(), kStream);
  RNN_CUDA_CHECK(cudaMemsetAsync(dh_n, 0, state_bytes(c, B), kStream));
  for (int64_t d = 0; d < D; ++d)
    RNN_CUDA_CHECK(cudaMemcpy2DAsync(dh_n + (top + d) * B * H, row, dfeatures_.as<float>() + d * H, pitch, row,
                                     static_cast<size_t>(B), cudaMemcpyDeviceToDevice, kStream));
  RNN_CUDA_CHECK(cudaMemsetAsync(dm_.dy(), 0, static_cast<size_t>(T * B * W) * sizeof(float), kStream));
  dm_.backward(dm_.dy(), dh_n, nullptr, nullptr, kStream);
  StepStats s;
  s.grad_norm = clip_and_update({&dm_}, o_.clip, kStream);
  s.loss = dm_.mean_loss(static_cast<int>(B), B, kStream);
  s.count = B;
  std::vector<float> logits(static_cast<size_t>(B * O));
  RNN_CUDA_CHECK(cudaMemcpy(logits.data(), logits_.get(), logits.size() * sizeof(float), cudaMemcpyDeviceToHost));
  for (int64_t b = 0; b < B; ++b) {
    int64_t arg = 0;
    for (int64_t o = 1; o < O; ++o)
      if (logits[static_cast<size_t>(b * O + o)] > logits[static_cast<size_t>(b * O + arg)]) arg = o;
    s.correct += arg == labels[static_cast<size_t>(b)];
  }
  return s;
}

class GpuPairLearner final : public PairLearner {
 public:
  GpuPairLearner(const Seq2SeqModel& model, const LearnOptions& o)
      : enc_(model.encoder, o.optimizer, o.kernel, 0, 0),
        dec_(model.decoder, o.optimizer, o.kernel, 0, 0),
        context_(model.context),
        o_(o) {}

  StepStats step(const Tensor& src, const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                 const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets) override;

  Seq2SeqModel model() const override {
    Seq2SeqModel m;
    m.encoder = enc_.download();
    m.decoder = dec_.download();
    m.context = context_;
    return m;
  }

 private:
  DeviceModel enc_, dec_;
  bool context_ = false;
  LearnOptions o_;
  DeviceBuffer enc_h_n_, dec_dh0_, dec_dx_;  // [L, B, H], [L, B, H], [Tt, B, V+H] (with context)
};

// The encoder's final states start the decoder (and, with context, fill
// every decoder input's last H columns); the decoder's dh0 (and the sum of
// those columns' gradients) is the encoder's dh_n.
StepStats GpuPairLearner::step(const Tensor& src, const std::vector<int64_t>& src_lengths, const Tensor& dec_in,
                               const std::vector<int64_t>& tgt_lengths, const std::vector<int64_t>& targets) {
  const ModelConfig& dc = dec_.config();
  const int64_t Ts = src.dim(0), B = src.dim(1), Tt = dec_in.dim(0), V = dec_in.dim(2), H = dc.hidden_size;
  const int64_t width = dc.input_size, top = (dc.num_layers - 1) * B * H;
  enc_.reserve(Ts, B);
  dec_.reserve(Tt, B);
  at_least(enc_h_n_, state_bytes(dc, B));
  at_least(dec_dh0_, state_bytes(dc, B));
  if (context_) at_least(dec_dx_, static_cast<size_t>(Tt * B * width) * sizeof(float));
  const float* xs = enc_.upload_x(src, kStream);
  const int32_t* sl = enc_.upload_lengths(&src_lengths, kStream);
  // With context the symbols go into the first V of every row's V+H columns.
  float* xd = context_ ? dec_.x_buffer() : dec_.upload_x(dec_in, kStream);
  const int32_t* tl = dec_.upload_lengths(&tgt_lengths, kStream);
  const int32_t* tg = dec_.upload_targets(targets, kStream);
  const int64_t count = counted(targets);
  if (context_) {  // with the other uploads: a copy from pageable memory waits for the stream's queued work
    const size_t sym = static_cast<size_t>(V) * sizeof(float);
    RNN_CUDA_CHECK(cudaMemcpy2DAsync(xd, static_cast<size_t>(width) * sizeof(float), dec_in.data(), sym, sym,
                                     static_cast<size_t>(Tt * B), cudaMemcpyHostToDevice, kStream));
  }
  float* h_n = enc_h_n_.as<float>();
  float* dh0 = dec_dh0_.as<float>();
  enc_.forward(xs, Ts, B, nullptr, sl, h_n, kStream);
  if (context_) {
    RNN_LAUNCH_CHECK(kernels::launch_append_context(static_cast<int>(Tt), static_cast<int>(B), static_cast<int>(V),
                                                    static_cast<int>(H), h_n + top, xd, kStream));
  }
  dec_.forward(xd, Tt, B, h_n, tl, nullptr, kStream);
  const int rows = static_cast<int>(Tt * B);
  dec_.head(dec_.y(), rows, tg, static_cast<int>(count), dec_.dy(), nullptr, kStream);
  dec_.backward(dec_.dy(), nullptr, context_ ? dec_dx_.as<float>() : nullptr, dh0, kStream);
  if (context_)
    RNN_LAUNCH_CHECK(kernels::launch_context_grad(static_cast<int>(Tt), static_cast<int>(B), static_cast<int>(V),
                                                  static_cast<int>(H), tl, dec_dx_.as<float>(), dh0 + top, kStream));
  RNN_CUDA_CHECK(cudaMemsetAsync(enc_.dy(), 0, static_cast<size_t>(Ts * B * H) * sizeof(float), kStream));
  enc_.backward(enc_.dy(), dh0, nullptr, nullptr, kStream);
  StepStats s;
  s.grad_norm = clip_and_update({&enc_, &dec_}, o_.clip, kStream);
  s.loss = dec_.mean_loss(rows, count, kStream);
  s.count = count;
  return s;
}

}  // namespace

std::unique_ptr<Learner> cuda_learner(const Model& model, const LearnOptions& options) {
  return std::make_unique<GpuLearner>(model, options);
}

std::unique_ptr<PairLearner> cuda_pair_learner(const Seq2SeqModel& model, const LearnOptions& options) {
  return std::make_unique<GpuPairLearner>(model, options);
}

}  // namespace rnn::detail
