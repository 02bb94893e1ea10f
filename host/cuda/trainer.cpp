// host/cuda/trainer.cpp: rnn::cuda::Trainer, training on the GPU.
//
// Device state: the parameters, their gradients and the optimizer state as
// flat buffers in Model::parameters() order (the RNN's, then fc.weight and
// fc.bias), and a Plan whose kernel-layout weights are refreshed from the
// flat parameters after every update. One step:
//   forward (Plan, keeping every layer's outputs)  y [rows, W]
//   logits = y W_hy^T + b_hy                        cuBLAS SGEMM + rank-1 update
//   loss, dlogits                                   kernels/softmax_xent.cu
//   dW_hy = dlogits^T y, db_hy, dy = dlogits W_hy   cuBLAS
//   backward (Plan)                                 RNN gradients
//   clip (cuBLAS nrm2, scal), optimizer             kernels/optimizer.cu
// with rows = T * B and W = D * H.
#include <cmath>
#include <vector>

#include "../../kernels/fill.cuh"
#include "../../kernels/optimizer.cuh"
#include "../../kernels/softmax_xent.cuh"
#include "plan_impl.hpp"

namespace rnn::cuda {

struct Trainer::Impl {
  ModelConfig config;
  TrainerOptions options;
  std::unique_ptr<Plan> plan;
  size_t n_params = 0, n_rnn = 0;
  DeviceBuffer params, grads, first, second;       // flat, n_params floats each
  DeviceBuffer workspace, y, logits, dy, row_loss, targets, ones;
  int64_t steps = 0;
};

Trainer::Trainer(const Model& model, const TrainerOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& t = *impl_;
  if (!model.has_head()) throw Error("model", "has no output head (fc.weight): nothing to train against");
  Optimizer check(model, options.optimizer);  // validates the optimizer settings
  (void)check;
  t.config = model.config();
  t.options = options;
  PlanOptions po;
  po.max_steps = options.max_steps;
  po.max_batch = options.max_batch;
  po.kernel = options.kernel;
  t.plan = std::make_unique<Plan>(model, po);
  if (!t.plan->impl_->backward_unavailable.empty()) throw Error("options", t.plan->impl_->backward_unavailable);
  t.n_rnn = t.plan->gradient_count();
  std::vector<float> flat;
  for (const auto& [name, p] : model.parameters()) flat.insert(flat.end(), p->values().begin(), p->values().end());
  t.n_params = flat.size();
  const size_t bytes = t.n_params * sizeof(float);
  t.params = DeviceBuffer(bytes);
  t.grads = DeviceBuffer(bytes);
  t.first = DeviceBuffer(bytes);
  t.second = DeviceBuffer(bytes);
  RNN_CUDA_CHECK(cudaMemcpy(t.params.get(), flat.data(), bytes, cudaMemcpyHostToDevice));
  RNN_CUDA_CHECK(cudaMemset(t.first.get(), 0, bytes));
  RNN_CUDA_CHECK(cudaMemset(t.second.get(), 0, bytes));
  const size_t rows = static_cast<size_t>(options.max_steps * options.max_batch);
  const size_t W = static_cast<size_t>(t.config.num_directions() * t.config.hidden_size);
  const size_t O = static_cast<size_t>(t.config.output_size);
  t.workspace = DeviceBuffer(t.plan->backward_workspace_size());
  t.y = DeviceBuffer(rows * W * sizeof(float));
  t.logits = DeviceBuffer(rows * O * sizeof(float));
  t.dy = DeviceBuffer(rows * W * sizeof(float));
  t.row_loss = DeviceBuffer(rows * sizeof(float));
  t.targets = DeviceBuffer(rows * sizeof(int32_t));
  t.ones = DeviceBuffer(rows * sizeof(float));
  RNN_CUDA_CHECK(kernels::launch_fill(t.ones.as<float>(), rows, 1.0f, nullptr));
  RNN_CUDA_CHECK(cudaDeviceSynchronize());
}

Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
int64_t Trainer::steps() const noexcept { return impl_->steps; }

TrainStats Trainer::step(const float* x, int64_t T, int64_t B, const std::vector<int64_t>& targets, const float* h0,
                         float* h_n, cudaStream_t stream) {
  Impl& t = *impl_;
  Plan::Impl& p = *t.plan->impl_;
  const int64_t rows = T * B;
  if (T < 1 || T > t.options.max_steps || B < 1 || B > t.options.max_batch)
    throw Error("args", "T = " + std::to_string(T) + ", B = " + std::to_string(B) + " exceed the trainer's " +
                            std::to_string(t.options.max_steps) + " x " + std::to_string(t.options.max_batch));
  if (static_cast<int64_t>(targets.size()) != rows)
    throw Error("targets", "holds " + std::to_string(targets.size()) + " targets for T*B = " + std::to_string(rows));
  const int O = static_cast<int>(t.config.output_size);
  const int W = static_cast<int>(t.config.num_directions() * t.config.hidden_size);
  std::vector<int32_t> t32(targets.size());
  int count = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] >= O) throw Error("targets", "target " + std::to_string(targets[i]) + " is outside [0, " +
                                                    std::to_string(O) + ")");
    t32[i] = targets[i] < 0 ? -1 : static_cast<int32_t>(targets[i]);
    count += targets[i] >= 0;
  }
  if (count == 0) throw Error("targets", "none is counted (all -1)");
  RNN_CUDA_CHECK(cudaMemcpyAsync(t.targets.get(), t32.data(), t32.size() * sizeof(int32_t), cudaMemcpyHostToDevice,
                                 stream));

  RunArgs a;
  a.steps = T;
  a.batch = B;
  a.x = x;
  a.h0 = h0;
  a.y = t.y.as<float>();
  a.h_n = h_n;
  p.check_run_args(a, t.workspace.get());
  p.forward_keep(a, t.workspace.get(), stream);

  float* params = t.params.as<float>();
  float* grads = t.grads.as<float>();
  const float* w_hy = params + t.n_rnn;
  const float* b_hy = t.config.output_bias ? w_hy + static_cast<size_t>(O) * W : nullptr;
  float* logits = t.logits.as<float>();
  const float* y = t.y.as<float>();
  const float* ones = t.ones.as<float>();
  const float one = 1.0f, zero = 0.0f;
  const int n = static_cast<int>(rows);
  p.bind_cublas(stream);
  RNN_CUDA_CHECK(cublasSetMathMode(p.cublas, CUBLAS_DEFAULT_MATH));
  // logits^T [O, rows] = W_hy [O, W] . y^T [W, rows] (+ b_hy 1^T)
  RNN_CUDA_CHECK(cublasSgemm(p.cublas, CUBLAS_OP_T, CUBLAS_OP_N, O, n, W, &one, w_hy, W, y, W, &zero, logits, O));
  if (b_hy) RNN_CUDA_CHECK(cublasSger(p.cublas, O, n, &one, b_hy, 1, ones, 1, logits, O));
  RNN_LAUNCH_CHECK(kernels::launch_softmax_xent(n, O, logits, t.targets.as<int32_t>(), count, t.row_loss.as<float>(), stream));
  // dW_hy [O, W] = dlogits^T y;  db_hy = sum over rows;  dy [rows, W] = dlogits W_hy
  float* g_hy = grads + t.n_rnn;
  RNN_CUDA_CHECK(cublasSgemm(p.cublas, CUBLAS_OP_N, CUBLAS_OP_T, W, O, n, &one, y, W, logits, O, &zero, g_hy, W));
  if (b_hy)
    RNN_CUDA_CHECK(cublasSgemv(p.cublas, CUBLAS_OP_N, O, n, &one, logits, O, ones, 1, &zero,
                               g_hy + static_cast<size_t>(O) * W, 1));
  RNN_CUDA_CHECK(cublasSgemm(p.cublas, CUBLAS_OP_N, CUBLAS_OP_N, W, n, O, &one, w_hy, W, logits, O, &zero,
                             t.dy.as<float>(), W));
  BackwardArgs g;
  g.dy = t.dy.as<float>();
  g.grads = grads;
  p.backward_from(a, g, t.workspace.get(), stream);

  // Clipping by the global norm (PyTorch's clip_grad_norm_), then the update.
  p.bind_cublas(stream);
  float norm = 0.0f;
  RNN_CUDA_CHECK(cublasSnrm2_64(p.cublas, static_cast<int64_t>(t.n_params), grads, 1, &norm));  // waits for it
  if (t.options.clip > 0.0 && norm > t.options.clip) {
    const float scale = static_cast<float>(t.options.clip / (static_cast<double>(norm) + 1e-6));
    RNN_CUDA_CHECK(cublasSscal_64(p.cublas, static_cast<int64_t>(t.n_params), &scale, grads, 1));
  }
  ++t.steps;
  const OptimizerOptions& o = t.options.optimizer;
  if (o.kind == OptimizerKind::Sgd) {
    RNN_LAUNCH_CHECK(kernels::launch_sgd(t.n_params, params, grads, t.first.as<float>(), static_cast<float>(o.lr),
                                       static_cast<float>(o.momentum), t.steps == 1, stream));
  } else {
    const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(t.steps));
    const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(t.steps));
    kernels::AdamConstants c;
    c.beta1 = static_cast<float>(o.beta1);
    c.one_minus_beta1 = static_cast<float>(1.0 - o.beta1);
    c.beta2 = static_cast<float>(o.beta2);
    c.one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
    c.eps = static_cast<float>(o.eps);
    c.step_size = static_cast<float>(o.lr / bc1);
    c.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    RNN_LAUNCH_CHECK(
        kernels::launch_adam(t.n_params, params, grads, t.first.as<float>(), t.second.as<float>(), c, stream));
  }
  p.load_parameters(params, stream);

  std::vector<float> losses(static_cast<size_t>(rows));
  RNN_CUDA_CHECK(cudaMemcpyAsync(losses.data(), t.row_loss.get(), losses.size() * sizeof(float),
                                 cudaMemcpyDeviceToHost, stream));
  RNN_CUDA_CHECK(cudaStreamSynchronize(stream));
  TrainStats s;
  for (float l : losses) s.loss += l;  // fixed order: deterministic
  s.loss /= count;
  s.count = count;
  s.grad_norm = norm;
  return s;
}

Model Trainer::model() const {
  const Impl& t = *impl_;
  std::vector<float> flat(t.n_params);
  RNN_CUDA_CHECK(cudaMemcpy(flat.data(), t.params.get(), flat.size() * sizeof(float), cudaMemcpyDeviceToHost));
  Model m(t.config);
  size_t at = 0;
  for (auto& [name, p] : m.parameters()) {
    std::copy(flat.begin() + static_cast<long>(at), flat.begin() + static_cast<long>(at + p->numel()), p->data());
    at += static_cast<size_t>(p->numel());
  }
  return m;
}

}  // namespace rnn::cuda
