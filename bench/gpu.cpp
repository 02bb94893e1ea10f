// bench/gpu.cpp: the runner's GPU half: our kernels through the device API
// and cuDNN 9's cudnnRNNForward (bench/cudnn_rnn.cpp) on the same weights
// and inputs.
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
#include <utility>
#include <vector>

#include "gpu.hpp"
#include "gpu_util.hpp"
#include "rnn/cuda.hpp"
#include "rnn/rnn.hpp"

#ifdef RNN_BENCH_CUDNN
#include <cudnn.h>

#include "cudnn_rnn.hpp"
#endif

namespace rnn::bench::detail {

namespace {

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

// A shape's fresh random weights and x, its lengths, the tokens they hold
// and the floor its rows are held to.
struct Inputs {
  Model model;
  std::vector<float> x;
  std::vector<int32_t> len32;
  double tokens = 0;
  double floor = 0;
  std::string kind;  // the floor's kind
};

// Draws a shape's inputs with fresh seeds; its floor on `info`'s device.
Inputs random_inputs(const Shape& s, const DeviceInfo& info) {
  std::random_device fresh;
  ModelConfig cfg;
  cfg.input_size = s.I;
  cfg.hidden_size = s.H;
  cfg.num_layers = s.L;
  cfg.bidirectional = s.bidirectional;
  Inputs in;
  in.model = Model::random(cfg, fresh());
  in.x.resize(static_cast<size_t>(s.T * s.B * s.I));
  {
    std::mt19937_64 gen(fresh());
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto& v : in.x) v = u(gen);
  }
  const std::vector<int64_t> lengths = bench_lengths(s, fresh());
  in.len32.assign(lengths.begin(), lengths.end());
  for (int64_t l : lengths) in.tokens += static_cast<double>(l);
  in.floor = floor_ms(s, in.tokens, info, &in.kind);
  return in;
}

// A new non-blocking stream.
cudaStream_t new_stream() {
  cudaStream_t stream;
  BENCH_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return stream;
}

// Destroys the stream with its owner.
struct StreamGuard {
  cudaStream_t s;
  ~StreamGuard() { cudaStreamDestroy(s); }
};

// One shape on the device: its inputs uploaded to a stream of its own, the
// rows measured so far, and each engine's steps.
class ShapeRun {
 public:
  ShapeRun(const Shape& shape, const Options& options, const Inputs& inputs, std::ostream& log_to);

  // Ours: stepwise, persistent, registers (H <= 1024), the auto plan, then the timing variants.
  void time_kernels();
#ifdef RNN_BENCH_CUDNN
  // cuDNN's algorithms, then every timed full row's ratio to the best strict-FP32 cuDNN time.
  void time_cudnn();
#endif
  std::vector<Row> take_rows() { return std::move(rows); }

 private:
  Row make_row(const std::string& engine) const;
  void finish(Row& r, double ms) const;
  Row& attempt(Row r, const std::function<void(Row&)>& body);
  void time_ours(Row& r, Kernel k, cuda::TimingSkip skip);
  void time_auto(const Row& stepwise, const Row& persistent);
  void time_variants(const Row& stepwise, const Row& persistent);

  const Shape& s;
  const Options& o;
  const Inputs& in;
  std::ostream& log;
  const size_t nx, ny;
  cudaStream_t stream;
  StreamGuard guard;
  Buf d_x, d_y, d_len;
  std::vector<Row> rows;
  std::vector<float> reference;  // the stepwise kernel's y
};

ShapeRun::ShapeRun(const Shape& shape, const Options& options, const Inputs& inputs, std::ostream& log_to)
    : s(shape),
      o(options),
      in(inputs),
      log(log_to),
      nx(static_cast<size_t>(s.T * s.B * s.I)),
      ny(static_cast<size_t>(s.T * s.B * s.directions() * s.H)),
      stream(new_stream()),
      guard{stream},
      d_x(nx * sizeof(float)),
      d_y(ny * sizeof(float)),
      d_len(in.len32.size() * sizeof(int32_t)) {
  const std::vector<float>& x = in.x;
  const std::vector<int32_t>& len32 = in.len32;
  BENCH_CUDA(cudaMemcpy(d_x.as<void>(), x.data(), nx * sizeof(float), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(d_len.as<void>(), len32.data(), len32.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
}

// A row of `engine` on the shape, with the shape's floor.
Row ShapeRun::make_row(const std::string& engine) const {
  Row r;
  r.shape = s;
  r.engine = engine;
  r.floor_ms = in.floor;
  r.floor_kind = in.kind;
  return r;
}

// Status "ok" and the figures of a median time of `ms`.
void ShapeRun::finish(Row& r, double ms) const {
  r.status = "ok";
  r.ms = ms;
  r.us_per_step = ms * 1e3 / static_cast<double>(s.T);
  r.tflops = s.flops(in.tokens) / (ms * 1e-3) / 1e12;
}

// Runs `body` on the row; a failure becomes the row's status. A CUDA
// error left pending by a failed engine is cleared so the next one starts
// clean (a sticky fault will fail the rest, each saying so).
Row& ShapeRun::attempt(Row r, const std::function<void(Row&)>& body) {
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
}

// Ours: one plan of kernel `k` (and timing variant `skip`), timed; its y
// checked against the stepwise kernel's (the first checked becomes the reference).
void ShapeRun::time_ours(Row& r, Kernel k, cuda::TimingSkip skip) {
  cuda::PlanOptions po;
  po.max_steps = s.T;
  po.max_batch = s.B;
  po.kernel = k;
  po.timing_skip = skip;
  cuda::Plan plan(in.model, po);
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
}

void ShapeRun::time_kernels() {
  const Row stepwise = attempt(make_row("rnn stepwise"), [&](Row& r) {
    time_ours(r, Kernel::Stepwise, cuda::TimingSkip::None);
  });
  const Row persistent = attempt(make_row("rnn persistent"), [&](Row& r) {
    time_ours(r, Kernel::Persistent, cuda::TimingSkip::None);
  });
  // The persistent kernel's second generation (W_hh in registers, H <= 1024),
  // timed beside the first until a record shows which wins where.
  if (s.H <= 1024)
    attempt(make_row("rnn registers"), [&](Row& r) { time_ours(r, Kernel::Registers, cuda::TimingSkip::None); });
  // A cuBLAS GEMM per step, for large batches: timed at every shape until a
  // record shows where it wins.
  if (s.B <= 65535)
    attempt(make_row("rnn gemm"), [&](Row& r) { time_ours(r, Kernel::Gemm, cuda::TimingSkip::None); });
  // Thread-block clusters, the states through distributed shared memory (H <= 512).
  if (s.H <= 512)
    attempt(make_row("rnn cluster"), [&](Row& r) { time_ours(r, Kernel::Cluster, cuda::TimingSkip::None); });
  time_auto(stepwise, persistent);
  time_variants(stepwise, persistent);
}

// The auto plan's row: the figures of the stepwise or persistent row when it
// picked that plan and it was timed, else timed itself.
void ShapeRun::time_auto(const Row& stepwise, const Row& persistent) {
  attempt(make_row("rnn auto"), [&](Row& r) {
    Kernel chosen = Kernel::Auto;
    {
      cuda::PlanOptions po;
      po.max_steps = s.T;
      po.max_batch = s.B;
      chosen = cuda::Plan(in.model, po).kernel();
    }
    r.engine += std::string("=") + kernel_name(chosen);
    // Only a stepwise or persistent choice has its row at hand; another is timed.
    const Row* same = chosen == Kernel::Persistent ? &persistent : chosen == Kernel::Stepwise ? &stepwise : nullptr;
    if (same && same->ms > 0) {  // the plan it picked was timed above: repeat its figures, untimed
      r.ms = same->ms, r.us_per_step = same->us_per_step, r.tflops = same->tflops, r.check = same->check;
      r.status = "same plan as " + same->engine + " (not timed again)";
      return;
    }
    time_ours(r, Kernel::Auto, cuda::TimingSkip::None);
  });
}

// The timing variants: what each part of a step costs.
void ShapeRun::time_variants(const Row& stepwise, const Row& persistent) {
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
    Row& r = attempt(row, [&](Row& r) { time_ours(r, v.kernel, v.skip); });
    if (r.ms > 0) r.saves_us_per_step = v.full->us_per_step - r.us_per_step;
  }
}

#ifdef RNN_BENCH_CUDNN
void ShapeRun::time_cudnn() {
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
      std::string why = c.setup(s, in.model, in.len32, d_len.as<int32_t>(), al.algo, al.math, stream);
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
}
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
  const Inputs in = random_inputs(s, info);
  ShapeRun run(s, o, in, log);
  run.time_kernels();
#ifdef RNN_BENCH_CUDNN
  run.time_cudnn();
#endif
  return run.take_rows();
}

}  // namespace rnn::bench::detail
