// bench/gpu.cpp: the runner's GPU half: our kernels through the device API
// and cuDNN 9's cudnnRNNForward on the same weights and inputs.
//
// Per shape: fresh random weights and inputs; our stepwise and persistent
// plans, and the auto plan when it picks neither of them (else its row
// repeats the plan it picked, untimed); the timing variants of each kernel
// (cuda::TimingSkip: staging, epilogue, barrier; outputs invalid, time
// only); then cuDNN (RNN_TANH, double bias, inference, padded sequence-major
// I/O) with each algorithm: STANDARD, PERSIST_STATIC, PERSIST_STATIC_SMALL_H
// in strict FP32 (CUDNN_FMA_MATH), STANDARD with TF32 allowed as a separate
// row, and PERSIST_DYNAMIC (strict FP32) last: it compiles a kernel per
// shape. Every engine's y is compared with our stepwise kernel's (the
// `check` column). An engine that throws or returns an error becomes a row
// with status "failed: ..." and the next engine runs. Times: CUDA events
// around one forward pass, median of `runs` after `warmup`.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gpu.hpp"
#include "rnn/cuda.hpp"
#include "rnn/rnn.hpp"

#ifdef RNN_BENCH_CUDNN
#include <cudnn.h>
#endif

namespace rnn::bench::detail {

namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error("cuda", std::string(what) + ": " + cudaGetErrorString(e));
  }
}
#define BENCH_CUDA(call) cuda_check((call), #call)

// An owning device buffer.
class Buf {
 public:
  Buf() = default;
  explicit Buf(size_t bytes) : bytes_(bytes) {
    if (bytes) BENCH_CUDA(cudaMalloc(&p_, bytes));
  }
  ~Buf() {
    if (p_) cudaFree(p_);
  }
  Buf(Buf&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  Buf& operator=(Buf&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  Buf(const Buf&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

class Events {
 public:
  Events() {
    BENCH_CUDA(cudaEventCreate(&start));
    BENCH_CUDA(cudaEventCreate(&stop));
  }
  ~Events() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  cudaEvent_t start = nullptr, stop = nullptr;
};

// Median milliseconds of `runs` timed calls of `once` after `warmup` calls.
double time_ms(const std::function<void()>& once, int warmup, int runs, cudaStream_t stream) {
  Events ev;
  for (int i = 0; i < warmup; ++i) once();
  std::vector<double> t;
  for (int i = 0; i < std::max(1, runs); ++i) {
    BENCH_CUDA(cudaEventRecord(ev.start, stream));
    once();
    BENCH_CUDA(cudaEventRecord(ev.stop, stream));
    BENCH_CUDA(cudaEventSynchronize(ev.stop));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, ev.start, ev.stop));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<float> download(const float* d, size_t n) {
  std::vector<float> h(n);
  BENCH_CUDA(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}

double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

#ifdef RNN_BENCH_CUDNN
// One cuDNN RNN configuration, set up on our model's weights.
class CudnnRnn {
 public:
  ~CudnnRnn() {
    if (x_desc_) cudnnDestroyRNNDataDescriptor(x_desc_);
    if (y_desc_) cudnnDestroyRNNDataDescriptor(y_desc_);
    if (h_desc_) cudnnDestroyTensorDescriptor(h_desc_);
    if (w_desc_) cudnnDestroyTensorDescriptor(w_desc_);
    if (b_desc_) cudnnDestroyTensorDescriptor(b_desc_);
    if (rnn_) cudnnDestroyRNNDescriptor(rnn_);
    if (dropout_) cudnnDestroyDropoutDescriptor(dropout_);
    if (handle_) cudnnDestroy(handle_);
  }

  // "" when cuDNN accepts the configuration, else why not.
  std::string setup(const Shape& s, const Model& m, const std::vector<int32_t>& lengths, const int32_t* d_lengths,
                    cudnnRNNAlgo_t algo, cudnnMathType_t math, cudaStream_t stream) {
    s_ = s;
    d_lengths_ = d_lengths;
#define TRY(call)                                             \
  do {                                                        \
    const cudnnStatus_t st_ = (call);                         \
    if (st_ != CUDNN_STATUS_SUCCESS) return cudnnGetErrorString(st_); \
  } while (0)
    TRY(cudnnCreate(&handle_));
    TRY(cudnnSetStream(handle_, stream));
    TRY(cudnnCreateDropoutDescriptor(&dropout_));
    TRY(cudnnSetDropoutDescriptor(dropout_, handle_, 0.0f, nullptr, 0, 0));
    TRY(cudnnCreateRNNDescriptor(&rnn_));
    const int D = static_cast<int>(s.directions()), H = static_cast<int>(s.H);
    TRY(cudnnSetRNNDescriptor_v8(rnn_, algo, CUDNN_RNN_TANH, CUDNN_RNN_DOUBLE_BIAS,
                                 D == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT,
                                 CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, math, static_cast<int>(s.I), H, H,
                                 static_cast<int>(s.L), dropout_, CUDNN_RNN_PADDED_IO_ENABLED));
    if (algo == CUDNN_RNN_ALGO_PERSIST_DYNAMIC) TRY(cudnnBuildRNNDynamic(handle_, rnn_, static_cast<int>(s.B)));
    float pad = 0.0f;
    TRY(cudnnCreateRNNDataDescriptor(&x_desc_));
    TRY(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                  static_cast<int>(s.T), static_cast<int>(s.B), static_cast<int>(s.I),
                                  lengths.data(), &pad));
    TRY(cudnnCreateRNNDataDescriptor(&y_desc_));
    TRY(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                  static_cast<int>(s.T), static_cast<int>(s.B), D * H, lengths.data(), &pad));
    TRY(cudnnCreateTensorDescriptor(&h_desc_));
    const int hdims[3] = {static_cast<int>(s.L) * D, static_cast<int>(s.B), H};
    const int hstrides[3] = {static_cast<int>(s.B) * H, H, 1};
    TRY(cudnnSetTensorNdDescriptor(h_desc_, CUDNN_DATA_FLOAT, 3, hdims, hstrides));

    TRY(cudnnGetRNNWeightSpaceSize(handle_, rnn_, &weight_bytes_));
    weights_ = Buf(weight_bytes_);
    TRY(cudnnCreateTensorDescriptor(&w_desc_));
    TRY(cudnnCreateTensorDescriptor(&b_desc_));
    for (int64_t l = 0; l < s.L; ++l) {
      for (int d = 0; d < D; ++d) {
        const CellWeights& c = m.cell(l, d);
        const Tensor* mats[2] = {&c.w_ih, &c.w_hh};
        const Tensor* biases[2] = {&c.b_ih, &c.b_hh};
        for (int lin = 0; lin < 2; ++lin) {
          void *w_at = nullptr, *b_at = nullptr;
          TRY(cudnnGetRNNWeightParams(handle_, rnn_, static_cast<int32_t>(l * D + d), weight_bytes_, weights_.as<void>(),
                                      lin, w_desc_, &w_at, b_desc_, &b_at));
          if (!w_at || !b_at) return "weight layout not as expected";
          // cuDNN's matrices are row-major [H, in], like PyTorch's (which views them in place).
          BENCH_CUDA(cudaMemcpy(w_at, mats[lin]->data(), mats[lin]->numel() * sizeof(float), cudaMemcpyHostToDevice));
          BENCH_CUDA(cudaMemcpy(b_at, biases[lin]->data(), biases[lin]->numel() * sizeof(float),
                                cudaMemcpyHostToDevice));
        }
      }
    }
    TRY(cudnnGetRNNTempSpaceSizes(handle_, rnn_, CUDNN_FWD_MODE_INFERENCE, x_desc_, &work_bytes_, &reserve_bytes_));
    work_ = Buf(std::max<size_t>(work_bytes_, 1));
    reserve_ = Buf(std::max<size_t>(reserve_bytes_, 1));
#undef TRY
    return "";
  }

  // "" on success, else cuDNN's error.
  std::string forward(const float* x, float* y) {
    const cudnnStatus_t st =
        cudnnRNNForward(handle_, rnn_, CUDNN_FWD_MODE_INFERENCE, d_lengths_, x_desc_, x, y_desc_, y, h_desc_, nullptr,
                        nullptr, h_desc_, nullptr, nullptr, weight_bytes_, weights_.as<void>(), work_bytes_,
                        work_.as<void>(), reserve_bytes_, reserve_.as<void>());
    return st == CUDNN_STATUS_SUCCESS ? "" : cudnnGetErrorString(st);
  }

 private:
  Shape s_;
  const int32_t* d_lengths_ = nullptr;
  cudnnHandle_t handle_ = nullptr;
  cudnnDropoutDescriptor_t dropout_ = nullptr;
  cudnnRNNDescriptor_t rnn_ = nullptr;
  cudnnRNNDataDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnTensorDescriptor_t h_desc_ = nullptr, w_desc_ = nullptr, b_desc_ = nullptr;
  size_t weight_bytes_ = 0, work_bytes_ = 0, reserve_bytes_ = 0;
  Buf weights_, work_, reserve_;
};
#endif

}  // namespace

DeviceInfo gpu_info() {
  DeviceInfo info;
  info.gpu = true;
  int dev = 0, sms = 0, clock_khz = 0, mem_khz = 0, bus_bits = 0;
  BENCH_CUDA(cudaGetDevice(&dev));
  cudaDeviceProp prop;
  BENCH_CUDA(cudaGetDeviceProperties(&prop, dev));
  info.name = prop.name;
  BENCH_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  BENCH_CUDA(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev));
  BENCH_CUDA(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev));
  BENCH_CUDA(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev));
  info.peak_fp32_tflops = sms * 128.0 * 2.0 * clock_khz * 1e3 / 1e12;  // 128 FP32 lanes per SM (sm_90)
  info.bandwidth_gbs = mem_khz * 1e3 * 2.0 * (bus_bits / 8.0) / 1e9;
  info.barrier_us = cuda::grid_barrier_latency_us(2000);
#ifdef RNN_BENCH_CUDNN
  const size_t v = cudnnGetVersion();
  info.cudnn_version = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
#endif
  return info;
}

std::vector<Row> run_gpu_shape(const Shape& s, const Options& o, const DeviceInfo& info, std::ostream& log) {
  std::random_device fresh;
  ModelConfig cfg;
  cfg.input_size = s.I;
  cfg.hidden_size = s.H;
  cfg.num_layers = s.L;
  cfg.bidirectional = s.bidirectional;
  const Model model = Model::random(cfg, fresh());
  const size_t nx = static_cast<size_t>(s.T * s.B * s.I), ny = static_cast<size_t>(s.T * s.B * s.directions() * s.H);
  std::vector<float> x(nx);
  {
    std::mt19937_64 gen(fresh());
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto& v : x) v = u(gen);
  }
  const std::vector<int64_t> lengths = bench_lengths(s, fresh());
  const std::vector<int32_t> len32(lengths.begin(), lengths.end());
  double tokens = 0;
  for (int64_t l : lengths) tokens += static_cast<double>(l);
  std::string kind;
  const double floor = floor_ms(s, tokens, info, &kind);

  cudaStream_t stream;
  BENCH_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  struct StreamGuard {
    cudaStream_t s;
    ~StreamGuard() { cudaStreamDestroy(s); }
  } guard{stream};
  Buf d_x(nx * sizeof(float)), d_y(ny * sizeof(float)), d_len(len32.size() * sizeof(int32_t));
  BENCH_CUDA(cudaMemcpy(d_x.as<void>(), x.data(), nx * sizeof(float), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(d_len.as<void>(), len32.data(), len32.size() * sizeof(int32_t), cudaMemcpyHostToDevice));

  std::vector<Row> rows;
  auto make_row = [&](const std::string& engine) {
    Row r;
    r.shape = s;
    r.engine = engine;
    r.floor_ms = floor;
    r.floor_kind = kind;
    return r;
  };
  auto finish = [&](Row& r, double ms) {
    r.status = "ok";
    r.ms = ms;
    r.us_per_step = ms * 1e3 / static_cast<double>(s.T);
    r.tflops = s.flops(tokens) / (ms * 1e-3) / 1e12;
  };
  // Runs `body` on the row; a failure becomes the row's status. A CUDA
  // error left pending by a failed engine is cleared so the next one starts
  // clean (a sticky fault will fail the rest, each saying so).
  auto attempt = [&](Row r, const std::function<void(Row&)>& body) -> Row& {
    try {
      body(r);
    } catch (const Error& e) {
      r.status = e.subject() == "kernel" ? std::string("does not fit on chip") : std::string("failed: ") + e.what();
      cudaGetLastError();
    } catch (const std::exception& e) {
      r.status = std::string("failed: ") + e.what();
      cudaGetLastError();
    }
    log << "    " << r.engine << ": " << (r.ms > 0 ? std::to_string(r.ms) + " ms" : r.status) << "\n";
    rows.push_back(r);
    return rows.back();
  };

  // Ours: one plan per kernel (and timing variant); *chosen gets the kernel it runs.
  std::vector<float> reference;  // the stepwise kernel's y
  auto time_ours = [&](Row& r, Kernel k, cuda::TimingSkip skip, Kernel* chosen) {
    cuda::PlanOptions po;
    po.max_steps = s.T;
    po.max_batch = s.B;
    po.kernel = k;
    po.timing_skip = skip;
    cuda::Plan plan(model, po);
    if (chosen) *chosen = plan.kernel();
    Buf ws(std::max<size_t>(plan.workspace_size(), 1));
    cuda::RunArgs a;
    a.steps = s.T;
    a.batch = s.B;
    a.x = d_x.as<float>();
    a.lengths = s.varlen ? d_len.as<int32_t>() : nullptr;
    a.y = d_y.as<float>();
    BENCH_CUDA(cudaMemsetAsync(d_y.as<void>(), 0xff, ny * sizeof(float), stream));  // NaN: unwritten shows
    finish(r, time_ms([&] { plan.run(a, ws.as<void>(), stream); }, o.warmup, o.runs, stream));
    BENCH_CUDA(cudaStreamSynchronize(stream));
    if (skip != cuda::TimingSkip::None) {
      r.status = "timing only (output invalid)";
      return;
    }
    const std::vector<float> y = download(d_y.as<float>(), ny);
    if (reference.empty()) reference = y;
    r.check = rel_err(y, reference);
    if (r.check > 1e-5) r.status = "MISMATCH with stepwise";
  };
  const Row stepwise = attempt(make_row("rnn stepwise"), [&](Row& r) {
    time_ours(r, Kernel::Stepwise, cuda::TimingSkip::None, nullptr);
  });
  const Row persistent = attempt(make_row("rnn persistent"), [&](Row& r) {
    time_ours(r, Kernel::Persistent, cuda::TimingSkip::None, nullptr);
  });
  // The persistent kernel's second generation (W_hh in registers, H <= 1024),
  // timed beside the first until a record shows which wins where.
  if (s.H <= 1024)
    attempt(make_row("rnn registers"), [&](Row& r) { time_ours(r, Kernel::Registers, cuda::TimingSkip::None, nullptr); });
  attempt(make_row("rnn auto"), [&](Row& r) {
    Kernel chosen = Kernel::Auto;
    {
      cuda::PlanOptions po;
      po.max_steps = s.T;
      po.max_batch = s.B;
      chosen = cuda::Plan(model, po).kernel();
    }
    r.engine += std::string("=") + kernel_name(chosen);
    const Row& same = chosen == Kernel::Persistent ? persistent : stepwise;
    if (same.ms > 0) {  // the plan it picked was timed above: repeat its figures, untimed
      r.ms = same.ms, r.us_per_step = same.us_per_step, r.tflops = same.tflops, r.check = same.check;
      r.status = "same plan as " + same.engine + " (not timed again)";
      return;
    }
    time_ours(r, Kernel::Auto, cuda::TimingSkip::None, nullptr);
  });
  // The timing variants: what each part of a step costs.
  struct Variant {
    const Row* full;
    Kernel kernel;
    cuda::TimingSkip skip;
    const char* part;
  };
  const Variant variants[] = {
      {&persistent, Kernel::Persistent, cuda::TimingSkip::Staging, "staging"},
      {&persistent, Kernel::Persistent, cuda::TimingSkip::Epilogue, "epilogue"},
      {&persistent, Kernel::Persistent, cuda::TimingSkip::Barrier, "barrier"},
      {&stepwise, Kernel::Stepwise, cuda::TimingSkip::Staging, "staging"},
      {&stepwise, Kernel::Stepwise, cuda::TimingSkip::Epilogue, "epilogue"},
  };
  for (const Variant& v : variants) {
    if (v.full->ms <= 0) continue;  // no full figure to split
    Row row = make_row(v.full->engine + " -" + v.part);
    row.timing_skip = v.part;
    row.variant_of = v.full->engine;
    Row& r = attempt(row, [&](Row& r) { time_ours(r, v.kernel, v.skip, nullptr); });
    if (r.ms > 0) r.saves_us_per_step = v.full->us_per_step - r.us_per_step;
  }

#ifdef RNN_BENCH_CUDNN
  struct Algo {
    const char* name;
    cudnnRNNAlgo_t algo;
    cudnnMathType_t math;
    bool strict;
  };
  const Algo algos[] = {
      {"cudnn standard", CUDNN_RNN_ALGO_STANDARD, CUDNN_FMA_MATH, true},
      {"cudnn persist_static", CUDNN_RNN_ALGO_PERSIST_STATIC, CUDNN_FMA_MATH, true},
      {"cudnn persist_static_small_h", CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H, CUDNN_FMA_MATH, true},
      {"cudnn standard tf32", CUDNN_RNN_ALGO_STANDARD, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, false},
      {"cudnn persist_dynamic", CUDNN_RNN_ALGO_PERSIST_DYNAMIC, CUDNN_FMA_MATH, true},  // last: compiles per shape
  };
  double best = 0;
  for (const Algo& al : algos) {
    attempt(make_row(al.name), [&](Row& r) {
      CudnnRnn c;
      std::string why = c.setup(s, model, len32, d_len.as<int32_t>(), al.algo, al.math, stream);
      if (why.empty()) {
        BENCH_CUDA(cudaMemsetAsync(d_y.as<void>(), 0xff, ny * sizeof(float), stream));
        why = c.forward(d_x.as<float>(), d_y.as<float>());
      }
      if (!why.empty()) {
        r.status = "not supported: " + why;
        return;
      }
      BENCH_CUDA(cudaStreamSynchronize(stream));
      const std::vector<float> y = download(d_y.as<float>(), ny);
      r.check = reference.empty() ? -1 : rel_err(y, reference);
      finish(r, time_ms([&] { c.forward(d_x.as<float>(), d_y.as<float>()); }, o.warmup, o.runs, stream));
      if (!al.strict) r.status = "ok (TF32: not in the ratio)";
      if (al.strict && r.check >= 0 && r.check <= 1e-5 && (best == 0 || r.ms < best)) best = r.ms;
      if (r.check > 1e-5 && al.strict) r.status = "MISMATCH with ours";
    });
  }
  if (best > 0)
    for (Row& r : rows)
      if (r.ms > 0 && r.timing_skip.empty()) r.vs_cudnn = r.ms / best;
#endif
  return rows;
}

}  // namespace rnn::bench::detail
