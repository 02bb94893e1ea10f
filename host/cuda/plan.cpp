// host/cuda/plan.cpp: rnn::cuda::Plan, the CUDA backend's host side.
//
// Per layer (L of them), one run does:
//   1. P = X_l W_cat^T with one cuBLAS SGEMM for both directions
//      (W_cat = [W_ih forward; W_ih reverse], [D*H, K]; P is [T*B, D*H]);
//      the biases b_ih + b_hh are added inside the recurrence kernels.
//   2. the recurrence of both directions (kernels/recurrence_*.cu): the
//      stepwise kernel (T launches, captured once into a CUDA graph and
//      replayed) or the persistent kernel (one cooperative launch).
// Layer l's output is layer l+1's X; intermediate outputs alternate
// between two workspace buffers, the top layer writes the caller's y.
//
// Workspace (run()'s `workspace`), each part 256-byte aligned:
//   P                 [max_steps * max_batch, D*H] floats
//   layer outputs     one or two more of the same size when L > 1
// Owned by the plan: the weights in the layouts the kernels read, cuBLAS's
// handle and workspace, a capture stream and the cached graph. The backward
// pass is plan_backward.cpp.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "../../kernels/backward_persistent.cuh"
#include "../../kernels/backward_registers.cuh"
#include "../../kernels/recurrence_cluster.cuh"
#include "../../kernels/barrier_probe.cuh"
#include "../../kernels/recurrence_persistent.cuh"
#include "../../kernels/recurrence_stepwise.cuh"
#include "engine/check_model.hpp"
#include "auto_table.hpp"
#include "plan_impl.hpp"

namespace rnn::cuda {

using namespace impl;

void Plan::Impl::load_parameters(const float* flat, cudaStream_t stream) {
  const int64_t D = config.num_directions(), H = config.hidden_size;
  bind_cublas(stream);
  const float one = 1.0f, zero = 0.0f;
  const float* src = flat;
  float* base = weights.as<float>();
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const LayerWeights& lw = layers[l];
    const int64_t K = lw.k;
    for (int64_t d = 0; d < D; ++d) {
      float* w_ih = base + lw.w_ih + d * H * K;
      float* w_hh = base + lw.w_hh + d * H * H;
      float* w_hh_t = base + lw.w_hh_t + d * H * H;
      RNN_CUDA_CHECK(cudaMemcpyAsync(w_ih, src, H * K * sizeof(float), cudaMemcpyDeviceToDevice, stream));
      src += H * K;
      RNN_CUDA_CHECK(cudaMemcpyAsync(w_hh, src, H * H * sizeof(float), cudaMemcpyDeviceToDevice, stream));
      // w_hh_t = W_hh^T: in column-major terms, C = A^T of the row-major W_hh seen as W_hh^T.
      RNN_CUDA_CHECK(cublasSgeam(cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(H), static_cast<int>(H), &one, src,
                                 static_cast<int>(H), &zero, w_hh_t, static_cast<int>(H), w_hh_t, static_cast<int>(H)));
      src += H * H;
      if (config.bias) {
        // bias = b_ih + b_hh
        RNN_CUDA_CHECK(cublasSgeam(cublas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(H), 1, &one, src,
                                   static_cast<int>(H), &one, src + H, static_cast<int>(H), base + lw.bias + d * H,
                                   static_cast<int>(H)));
        src += 2 * H;
      }
    }
  }
}

namespace {

// Kernel::Auto's choice for the plan: the row of auto_table.hpp that holds
// the plan's B x H x T (the design's estimate until a GPU record fills the
// table), a cluster, registers or gemm row taken only where that kernel
// fits (and no timing variant asks for a kernel it lacks): cluster falls
// back to registers, registers and gemm to persistent, persistent to
// stepwise.
Kernel auto_choice(Plan::Impl& m, bool persistent_fits) {
  const PlanOptions& o = m.options;
  const int64_t H = m.config.hidden_size, D = m.config.num_directions();
  Kernel k = cuda_detail::auto_kernel(o.max_batch, H, o.max_steps, persistent_fits, true);
  if (k == Kernel::Cluster) {
    kernels::ClusterShape probe;
    const bool fits = o.timing_skip == TimingSkip::None &&
                      kernels::cluster_shape(static_cast<int>(H), static_cast<int>(D), static_cast<int>(o.max_batch),
                                             &probe) == cudaSuccess;
    if (!fits) {
      cudaGetLastError();
      k = Kernel::Registers;
    }
  }
  if (k == Kernel::Registers) {
    kernels::RegistersShape probe;
    const bool fits = o.timing_skip == TimingSkip::None &&
                      kernels::registers_shape(static_cast<int>(H), static_cast<int>(D), static_cast<int>(o.max_batch),
                                               &probe) == cudaSuccess;
    if (!fits) {
      cudaGetLastError();
      k = persistent_fits ? Kernel::Persistent : Kernel::Stepwise;
    }
  }
  if (k == Kernel::Gemm && (o.max_batch > 65535 || o.timing_skip != TimingSkip::None))
    k = persistent_fits ? Kernel::Persistent : Kernel::Stepwise;
  return k;
}

// The forward and backward kernels for m.options (m.config, m.device set).
// Throws rnn::Error ("kernel" or "options") for a kernel or timing variant
// that cannot run.
void choose_kernels(Plan::Impl& m) {
  const ModelConfig& c = m.config;
  const PlanOptions& options = m.options;
  const int64_t D = c.num_directions(), H = c.hidden_size;
  std::string why;
  const cudaError_t fit = kernels::persistent_shape(static_cast<int>(H), static_cast<int>(D),
                                                    static_cast<int>(options.max_batch), &m.shape);
  if (fit != cudaSuccess) {
    why = persistent_reason(fit, c);
    cudaGetLastError();
  }
  const Kernel want = options.kernel == Kernel::Auto ? auto_choice(m, fit == cudaSuccess) : options.kernel;
  if (want == Kernel::Persistent) {
    if (fit != cudaSuccess) throw Error("kernel", "persistent: " + why);
    m.kernel = Kernel::Persistent;
  } else if (want == Kernel::Registers) {
    const cudaError_t reg = kernels::registers_shape(static_cast<int>(H), static_cast<int>(D),
                                                     static_cast<int>(options.max_batch), &m.registers_shape);
    if (reg != cudaSuccess) {
      cudaGetLastError();
      throw Error("kernel", reg == cudaErrorInvalidConfiguration
                                ? "registers: the kernel holds W_hh in registers for H <= " +
                                      std::to_string(kernels::kRegistersMaxHidden) + " (H = " + std::to_string(H) +
                                      ") with all its blocks co-resident and the batch's lengths (max_batch = " +
                                      std::to_string(options.max_batch) +
                                      ") in shared memory; use persistent or stepwise"
                                : std::string("registers: kernel setup failed: ") + cudaGetErrorString(reg));
    }
    if (options.timing_skip != TimingSkip::None)
      throw Error("options", "timing_skip applies to the stepwise and persistent kernels (the registers kernel "
                             "has no timing variants)");
    m.kernel = Kernel::Registers;
  } else if (want == Kernel::Cluster) {
    const cudaError_t cl = kernels::cluster_shape(static_cast<int>(H), static_cast<int>(D),
                                                  static_cast<int>(options.max_batch), &m.cluster_shape);
    if (cl != cudaSuccess) {
      cudaGetLastError();
      throw Error("kernel", cl == cudaErrorInvalidConfiguration
                                ? "cluster: the kernel spreads W_hh over a thread-block cluster for H <= " +
                                      std::to_string(kernels::kClusterMaxHidden) + " (H = " + std::to_string(H) +
                                      ") on a device of compute capability 9.0 or later that fits the cluster; use "
                                      "registers, persistent or stepwise"
                                : std::string("cluster: kernel setup failed: ") + cudaGetErrorString(cl));
    }
    if (options.timing_skip != TimingSkip::None)
      throw Error("options", "timing_skip applies to the stepwise and persistent kernels (the cluster kernel "
                             "has no timing variants)");
    m.kernel = Kernel::Cluster;
  } else if (want == Kernel::Gemm) {
    if (options.timing_skip != TimingSkip::None)
      throw Error("options", "timing_skip applies to the stepwise and persistent kernels (the gemm kernel has no "
                             "timing variants)");
    if (options.max_batch > 65535)
      throw Error("kernel", "gemm: max_batch = " + std::to_string(options.max_batch) +
                                " exceeds the gemm kernel's limit of 65535 sequences");
    m.kernel = Kernel::Gemm;
  } else {
    m.kernel = Kernel::Stepwise;
  }
  // The backward recurrence follows the forward's kernel where its twin
  // fits as well: a registers or cluster forward takes the registers
  // backward (the registers shape), else the persistent one where that
  // fits; a persistent forward the persistent backward; anything else runs
  // stepwise.
  m.backward_kernel = Kernel::Stepwise;
  const bool on_chip = m.kernel == Kernel::Registers || m.kernel == Kernel::Cluster;
  if (on_chip) {
    cudaError_t br = m.kernel == Kernel::Registers
                         ? cudaSuccess
                         : kernels::registers_shape(static_cast<int>(H), static_cast<int>(D),
                                                    static_cast<int>(options.max_batch), &m.registers_shape);
    if (br == cudaSuccess) br = kernels::backward_registers_prepare(m.registers_shape, static_cast<int>(D));
    if (br == cudaSuccess) m.backward_kernel = Kernel::Registers;
    else cudaGetLastError();
  }
  if (m.backward_kernel == Kernel::Stepwise && (m.kernel == Kernel::Persistent || (on_chip && fit == cudaSuccess))) {
    const cudaError_t bp = kernels::backward_persistent_prepare(m.shape, static_cast<int>(D));
    if (bp == cudaSuccess) m.backward_kernel = Kernel::Persistent;
    else cudaGetLastError();
  }
  if (m.backward_kernel == Kernel::Stepwise && (options.max_batch + 7) / 8 > 65535)
    m.backward_unavailable = "max_batch = " + std::to_string(options.max_batch) +
                             " exceeds the stepwise backward kernel's limit of 524280 sequences";
  if (options.timing_skip == TimingSkip::Barrier && m.kernel != Kernel::Persistent)
    throw Error("options", "timing_skip = Barrier applies to the persistent kernel only (the stepwise kernel has "
                           "no grid barrier)");
  if (options.timing_skip != TimingSkip::None)
    m.backward_unavailable = "a plan with a timing_skip (benchmarks only) computes no valid forward pass to "
                             "differentiate";
  if (m.kernel == Kernel::Stepwise && (options.max_batch + 7) / 8 > 65535)
    throw Error("options", "max_batch = " + std::to_string(options.max_batch) +
                               " exceeds the stepwise kernel's limit of 524280 sequences");
}

// The model's weights on the device (m.weights), in the layouts the kernels
// read, in one buffer; m.layers says where each layer's are.
void upload_weights(Plan::Impl& m, const Model& model) {
  const ModelConfig& c = m.config;
  const int64_t D = c.num_directions(), H = c.hidden_size;
  std::vector<float> host;
  auto place = [&host](size_t n) {
    const size_t at = host.size();
    host.resize(at + align_up(n * sizeof(float)) / sizeof(float), 0.0f);
    return at;
  };
  for (int64_t l = 0; l < c.num_layers; ++l) {
    LayerWeights lw;
    lw.k = static_cast<int>(c.layer_input_size(l));
    lw.w_ih = place(static_cast<size_t>(D * H * lw.k));
    lw.w_hh = place(static_cast<size_t>(D * H * H));
    lw.w_hh_t = place(static_cast<size_t>(D * H * H));
    if (c.bias) lw.bias = place(static_cast<size_t>(D * H));
    for (int64_t d = 0; d < D; ++d) {
      const CellWeights& cw = model.cell(l, d);
      std::copy(cw.w_ih.data(), cw.w_ih.data() + H * lw.k, host.begin() + lw.w_ih + d * H * lw.k);
      std::copy(cw.w_hh.data(), cw.w_hh.data() + H * H, host.begin() + lw.w_hh + d * H * H);
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < H; ++j) host[lw.w_hh_t + d * H * H + j * H + i] = cw.w_hh[i * H + j];
      if (c.bias)
        for (int64_t i = 0; i < H; ++i) host[lw.bias + d * H + i] = cw.b_ih[i] + cw.b_hh[i];
    }
    m.layers.push_back(lw);
  }
  m.weights = DeviceBuffer(host.size() * sizeof(float));
  RNN_CUDA_CHECK(cudaMemcpy(m.weights.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
}

}  // namespace

Plan::Plan(const Model& model, const PlanOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  rnn::detail::check_model(model);
  m.config = model.config();
  m.options = options;
  const ModelConfig& c = m.config;
  const int64_t D = c.num_directions(), H = c.hidden_size;
  if (options.max_steps < 1 || options.max_batch < 1)
    throw Error("options", "max_steps and max_batch must be at least 1");
  if (options.max_batch > INT_MAX / options.max_steps || options.max_steps * options.max_batch > INT_MAX / (D * H) ||
      c.input_size > INT_MAX / (D * H))
    throw Error("options", "max_steps x max_batch x D*H exceeds the 32-bit sizes of the kernels and cuBLAS");

  // Work on the requested device; give the caller's thread its own current
  // device back when done (run() expects the plan's device to be current).
  int caller_device = 0;
  RNN_CUDA_CHECK(cudaGetDevice(&caller_device));
  struct Restore {
    int device;
    bool armed;
    ~Restore() {
      if (armed) cudaSetDevice(device);
    }
  } restore{caller_device, options.device >= 0 && options.device != caller_device};
  if (restore.armed) RNN_CUDA_CHECK(cudaSetDevice(options.device));
  RNN_CUDA_CHECK(cudaGetDevice(&m.device));

  choose_kernels(m);
  upload_weights(m, model);

  m.rows_bytes = align_up(static_cast<size_t>(options.max_steps * options.max_batch * D * H) * sizeof(float));
  m.cublas_workspace = DeviceBuffer(kCublasWorkspace);
  if (m.kernel == Kernel::Gemm)
    m.gemm_space = DeviceBuffer(2 * static_cast<size_t>(D * options.max_batch * H) * sizeof(float));
  RNN_CUDA_CHECK(cublasCreate(&m.cublas));
  RNN_CUDA_CHECK(cublasSetWorkspace(m.cublas, m.cublas_workspace.get(), kCublasWorkspace));
  RNN_CUDA_CHECK(cublasSetMathMode(m.cublas, options.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  RNN_CUDA_CHECK(cudaStreamCreateWithFlags(&m.capture_stream, cudaStreamNonBlocking));
}

Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

size_t Plan::workspace_size() const noexcept {
  const int64_t L = impl_->config.num_layers;
  return impl_->rows_bytes * static_cast<size_t>(1 + std::min<int64_t>(L - 1, 2));
}

Kernel Plan::kernel() const noexcept { return impl_->kernel; }
const ModelConfig& Plan::config() const noexcept { return impl_->config; }

void Plan::Impl::check_run_args(const RunArgs& a, const void* workspace) const {
  const Impl& m = *this;
  if (a.steps < 1 || a.steps > m.options.max_steps)
    throw Error("args", "steps = " + std::to_string(a.steps) + " is outside [1, max_steps = " +
                            std::to_string(m.options.max_steps) + "]");
  if (a.batch < 1 || a.batch > m.options.max_batch)
    throw Error("args", "batch = " + std::to_string(a.batch) + " is outside [1, max_batch = " +
                            std::to_string(m.options.max_batch) + "]");
  if (!a.x || !a.y) throw Error("args", "x and y must be device pointers, not null");
  if (!workspace) throw Error("args", "workspace is null (size it with workspace_size())");
  if (a.h0 && a.h_n) {
    // h_n is written while other blocks may still read h0 (a length-1
    // sequence finishes at the step that reads h0): they must not overlap.
    const size_t n = static_cast<size_t>(m.config.num_layers * m.config.num_directions() * a.batch *
                                         m.config.hidden_size);
    const float *h0 = a.h0, *hn = a.h_n;
    if (h0 < hn + n && hn < h0 + n) throw Error("args", "h0 and h_n overlap; give h_n its own buffer");
  }
  int current = -1;
  RNN_CUDA_CHECK(cudaGetDevice(&current));
  if (current != m.device)
    throw Error("args", "the current device is " + std::to_string(current) + ", the plan's is " +
                            std::to_string(m.device));
}


void Plan::run(const RunArgs& a, void* workspace, cudaStream_t stream) {
  Impl& m = *impl_;
  m.check_run_args(a, workspace);
  const bool stepped = m.kernel == Kernel::Stepwise || m.kernel == Kernel::Gemm;  // launches per step: a graph
  if (stepped && kUseGraphs && m.ran && a.steps * m.config.num_layers <= kMaxGraphLaunches) {
    const GraphKey key{a.x, a.h0, a.lengths, a.y, a.h_n, workspace, a.steps, a.batch};
    if (!m.graph || !(key == m.graph_key)) m.capture(a, workspace, key);
    RNN_CUDA_CHECK(cudaGraphLaunch(m.graph, stream));
  } else {
    m.enqueue(a, workspace, stream);
    m.ran = true;
  }
}

Kernel Plan::backward_kernel() const noexcept { return impl_->backward_kernel; }

void Plan::load_weights(const float* flat, cudaStream_t stream) {
  if (!flat) throw Error("args", "load_weights: the weight buffer is a null pointer");
  impl_->load_parameters(flat, stream);
}

double grid_barrier_latency_us(int iterations) {
  float us = 0;
  RNN_CUDA_CHECK(kernels::measure_grid_barrier(iterations, &us));
  return us;
}

bool persistent_fits(const ModelConfig& config, int64_t batch, std::string* why) {
  kernels::PersistentShape shape;
  const cudaError_t err =
      kernels::persistent_shape(static_cast<int>(config.hidden_size), static_cast<int>(config.num_directions()),
                                static_cast<int>(std::max<int64_t>(batch, 1)), &shape);
  if (err == cudaSuccess) return true;
  cudaGetLastError();
  if (why) *why = persistent_reason(err, config);
  return false;
}

}  // namespace rnn::cuda
