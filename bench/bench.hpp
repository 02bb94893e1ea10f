// bench/bench.hpp: the benchmark runner behind `rnn bench`.
//
// A grid of shapes; for each, on a GPU: our stepwise and persistent kernels
// (and the auto plan where it picks neither), their timing variants (each
// leaving one part of a step out: the time split), and cuDNN 9's
// cudnnRNNForward (inference, every algorithm it accepts, strict FP32 via
// CUDNN_FMA_MATH, plus a TF32 row; PERSIST_DYNAMIC, which compiles a kernel
// per shape, last) in the same process on the same weights and inputs,
// cuDNN's output checked against ours; without a GPU, the CPU reference
// (labelled: not a GPU figure). An engine that fails becomes a row whose
// status says why; the run goes on. Timing: CUDA events after warm-up,
// median of `runs`, fresh random data.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "rnn/device.hpp"

namespace rnn::bench {

struct Shape {
  int64_t B = 1, H = 256, I = 256, T = 256, L = 1;
  bool bidirectional = false;
  bool varlen = false;  // lengths drawn in [T/2, T], one equal to T

  int64_t directions() const { return bidirectional ? 2 : 1; }
  // "B=8 H=512 I=512 T=256 L=1 D=1"
  std::string label() const;
  // Multiply-adds x 2 of the whole forward pass over `tokens` sequence steps
  // (2 * B * H * (I_l + H) per step, direction and layer).
  double flops(double tokens_per_sequence_sum) const;
};

struct Options {
  std::vector<Shape> shapes;
  int warmup = 3;
  int runs = 20;
  int reference_runs = 3;  // --device cpu: timed runs of the reference beside the fast backend (0: none, unchecked)
  Device device = Device::Auto;
};

// The device's limits, for the floors each row is held to.
struct DeviceInfo {
  std::string name;            // "NVIDIA H100 80GB HBM3", or "cpu"
  bool gpu = false;
  double peak_fp32_tflops = 0;  // multiprocessors x 128 lanes x 2 x clock
  double bandwidth_gbs = 0;     // memory clock x 2 x bus width
  double barrier_us = 0;        // measured grid-barrier latency
  std::string cudnn_version;    // "" when cuDNN is not built in
};

struct Row {
  Shape shape;
  std::string engine;   // "rnn stepwise", "rnn persistent", "rnn auto=persistent", "cudnn standard", ..., "cpu reference";
                        // timing variants: "rnn persistent -staging", "-epilogue", "-barrier"
  std::string status;   // "ok", or why there is no figure ("does not fit", "not supported: ...", "failed: ...")
  std::string timing_skip;  // timing variants: the part left out ("staging", "epilogue", "barrier"); else ""
  std::string variant_of;   // timing variants: the engine they are a variant of ("rnn persistent")
  double saves_us_per_step = 0;  // timing variants: variant_of's us_per_step minus this row's (what the part costs)
  double ms = 0;        // median time of one forward pass
  double us_per_step = 0;
  double tflops = 0;    // achieved, on the real (unpadded) tokens
  double vs_cudnn = 0;  // ms / best strict-FP32 cuDNN ms (0: no cuDNN figure)
  double floor_ms = 0;  // max of the compute, memory and barrier floors
  std::string floor_kind;  // which floor binds: "compute", "memory", "barrier"
  double check = -1;    // cuDNN rows: relative error of cuDNN's y against ours (-1: not checked)
};

struct Report {
  DeviceInfo device;
  std::vector<Row> rows;
  bool mismatch = false;  // a strict-FP32 engine's y disagreed with our stepwise kernel's beyond 1e-5
};

// The default grid: B in {1, 8, 64, 256} x H in {256, 512, 1024, 2048},
// I = H, T = 256, L = 1, D = 1, plus multi-layer, bidirectional and
// variable-length rows.
std::vector<Shape> default_grid();
// The target grid, what a short GPU lease measures first: B in {1, 8, 64,
// 256} x H in {256, 1024, 2048}, I = H, T = 256, L = 1, D = 1.
std::vector<Shape> target_grid();
// A small grid for a quick look (GPU: B in {1, 8}, H in {256, 512}, T = 64).
std::vector<Shape> quick_grid(bool gpu);
// "default", "target" or "quick"; throws rnn::Error("--shapes", ...) otherwise.
std::vector<Shape> named_grid(const std::string& name, bool gpu);

// Refuses, before anything runs, a shape whose input x ([T, B, I] floats)
// alone exceeds the host memory available: throws rnn::Error("tensor", ...)
// with the message a Tensor of that shape would give.
void check_host_fits(const Shape& shape);

// Called with the report so far: once before the first shape and after
// every shape (the CLI writes its JSON and CSV there, so a run cut short
// leaves complete files holding every finished shape).
using Progress = std::function<void(const Report&)>;

// Runs the grid on the device `options.device` resolves to; progress lines
// go to `log`. An engine that fails on a shape (refuses it, or a CUDA, cuBLAS
// or cuDNN error) becomes a row with that status and the run goes on; only
// failures to use the device at all throw rnn::Error. When `resume` is
// given, its rows come first and shapes it already holds are not run again
// (its device must be this run's: rnn::Error("resume", ...) otherwise).
Report run(const Options& options, std::ostream& log, const Progress& progress = nullptr,
           const Report* resume = nullptr);

void print_table(const Report& report, std::ostream& out);
// Write atomically; throw rnn::Error(path, ...) on failure.
void write_json(const Report& report, const std::string& path);
void write_csv(const Report& report, const std::string& path);
// Reads a file write_json wrote; throws rnn::Error(path, ...) when it cannot.
Report read_json(const std::string& path);

}  // namespace rnn::bench
