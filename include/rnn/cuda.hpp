// rnn/cuda.hpp: the device API, for GPU applications that keep their data
// on the GPU. Include it only with the CUDA runtime headers available; the
// rest of the API (<rnn/rnn.hpp>) needs no CUDA headers.
//
// Plan once, run many times:
//
//   rnn::cuda::PlanOptions o;  o.max_steps = T;  o.max_batch = B;
//   rnn::cuda::Plan plan(model, o);            // uploads the weights once
//   void* ws;  cudaMalloc(&ws, plan.workspace_size());
//   rnn::cuda::RunArgs a;  a.steps = T;  a.batch = B;  a.x = d_x;  a.y = d_y;  ...
//   plan.run(a, ws, stream);                   // asynchronous on `stream`
//
// run() allocates nothing and never synchronises with the host; all its
// work is ordered on the caller's stream. Shapes are those of
// <rnn/forward.hpp>; every pointer in RunArgs is device memory.
//
// Threads and streams: a Plan may be used by one thread at a time, and its
// runs must be ordered (one stream, or streams synchronised between runs):
// runs share the plan's cuBLAS workspace and cached CUDA graph. Separate
// plans of one model may run concurrently on separate streams.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "rnn/device.hpp"
#include "rnn/model.hpp"
#include "rnn/train.hpp"

namespace rnn::cuda_detail {
class DeviceModel;  // host/cuda/device_model.hpp
}  // namespace rnn::cuda_detail

namespace rnn::cuda {

// For benchmarks only: one part of every recurrence step that a plan's
// runs leave out, so a benchmark can time what that part costs (`rnn bench`
// shows the split). A plan with anything but None computes wrong outputs
// (without the barrier its steps also race); it refuses backward().
enum class TimingSkip {
  None,      // the real computation
  Staging,   // h_prev is not copied into shared memory (zeros are used)
  Epilogue,  // no input projection P, bias, activation or store of h
  Barrier,   // no grid barrier between steps (persistent kernel only)
};

struct PlanOptions {
  int64_t max_steps = 0;   // the largest T run() will be given (>= 1)
  int64_t max_batch = 0;   // the largest B run() will be given (>= 1)
  bool batch_first = false;   // x and y are [B, T, ...]
  Kernel kernel = Kernel::Auto;  // the recurrence kernel; Persistent fails if W_hh does not fit on chip
  bool allow_tf32 = false;    // let cuBLAS use TF32 for the forward input projection (default: strict
                              // FP32); the backward pass's gradient GEMMs are always strict FP32
  TimingSkip timing_skip = TimingSkip::None;  // benchmarks only (see TimingSkip)
  int device = -1;            // CUDA device ordinal; -1: the device current at construction.
                              // The caller's current device is left as it was; run() must be
                              // called with the plan's device current.
};

// One run's device pointers (float32, C order) and sizes.
struct RunArgs {
  int64_t steps = 0;               // T, 1 <= T <= max_steps
  int64_t batch = 0;               // B, 1 <= B <= max_batch
  const float* x = nullptr;        // [T, B, I] ([B, T, I] batch-first)
  const float* h0 = nullptr;       // [L*D, B, H], or null for zeros
  const int32_t* lengths = nullptr;  // [B], each in [1, T] (not checked on the device), or null for all T
  float* y = nullptr;              // [T, B, D*H] ([B, T, D*H] batch-first); 0 past each length
  float* h_n = nullptr;            // [L*D, B, H], or null; must not overlap h0
};

// Device pointers of a backward pass (float32, C order).
struct BackwardArgs {
  const float* dy = nullptr;    // like y; ignored at padded positions; must not overlap y
  const float* dh_n = nullptr;  // [L*D, B, H], or null for zeros; must not overlap h_n
  float* dx = nullptr;          // like x, or null (not computed)
  float* dh0 = nullptr;         // [L*D, B, H], or null (not computed); may be h0's buffer
  float* grads = nullptr;       // gradient_count() floats: the gradient of every RNN parameter, in
                                // Model::parameters() order (head excluded), each row-major;
                                // bias_ih and bias_hh get the same values
};

class Plan {
 public:
  // Validates the model and options, selects the device, uploads the
  // weights and sets up cuBLAS. Throws rnn::Error ("model", "options",
  // "kernel" or "cuda" as subject) on failure.
  Plan(const Model& model, const PlanOptions& options);
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  // Bytes of device workspace run() needs for max_steps x max_batch
  // (256-byte aligned pointer).
  size_t workspace_size() const noexcept;
  // Bytes of device workspace backward() needs (more: it keeps every layer's outputs).
  size_t backward_workspace_size() const noexcept;
  // Floats in BackwardArgs::grads.
  size_t gradient_count() const noexcept;
  // The kernel the plan runs (never Kernel::Auto).
  Kernel kernel() const noexcept;
  // The kernel backward() runs for the backward recurrence: the forward's
  // own twin (Persistent after Persistent; Registers after Registers or
  // Cluster, else Persistent where it fits), Stepwise otherwise.
  Kernel backward_kernel() const noexcept;
  const ModelConfig& config() const noexcept;

  // Enqueues the forward pass on `stream`. Throws rnn::Error("args", ...) on
  // sizes out of range or missing pointers, rnn::Error("cuda", ...) when a
  // CUDA or cuBLAS call fails (naming the call, file and line). The device
  // current on the calling thread must be the plan's.
  void run(const RunArgs& args, void* workspace, cudaStream_t stream);

  // Backpropagation through time: runs the forward pass of `forward` (its y
  // is written; h_n too when given), then the backward recurrence with the
  // plan's kernel and cuBLAS GEMMs for dW_ih, dW_hh, db and dx. Same
  // semantics as rnn::backward. Not captured in a graph; asynchronous,
  // allocation-free. `workspace` must hold backward_workspace_size() bytes.
  void backward(const RunArgs& forward, const BackwardArgs& grads, void* workspace, cudaStream_t stream);

  // backward() in two halves, for a caller that computes dy from y in
  // between (a loss on the host or in its own kernels) without running the
  // forward pass twice. forward_for_backward() runs the forward pass of
  // `forward` (y written, h_n too when given) and keeps every layer's
  // outputs in `workspace` (backward_workspace_size() bytes);
  // backward_after_forward() then runs the backward pass from `grads`. Give
  // both the same `forward` and `workspace`, and leave x, h0, lengths, y and
  // the workspace as they are in between: the backward pass reads them.
  // Same errors as backward(); together they compute exactly what it does.
  void forward_for_backward(const RunArgs& forward, void* workspace, cudaStream_t stream);
  // Replaces the plan's weights with those of `flat`, a device buffer of
  // gradient_count() floats: the RNN's parameters in Model::parameters()
  // order (head excluded), each row-major, the layout of
  // BackwardArgs::grads. Enqueued on `stream`: what is enqueued after it
  // there uses the new weights; `flat` may be reused once the copy has run.
  // Throws rnn::Error("args") on a null pointer, ("cuda") when a call fails.
  void load_weights(const float* flat, cudaStream_t stream);
  void backward_after_forward(const RunArgs& forward, const BackwardArgs& grads, void* workspace,
                              cudaStream_t stream);

  struct Impl;  // private to host/cuda/plan.cpp

 private:
  friend class rnn::cuda_detail::DeviceModel;
  std::unique_ptr<Impl> impl_;
};

// The step API on the GPU: a unidirectional model (at most 8 layers) run one
// time step at a time, every layer, the head and the choice of the next
// token in one cooperative launch; the state stays on the device. For
// generation, the sampled index stays on the device too and is the next
// step's input, so the only transfer per step is the caller reading the
// index. Numerically rnn::Stepper's step (float, not double accumulation).
class Stepper {
 public:
  // Throws rnn::Error("model", ...) for a bidirectional model or more than 8 layers.
  Stepper(const Model& model, int64_t batch = 1);
  ~Stepper();
  Stepper(Stepper&&) noexcept;
  Stepper& operator=(Stepper&&) noexcept;

  // Starts again from h0 [L, B, H] (device), or from zeros.
  void reset(const float* h0 = nullptr, cudaStream_t stream = nullptr);
  // One step from x [B, I] (device).
  void step(const float* x, cudaStream_t stream);
  // One step from one-hot inputs index [B] (device), each in [0, I).
  void step_one_hot(const int32_t* index, cudaStream_t stream);
  // One step from index (device; may be the pointer this returned last
  // time), then the next index per sequence from the logits: greedy for
  // temperature 0, else sampled from softmax(logits / temperature) with a
  // generator keyed by (seed, step count): the same seed gives the same
  // tokens run after run. Returns the device buffer [B] of the next indices.
  const int32_t* step_and_sample(const int32_t* index, float temperature, uint64_t seed, cudaStream_t stream);

  const float* state() const noexcept;   // [L, B, H] device, after the last step
  const float* logits() const noexcept;  // [B, O] device (models with a head)
  int64_t batch() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct TrainerOptions {
  int64_t max_steps = 0;  // the largest T step() will be given
  int64_t max_batch = 0;  // the largest B
  Kernel kernel = Kernel::Auto;
  OptimizerOptions optimizer;  // SGD (momentum) or Adam, as rnn::Optimizer
  double clip = 0.0;           // clip the gradients' global norm to this (<= 0: no clipping)
};

struct TrainStats {
  double loss = 0.0;       // mean NLL (nats) of the chunk
  int64_t count = 0;       // targets counted
  double grad_norm = 0.0;  // before clipping
};

// Training on the GPU: the model's parameters, gradients and optimizer
// state live on the device; a step runs the forward pass, the head, a fused
// softmax cross-entropy, the backward pass (the plan's kernels and cuBLAS),
// clipping and the optimizer there. The same computation as rnn::train_step
// (up to float rounding), deterministic run to run. Time-major inputs.
class Trainer {
 public:
  // The model needs an output head. Throws rnn::Error like Plan.
  Trainer(const Model& model, const TrainerOptions& options);
  ~Trainer();
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;

  // One update from x [T, B, I] (device) and targets [T*B] (host, time-major,
  // -1 ignored, at least one counted), starting from h0 [L*D, B, H] (device,
  // or null for zeros) and writing h_n (device, or null; must not overlap h0)
  // for the next chunk (truncated BPTT). Synchronises `stream` to read the loss.
  TrainStats step(const float* x, int64_t T, int64_t B, const std::vector<int64_t>& targets, const float* h0,
                  float* h_n, cudaStream_t stream);
  // The current weights (a download; synchronous).
  Model model() const;
  int64_t steps() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The latency of one grid-wide barrier on the current device, in
// microseconds: the mean of `iterations` grid.sync() calls in one
// cooperative launch of one block per multiprocessor (the floor of the
// persistent kernel's per-step cost). Synchronous. Throws
// rnn::Error("cuda", ...) when the launch fails.
double grid_barrier_latency_us(int iterations = 2000);

// Whether the persistent kernel can keep `config`'s W_hh on chip for batch
// `batch` on the current device; when not, *why (if given) says why.
bool persistent_fits(const ModelConfig& config, int64_t batch, std::string* why = nullptr);

}  // namespace rnn::cuda
