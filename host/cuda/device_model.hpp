// host/cuda/device_model.hpp: one model in training on the GPU, the state
// every GPU training route shares (cuda::Trainer, host/cuda/trainer.cpp;
// the engine's learners, host/cuda/learner.cpp).
//
// Device state: the parameters, their gradients and the optimizer state as
// flat buffers in Model::parameters() order (the RNN's, then fc.weight and
// fc.bias), a Plan whose kernel-layout weights are refreshed from the flat
// parameters after every update, and the working buffers of one step over
// at most max_steps x max_batch (reserve() grows them and the plan: a new
// plan over the same weights, made only when a larger shape arrives).
//
// The pieces of one step, all enqueued on one stream:
//   forward   the plan's forward pass, kept       y [rows, W]
//   head      logits = in W_hy^T + b_hy           cuBLAS SGEMM + rank-1 update
//             loss, dlogits                       kernels/softmax_xent.cu
//             dW_hy = dlogits^T in, db_hy,        cuBLAS
//             d_in = dlogits W_hy
//   backward  the plan's backward pass            RNN gradients
//   clip      grad_sq (cuBLAS nrm2), scale_grads
//   update    the optimizer                       kernels/optimizer.cu
// with rows = T * B and W = D * H. Callers check sizes and values first.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "buffer.hpp"
#include "rnn/cuda.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn::cuda_detail {

class DeviceModel {
 public:
  // Validates and uploads the model (an encoder may have no head; head()
  // then refuses) and makes room for max_steps x max_batch (0 x 0: none
  // until reserve()). Gradients start at zero. Throws rnn::Error like
  // cuda::Plan.
  DeviceModel(const Model& model, const OptimizerOptions& optimizer, Kernel kernel, int64_t max_steps,
              int64_t max_batch);
  ~DeviceModel();
  DeviceModel(const DeviceModel&) = delete;
  DeviceModel& operator=(const DeviceModel&) = delete;

  const ModelConfig& config() const noexcept { return config_; }
  int64_t max_steps() const noexcept { return max_steps_; }
  int64_t max_batch() const noexcept { return max_batch_; }
  // Grows the plan and the step's buffers to hold T x B (the largest of
  // each seen so far); a no-op when they fit. The learners' steps call it
  // first (and ChunkTrainer's constructor, through the engine's reserve);
  // cuda::Trainer sizes it once, at construction. Synchronises the device
  // when it grows.
  void reserve(int64_t T, int64_t B);

  // Inputs into the model's own buffers (within reserve()'s sizes):
  // x [T, B, I] time-major; lengths as int32 (null when none given);
  // targets as int32 with -1 for every negative one.
  float* upload_x(const Tensor& x, cudaStream_t stream);
  const int32_t* upload_lengths(const std::vector<int64_t>* lengths, cudaStream_t stream);
  const int32_t* upload_targets(const std::vector<int64_t>& targets, cudaStream_t stream);

  // The forward pass of x [T, B, I] (device) from h0 (device, or null for
  // zeros), kept for backward(); y into y(), h_n (device, or null).
  void forward(const float* x, int64_t T, int64_t B, const float* h0, const int32_t* lengths, float* h_n,
               cudaStream_t stream);
  // The head over `rows` rows of `in` [rows, W] (device) against targets
  // (device, -1 ignored; `count` counted, >= 1): the row losses into
  // row_loss(), the head's gradients, d_in [rows, W] = dlogits W_hy. When
  // logits_out is given, the logits [rows, O] are copied there first.
  void head(const float* in, int rows, const int32_t* targets, int count, float* d_in, float* logits_out,
            cudaStream_t stream);
  // The backward pass of the last forward(): dy like y (device), dh_n
  // [L*D, B, H] (device, or null for zeros); dx like x and dh0 when given.
  void backward(const float* dy, const float* dh_n, float* dx, float* dh0, cudaStream_t stream);
  // The sum of the squared gradients (synchronises `stream` to read it).
  double grad_sq(cudaStream_t stream);
  void scale_grads(float scale, cudaStream_t stream);
  // One optimizer update of every parameter, the plan's weights refreshed.
  void update(cudaStream_t stream);
  // The mean of the first `rows` row losses over `count` (synchronises
  // `stream`; summed in a fixed order: deterministic).
  double mean_loss(int rows, int64_t count, cudaStream_t stream) const;

  float* x_buffer() const noexcept { return x_.as<float>(); }  // [max rows, I], what upload_x fills
  float* y() const noexcept { return y_.as<float>(); }    // [max rows, W]
  float* dy() const noexcept { return dy_.as<float>(); }  // [max rows, W], free for the caller
  // The current weights (a download; synchronous).
  Model download() const;

 private:
  void grow(int64_t T, int64_t B);
  ModelConfig config_;
  OptimizerOptions optimizer_;
  Kernel kernel_ = Kernel::Auto;
  int64_t max_steps_ = 0, max_batch_ = 0;
  int64_t steps_ = 0;  // updates so far (Adam's bias correction)
  size_t n_params_ = 0, n_rnn_ = 0;
  std::unique_ptr<cuda::Plan> plan_;
  cuda::RunArgs last_;  // the last forward pass, for backward()
  DeviceBuffer params_, grads_, first_, second_;  // flat, n_params_ floats each
  DeviceBuffer workspace_, x_, lengths_, y_, dy_, logits_, row_loss_, targets_, ones_;
  // Host copies of the last upload's lengths and targets, kept until the
  // next upload: an asynchronous copy may read them after the upload
  // returns, and every step synchronises before it ends (reading the loss).
  std::vector<int32_t> staged_lengths_, staged_targets_;
};

// The global norm over every model's gradients, clipping by it (PyTorch's
// clip_grad_norm_: scale clip / (norm + 1e-6) where norm > clip > 0), then
// one update of each. Returns the norm before clipping.
double clip_and_update(std::initializer_list<DeviceModel*> models, double clip, cudaStream_t stream);

}  // namespace rnn::cuda_detail
