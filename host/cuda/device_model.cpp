// host/cuda/device_model.cpp: cuda_detail::DeviceModel (device_model.hpp).
#include "device_model.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../../kernels/fill.cuh"
#include "../../kernels/optimizer.cuh"
#include "../../kernels/softmax_xent.cuh"
#include "engine/check_model.hpp"
#include "plan_impl.hpp"

namespace rnn::cuda_detail {

namespace {

size_t floats(int64_t a, int64_t b, int64_t c = 1) {
  return static_cast<size_t>(a) * static_cast<size_t>(b) * static_cast<size_t>(c) * sizeof(float);
}

}  // namespace

DeviceModel::DeviceModel(const Model& model, const OptimizerOptions& optimizer, Kernel kernel, int64_t max_steps,
                         int64_t max_batch)
    : config_(model.config()), optimizer_(optimizer), kernel_(kernel) {
  rnn::detail::check_model(model);  // the flat buffer below follows the config's shapes
  std::vector<float> flat;
  for (const auto& [name, p] : model.parameters()) flat.insert(flat.end(), p->values().begin(), p->values().end());
  n_params_ = flat.size();
  const size_t bytes = n_params_ * sizeof(float);
  params_ = DeviceBuffer(bytes);
  grads_ = DeviceBuffer(bytes);
  first_ = DeviceBuffer(bytes);
  second_ = DeviceBuffer(bytes);
  RNN_CUDA_CHECK(cudaMemcpy(params_.get(), flat.data(), bytes, cudaMemcpyHostToDevice));
  RNN_CUDA_CHECK(cudaMemset(grads_.get(), 0, bytes));
  RNN_CUDA_CHECK(cudaMemset(first_.get(), 0, bytes));
  RNN_CUDA_CHECK(cudaMemset(second_.get(), 0, bytes));
  if (max_steps > 0 && max_batch > 0) grow(max_steps, max_batch);
}

DeviceModel::~DeviceModel() = default;

void DeviceModel::reserve(int64_t T, int64_t B) {
  if (plan_ && T <= max_steps_ && B <= max_batch_) return;
  RNN_CUDA_CHECK(cudaDeviceSynchronize());  // the old plan's and buffers' work is done
  grow(std::max(T, max_steps_), std::max(B, max_batch_));
}

// A plan for T x B over the current flat parameters, and the buffers of
// one step of that size; all made before any is replaced, so a failure
// (a device out of memory) leaves the model as it was.
void DeviceModel::grow(int64_t T, int64_t B) {
  cuda::PlanOptions po;
  po.max_steps = T;
  po.max_batch = B;
  po.kernel = kernel_;
  auto plan = std::make_unique<cuda::Plan>(Model(config_), po);
  cuda::Plan::Impl& p = *plan->impl_;
  if (!p.backward_unavailable.empty()) throw Error("options", p.backward_unavailable);
  const int64_t rows = T * B, W = config_.num_directions() * config_.hidden_size;
  DeviceBuffer workspace(plan->backward_workspace_size()), x(floats(rows, config_.input_size)),
      lengths(static_cast<size_t>(B) * sizeof(int32_t)), y(floats(rows, W)), dy(floats(rows, W)),
      logits(floats(rows, config_.output_size)), row_loss(floats(rows, 1)),
      targets(static_cast<size_t>(rows) * sizeof(int32_t)), ones(floats(rows, 1));
  p.load_parameters(params_.as<float>(), nullptr);
  RNN_CUDA_CHECK(kernels::launch_fill(ones.as<float>(), static_cast<size_t>(rows), 1.0f, nullptr));
  RNN_CUDA_CHECK(cudaDeviceSynchronize());
  n_rnn_ = plan->gradient_count();
  plan_ = std::move(plan);
  workspace_ = std::move(workspace);
  x_ = std::move(x);
  lengths_ = std::move(lengths);
  y_ = std::move(y);
  dy_ = std::move(dy);
  logits_ = std::move(logits);
  row_loss_ = std::move(row_loss);
  targets_ = std::move(targets);
  ones_ = std::move(ones);
  max_steps_ = T;
  max_batch_ = B;
}

float* DeviceModel::upload_x(const Tensor& x, cudaStream_t stream) {
  RNN_CUDA_CHECK(cudaMemcpyAsync(x_.get(), x.data(), x.values().size() * sizeof(float), cudaMemcpyHostToDevice,
                                 stream));
  return x_.as<float>();
}

const int32_t* DeviceModel::upload_lengths(const std::vector<int64_t>* lengths, cudaStream_t stream) {
  if (!lengths) return nullptr;
  staged_lengths_.assign(lengths->begin(), lengths->end());
  RNN_CUDA_CHECK(cudaMemcpyAsync(lengths_.get(), staged_lengths_.data(), staged_lengths_.size() * sizeof(int32_t),
                                 cudaMemcpyHostToDevice, stream));
  return lengths_.as<int32_t>();
}

const int32_t* DeviceModel::upload_targets(const std::vector<int64_t>& targets, cudaStream_t stream) {
  std::vector<int32_t>& t32 = staged_targets_;
  t32.resize(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) t32[i] = targets[i] < 0 ? -1 : static_cast<int32_t>(targets[i]);
  RNN_CUDA_CHECK(cudaMemcpyAsync(targets_.get(), t32.data(), t32.size() * sizeof(int32_t), cudaMemcpyHostToDevice,
                                 stream));
  return targets_.as<int32_t>();
}

void DeviceModel::forward(const float* x, int64_t T, int64_t B, const float* h0, const int32_t* lengths, float* h_n,
                          cudaStream_t stream) {
  cuda::RunArgs a;
  a.steps = T;
  a.batch = B;
  a.x = x;
  a.h0 = h0;
  a.lengths = lengths;
  a.y = y_.as<float>();
  a.h_n = h_n;
  cuda::Plan::Impl& p = *plan_->impl_;
  p.check_run_args(a, workspace_.get());
  p.forward_keep(a, workspace_.get(), stream);
  last_ = a;
}

void DeviceModel::head(const float* in, int rows, const int32_t* targets, int count, float* d_in, float* logits_out,
                       cudaStream_t stream) {
  if (config_.output_size < 1) throw Error("model", "has no output head (fc.weight): nothing to train against");
  const int O = static_cast<int>(config_.output_size);
  const int W = static_cast<int>(config_.num_directions() * config_.hidden_size);
  const float* w_hy = params_.as<float>() + n_rnn_;
  const float* b_hy = config_.output_bias ? w_hy + static_cast<size_t>(O) * W : nullptr;
  float* logits = logits_.as<float>();
  const float* ones = ones_.as<float>();
  const float one = 1.0f, zero = 0.0f;
  cuda::Plan::Impl& p = *plan_->impl_;
  p.bind_cublas(stream);
  RNN_CUDA_CHECK(cublasSetMathMode(p.cublas, CUBLAS_DEFAULT_MATH));
  // logits^T [O, rows] = W_hy [O, W] . in^T [W, rows] (+ b_hy 1^T)
  RNN_CUDA_CHECK(cublasSgemm(p.cublas, CUBLAS_OP_T, CUBLAS_OP_N, O, rows, W, &one, w_hy, W, in, W, &zero, logits, O));
  if (b_hy) RNN_CUDA_CHECK(cublasSger(p.cublas, O, rows, &one, b_hy, 1, ones, 1, logits, O));
  if (logits_out)
    RNN_CUDA_CHECK(cudaMemcpyAsync(logits_out, logits, floats(rows, O), cudaMemcpyDeviceToDevice, stream));
  RNN_LAUNCH_CHECK(kernels::launch_softmax_xent(rows, O, logits, targets, count, row_loss_.as<float>(), stream));
  // dW_hy [O, W] = dlogits^T in;  db_hy = sum over rows;  d_in [rows, W] = dlogits W_hy
  float* g_hy = grads_.as<float>() + n_rnn_;
  RNN_CUDA_CHECK(cublasSgemm(p.cublas, CUBLAS_OP_N, CUBLAS_OP_T, W, O, rows, &one, in, W, logits, O, &zero, g_hy, W));
  if (b_hy)
    RNN_CUDA_CHECK(cublasSgemv(p.cublas, CUBLAS_OP_N, O, rows, &one, logits, O, ones, 1, &zero,
                               g_hy + static_cast<size_t>(O) * W, 1));
  RNN_CUDA_CHECK(cublasSgemm(p.cublas, CUBLAS_OP_N, CUBLAS_OP_N, W, rows, O, &one, w_hy, W, logits, O, &zero, d_in, W));
}

void DeviceModel::backward(const float* dy, const float* dh_n, float* dx, float* dh0, cudaStream_t stream) {
  cuda::BackwardArgs g;
  g.dy = dy;
  g.dh_n = dh_n;
  g.dx = dx;
  g.dh0 = dh0;
  g.grads = grads_.as<float>();
  plan_->impl_->backward_from(last_, g, workspace_.get(), stream);
}

double DeviceModel::grad_sq(cudaStream_t stream) {
  cuda::Plan::Impl& p = *plan_->impl_;
  p.bind_cublas(stream);
  float norm = 0.0f;
  RNN_CUDA_CHECK(cublasSnrm2_64(p.cublas, static_cast<int64_t>(n_params_), grads_.as<float>(), 1, &norm));  // waits
  return static_cast<double>(norm) * static_cast<double>(norm);
}

void DeviceModel::scale_grads(float scale, cudaStream_t stream) {
  cuda::Plan::Impl& p = *plan_->impl_;
  p.bind_cublas(stream);
  RNN_CUDA_CHECK(cublasSscal_64(p.cublas, static_cast<int64_t>(n_params_), &scale, grads_.as<float>(), 1));
}

void DeviceModel::update(cudaStream_t stream) {
  ++steps_;
  const OptimizerOptions& o = optimizer_;
  float* params = params_.as<float>();
  const float* grads = grads_.as<float>();
  if (o.kind == OptimizerKind::Sgd) {
    RNN_LAUNCH_CHECK(kernels::launch_sgd(n_params_, params, grads, first_.as<float>(), static_cast<float>(o.lr),
                                         static_cast<float>(o.momentum), steps_ == 1, stream));
  } else {
    const kernels::AdamConstants c = kernels::adam_constants(o.lr, o.beta1, o.beta2, o.eps, steps_);
    RNN_LAUNCH_CHECK(kernels::launch_adam(n_params_, params, grads, first_.as<float>(), second_.as<float>(), c, stream));
  }
  plan_->impl_->load_parameters(params, stream);
}

double DeviceModel::mean_loss(int rows, int64_t count, cudaStream_t stream) const {
  std::vector<float> losses(static_cast<size_t>(rows));
  RNN_CUDA_CHECK(cudaMemcpyAsync(losses.data(), row_loss_.get(), losses.size() * sizeof(float),
                                 cudaMemcpyDeviceToHost, stream));
  RNN_CUDA_CHECK(cudaStreamSynchronize(stream));
  double sum = 0.0;
  for (float l : losses) sum += l;  // fixed order: deterministic
  return sum / static_cast<double>(count);
}

Model DeviceModel::download() const {
  std::vector<float> flat(n_params_);
  RNN_CUDA_CHECK(cudaMemcpy(flat.data(), params_.get(), flat.size() * sizeof(float), cudaMemcpyDeviceToHost));
  Model m(config_);
  size_t at = 0;
  for (auto& [name, p] : m.parameters()) {
    std::copy(flat.begin() + static_cast<long>(at), flat.begin() + static_cast<long>(at + p->numel()), p->data());
    at += static_cast<size_t>(p->numel());
  }
  return m;
}

double clip_and_update(std::initializer_list<DeviceModel*> models, double clip, cudaStream_t stream) {
  double sq = 0.0;
  for (DeviceModel* m : models) sq += m->grad_sq(stream);
  const double norm = std::sqrt(sq);
  if (clip > 0.0 && norm > clip)
    for (DeviceModel* m : models) m->scale_grads(static_cast<float>(clip / (norm + 1e-6)), stream);
  for (DeviceModel* m : models) m->update(stream);
  return norm;
}

}  // namespace rnn::cuda_detail
