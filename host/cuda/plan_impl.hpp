// host/cuda/plan_impl.hpp: the inside of rnn::cuda::Plan, shared by
// host/cuda/plan.cpp (the plan) and host/cuda/device_model.cpp (the GPU
// learners' model, which runs the plan's forward and backward halves
// around the head).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../../kernels/gemm_step.cuh"
#include "../../kernels/recurrence_cluster.cuh"
#include "../../kernels/recurrence_persistent.cuh"
#include "../../kernels/recurrence_registers.cuh"
#include "../../kernels/recurrence_stepwise.cuh"
#include "buffer.hpp"
#include "check.hpp"
#include "rnn/cuda.hpp"
#include "rnn/error.hpp"

namespace rnn::cuda {

using cuda_detail::DeviceBuffer;

namespace impl {


constexpr size_t kAlign = 256;
constexpr size_t kCublasWorkspace = size_t{32} << 20;  // cuBLAS's recommendation for Hopper

inline size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

#ifdef RNN_DEBUG_SYNC
constexpr bool kUseGraphs = false;  // synchronising after each launch cannot be captured
#else
constexpr bool kUseGraphs = true;
#endif
// Above this many step launches (steps x layers) a stepwise run is launched
// directly: a graph of millions of nodes costs more to build than it saves.
constexpr int64_t kMaxGraphLaunches = 16384;

// Offsets (in floats) of one layer's weights inside the plan's weight buffer.
struct LayerWeights {
  size_t w_ih = 0;    // [D*H, K]
  size_t w_hh = 0;    // [D, H, H]
  size_t w_hh_t = 0;  // [D, H, H] transposed per direction
  size_t bias = 0;    // [D*H] b_ih + b_hh (only with bias)
  int k = 0;          // layer input width
};

// What the cached graph was captured for; a run with other values recaptures.
struct GraphKey {
  const void* x = nullptr;
  const void* h0 = nullptr;
  const void* lengths = nullptr;
  const void* y = nullptr;
  const void* h_n = nullptr;
  const void* workspace = nullptr;
  int64_t steps = 0, batch = 0;
  bool operator==(const GraphKey& o) const {
    return x == o.x && h0 == o.h0 && lengths == o.lengths && y == o.y && h_n == o.h_n &&
           workspace == o.workspace && steps == o.steps && batch == o.batch;
  }
};

inline std::string persistent_reason(cudaError_t err, const ModelConfig& c) {
  if (err == cudaErrorInvalidConfiguration) {
    return "the persistent kernel cannot hold W_hh (" + std::to_string(c.num_directions()) + " x " +
           std::to_string(c.hidden_size) + " x " + std::to_string(c.hidden_size) +
           " floats) in the shared memory of this device's co-resident blocks; use the stepwise kernel";
  }
  return std::string("persistent kernel setup failed: ") + cudaGetErrorString(err);
}

inline int timing_skip_bits(TimingSkip skip) {
  switch (skip) {
    case TimingSkip::Staging: return kernels::kSkipStaging;
    case TimingSkip::Epilogue: return kernels::kSkipEpilogue;
    case TimingSkip::Barrier: return kernels::kSkipBarrier;
    default: return kernels::kSkipNone;
  }
}

}  // namespace impl

struct Plan::Impl {
  using LayerWeights = impl::LayerWeights;
  using GraphKey = impl::GraphKey;

  ModelConfig config;
  PlanOptions options;
  int device = 0;
  Kernel kernel = Kernel::Stepwise;
  kernels::PersistentShape shape;
  kernels::RegistersShape registers_shape;  // Kernel::Registers's launch (and the registers backward's)
  kernels::ClusterShape cluster_shape;      // Kernel::Cluster's launch
  DeviceBuffer gemm_space;                  // Kernel::Gemm: state and Z, [D, max_batch, H] each
  std::vector<LayerWeights> layers;
  DeviceBuffer weights;
  DeviceBuffer cublas_workspace;
  cublasHandle_t cublas = nullptr;
  cudaStream_t capture_stream = nullptr;
  cudaGraphExec_t graph = nullptr;
  GraphKey graph_key;
  bool ran = false;       // the first run is launched directly: cuBLAS and the kernels
                          // initialise themselves outside any stream capture
  size_t rows_bytes = 0;  // one [max_steps * max_batch, D*H] buffer, aligned
  Kernel backward_kernel = Kernel::Stepwise;  // the backward recurrence's kernel
  std::string backward_unavailable;           // why backward() cannot run, or ""

  ~Impl() {
    if (cublas) cublasDestroy(cublas);  // first: it may still be bound to capture_stream
    if (capture_stream) cudaStreamDestroy(capture_stream);
    if (graph) cudaGraphExecDestroy(graph);
  }

  const float* w(size_t offset) const { return weights.as<float>() + offset; }

  // Enqueues the whole forward pass on `stream`. Layer l < L-1 writes its
  // outputs to layer_out[l] when given (backward needs them all), else to
  // the two alternating workspace buffers.
  void enqueue(const RunArgs& a, void* workspace, cudaStream_t stream, float* const* layer_out = nullptr) {
    const int L = static_cast<int>(config.num_layers), D = static_cast<int>(config.num_directions());
    const int H = static_cast<int>(config.hidden_size), DH = D * H;
    const int rows = static_cast<int>(a.steps * a.batch);
    char* ws = static_cast<char*>(workspace);
    float* p = reinterpret_cast<float*>(ws);
    float* bufs[2] = {reinterpret_cast<float*>(ws + rows_bytes), reinterpret_cast<float*>(ws + 2 * rows_bytes)};
    bind_cublas(stream);
    const float one = 1.0f, zero = 0.0f;
    const int64_t state = static_cast<int64_t>(D) * a.batch * H;  // one layer's slice of h0 / h_n
    const float* in = a.x;
    for (int l = 0; l < L; ++l) {
      const LayerWeights& lw = layers[l];
      float* out = l == L - 1 ? a.y : (layer_out ? layer_out[l] : bufs[l % 2]);
      // P^T [DH, rows] = W_cat [DH, K] . X^T [K, rows], in cuBLAS's column-major terms.
      RNN_CUDA_CHECK(cublasSgemm(cublas, CUBLAS_OP_T, CUBLAS_OP_N, DH, rows, lw.k, &one, w(lw.w_ih), lw.k, in, lw.k,
                                 &zero, p, DH));
      kernels::RecurrenceParams rp;
      rp.T = static_cast<int>(a.steps);
      rp.B = static_cast<int>(a.batch);
      rp.H = H;
      rp.D = D;
      rp.batch_first = options.batch_first;
      rp.relu = config.nonlinearity == Nonlinearity::Relu;
      rp.p = p;
      rp.bias = config.bias ? w(lw.bias) : nullptr;
      rp.w_hh = w(lw.w_hh);
      rp.w_hh_t = w(lw.w_hh_t);
      rp.h0 = a.h0 ? a.h0 + l * state : nullptr;
      rp.lengths = a.lengths;
      rp.y = out;
      rp.h_n = a.h_n ? a.h_n + l * state : nullptr;
      rp.timing_skip = impl::timing_skip_bits(options.timing_skip);
      if (kernel == Kernel::Persistent) {
        RNN_LAUNCH_CHECK(kernels::launch_recurrence_persistent(rp, shape, stream));
      } else if (kernel == Kernel::Registers) {
        RNN_LAUNCH_CHECK(kernels::launch_recurrence_registers(rp, registers_shape, stream));
      } else if (kernel == Kernel::Cluster) {
        RNN_LAUNCH_CHECK(kernels::launch_recurrence_cluster(rp, cluster_shape, stream));
      } else if (kernel == Kernel::Gemm) {
        enqueue_gemm_steps(rp, stream);
      } else {
        for (int s = 0; s < rp.T; ++s) RNN_LAUNCH_CHECK(kernels::launch_recurrence_stepwise(rp, s, stream));
      }
      in = out;
    }
  }

  // Kernel::Gemm's recurrence of one layer (kernels/gemm_step.cuh): state
  // seeded from h0 (or zeros); per step Z = state W_hh^T, one SGEMM
  // strided over the directions (strict FP32, whatever allow_tf32 says of
  // the input projection), then gemm_step; h_n copied from state.
  void enqueue_gemm_steps(const kernels::RecurrenceParams& rp, cudaStream_t stream) {
    const int B = rp.B, H = rp.H, D = rp.D;
    const size_t bytes = static_cast<size_t>(D) * B * H * sizeof(float);
    float* state = gemm_space.as<float>();
    float* z = state + static_cast<size_t>(D) * options.max_batch * H;
    if (rp.h0) RNN_CUDA_CHECK(cudaMemcpyAsync(state, rp.h0, bytes, cudaMemcpyDeviceToDevice, stream));
    else RNN_CUDA_CHECK(cudaMemsetAsync(state, 0, bytes, stream));
    RNN_CUDA_CHECK(cublasSetMathMode(cublas, CUBLAS_DEFAULT_MATH));
    const float one = 1.0f, zero = 0.0f;
    const long long w_stride = static_cast<long long>(H) * H, s_stride = static_cast<long long>(B) * H;
    for (int s = 0; s < rp.T; ++s) {
      // Z^T [H, B] = W_hh [H, H] . state^T [H, B] per direction, in cuBLAS's column-major terms.
      RNN_CUDA_CHECK(cublasSgemmStridedBatched(cublas, CUBLAS_OP_T, CUBLAS_OP_N, H, B, H, &one, rp.w_hh, H, w_stride,
                                               state, H, s_stride, &zero, z, H, s_stride, D));
      RNN_LAUNCH_CHECK(kernels::launch_gemm_step(rp, s, z, state, stream));
    }
    RNN_CUDA_CHECK(
        cublasSetMathMode(cublas, options.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    if (rp.h_n) RNN_CUDA_CHECK(cudaMemcpyAsync(rp.h_n, state, bytes, cudaMemcpyDeviceToDevice, stream));
  }

  // cublasSetStream resets the handle's workspace to cuBLAS's own pool
  // (which may allocate); give it the plan's buffer again.
  void bind_cublas(cudaStream_t stream) {
    RNN_CUDA_CHECK(cublasSetStream(cublas, stream));
    RNN_CUDA_CHECK(cublasSetWorkspace(cublas, cublas_workspace.get(), cublas_workspace.bytes()));
  }

  // Offsets (floats) of layer l, direction d's gradients in the flat buffer,
  // which follows Model::parameters() (head excluded).
  size_t grad_offset(int64_t l, int64_t d) const {
    size_t off = 0;
    const int64_t D = config.num_directions();
    for (int64_t k = 0; k < l; ++k) off += static_cast<size_t>(D * direction_grad_size(k));
    return off + static_cast<size_t>(d * direction_grad_size(l));
  }
  int64_t direction_grad_size(int64_t l) const {
    const int64_t H = config.hidden_size;
    return H * config.layer_input_size(l) + H * H + (config.bias ? 2 * H : 0);
  }
  size_t max_width() const {
    return static_cast<size_t>(std::max(config.num_directions() * config.hidden_size, config.input_size));
  }

  // backward() in two halves, so a caller can compute dy from y in between
  // (the GPU learners apply the head and the loss there):
  // the forward pass keeping every layer's outputs in the backward workspace ...
  void forward_keep(const RunArgs& a, void* workspace, cudaStream_t stream);
  // ... and the backward pass from dy, after forward_keep with the same a and workspace.
  void backward_from(const RunArgs& a, const BackwardArgs& g, void* workspace, cudaStream_t stream);
  void backward(const RunArgs& a, const BackwardArgs& g, void* workspace, cudaStream_t stream) {
    forward_keep(a, workspace, stream);
    backward_from(a, g, workspace, stream);
  }
  // Pointers into the backward workspace.
  struct BackwardSpace {
    std::vector<float*> layer_out;  // layers 0 .. L-2; the top layer's is the caller's y
    float* dr;
    float* prev;
    float* gbuf[2];
    float* ones;
  };
  BackwardSpace backward_space(const RunArgs& a, void* workspace) const;

  // The checks of run(), backward() and a GPU learner's step: sizes within the
  // plan, pointers present, h0 and h_n apart, the plan's device current.
  void check_run_args(const RunArgs& a, const void* workspace) const;

  // Refreshes the device weights from a device buffer holding every RNN
  // parameter in Model::parameters() order (as after an optimizer step).
  void load_parameters(const float* flat, cudaStream_t stream);

  // Captures enqueue() into the cached graph (or updates it in place).
  void capture(const RunArgs& a, void* workspace, const GraphKey& key) {
    RNN_CUDA_CHECK(cudaStreamBeginCapture(capture_stream, cudaStreamCaptureModeThreadLocal));
    cudaGraph_t g = nullptr;
    try {
      enqueue(a, workspace, capture_stream);
    } catch (...) {
      cudaStreamEndCapture(capture_stream, &g);  // leave the stream usable
      if (g) cudaGraphDestroy(g);
      cudaGetLastError();  // and no stale capture error for the next call
      throw;
    }
    RNN_CUDA_CHECK(cudaStreamEndCapture(capture_stream, &g));
    bool updated = false;
    if (graph) {
      cudaGraphExecUpdateResultInfo info;
      updated = cudaGraphExecUpdate(graph, g, &info) == cudaSuccess;
      if (!updated) {
        cudaGetLastError();  // clear the failed update's error
        cudaGraphExecDestroy(graph);
        graph = nullptr;
      }
    }
    cudaError_t err = cudaSuccess;
    if (!updated) err = cudaGraphInstantiate(&graph, g, 0);
    cudaGraphDestroy(g);
    if (err != cudaSuccess) {
      graph = nullptr;
      graph_key = GraphKey{};
      RNN_CUDA_CHECK(err);
    }
    graph_key = key;
  }
};

}  // namespace rnn::cuda
