// bench/kernel_timing.cpp: a first timing of the two recurrence kernels.
//
//   rnn_kernel_timing [--json FILE]
//
// For each shape (one layer, one direction, I = H, T = 256) and kernel, runs
// the device API's Plan::run on fresh random data: 3 warm-up runs, then the
// median of 20 runs timed with CUDA events. Prints milliseconds, microseconds
// per step and achieved TFLOP/s (2 * B * H * (I + H) per step). Checks each
// kernel's output against the other's (the CPU reference checks are the
// test suite's job). Needs a GPU; exits 2 saying so without one.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "rnn/cuda.hpp"
#include "rnn/rnn.hpp"

namespace {

#define CHECK(call)                                                                             \
  do {                                                                                          \
    const cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) throw rnn::Error("cuda", std::string(#call) + ": " + cudaGetErrorString(e_)); \
  } while (0)

struct Row {
  int64_t B, H, T;
  std::string kernel;
  double ms = 0, us_per_step = 0, tflops = 0, max_diff = 0;
  std::string note;
};

std::vector<float> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json = argv[++i];
    else {
      std::fprintf(stderr, "rnn_kernel_timing: error: %s: unknown argument (usage: rnn_kernel_timing [--json FILE])\n", a.c_str());
      return 2;
    }
  }
  if (rnn::cuda_device_count() == 0) {
    std::fprintf(stderr, "rnn_kernel_timing: error: no usable CUDA device\n");
    return 2;
  }
  std::vector<Row> rows;
  try {
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 0));
    std::printf("%s, %d SMs; one layer, one direction, I = H, T = 256; median of 20 runs\n", prop.name,
                prop.multiProcessorCount);
    std::printf("%6s %6s %-11s %10s %10s %9s %12s\n", "B", "H", "kernel", "ms", "us/step", "TFLOP/s", "vs other");
    cudaStream_t stream;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    const int64_t T = 256;
    for (int64_t H : {256, 512, 1024, 2048}) {
      for (int64_t B : {1, 8, 64, 256}) {
        rnn::ModelConfig cfg;
        cfg.input_size = H;
        cfg.hidden_size = H;
        const rnn::Model model = rnn::Model::random(cfg, 1);
        const std::vector<float> x = random_values(static_cast<size_t>(T * B * H), 2 + B + H);
        float *d_x, *d_y, *d_hn;
        CHECK(cudaMalloc(&d_x, x.size() * 4));
        CHECK(cudaMalloc(&d_y, x.size() * 4));
        CHECK(cudaMalloc(&d_hn, static_cast<size_t>(B * H) * 4));
        CHECK(cudaMemcpy(d_x, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
        std::vector<float> outputs[2];
        int k = 0;
        for (rnn::Kernel kernel : {rnn::Kernel::Stepwise, rnn::Kernel::Persistent}) {
          Row r{B, H, T, rnn::kernel_name(kernel)};
          std::string why;
          if (kernel == rnn::Kernel::Persistent && !rnn::cuda::persistent_fits(cfg, B, &why)) {
            r.note = "does not fit";
            rows.push_back(r);
            std::printf("%6lld %6lld %-11s %10s\n", static_cast<long long>(B), static_cast<long long>(H),
                        r.kernel.c_str(), "(does not fit)");
            ++k;
            continue;
          }
          rnn::cuda::PlanOptions o;
          o.max_steps = T;
          o.max_batch = B;
          o.kernel = kernel;
          rnn::cuda::Plan plan(model, o);
          void* ws;
          CHECK(cudaMalloc(&ws, std::max<size_t>(plan.workspace_size(), 1)));
          rnn::cuda::RunArgs a;
          a.steps = T;
          a.batch = B;
          a.x = d_x;
          a.y = d_y;
          a.h_n = d_hn;
          for (int i = 0; i < 3; ++i) plan.run(a, ws, stream);
          std::vector<float> times;
          for (int i = 0; i < 20; ++i) {
            CHECK(cudaEventRecord(start, stream));
            plan.run(a, ws, stream);
            CHECK(cudaEventRecord(stop, stream));
            CHECK(cudaEventSynchronize(stop));
            float ms = 0;
            CHECK(cudaEventElapsedTime(&ms, start, stop));
            times.push_back(ms);
          }
          std::sort(times.begin(), times.end());
          r.ms = times[times.size() / 2];
          r.us_per_step = r.ms * 1000.0 / T;
          r.tflops = 2.0 * B * H * (2.0 * H) * T / (r.ms * 1e-3) / 1e12;
          outputs[k].resize(x.size());
          CHECK(cudaMemcpy(outputs[k].data(), d_y, x.size() * 4, cudaMemcpyDeviceToHost));
          if (k == 1 && !outputs[0].empty()) {
            for (size_t i = 0; i < x.size(); ++i)
              r.max_diff = std::max(r.max_diff, static_cast<double>(std::fabs(outputs[0][i] - outputs[1][i])));
          }
          std::printf("%6lld %6lld %-11s %10.3f %10.2f %9.3f %12.2e\n", static_cast<long long>(B),
                      static_cast<long long>(H), r.kernel.c_str(), r.ms, r.us_per_step, r.tflops, r.max_diff);
          rows.push_back(r);
          CHECK(cudaFree(ws));
          ++k;
        }
        CHECK(cudaFree(d_x));
        CHECK(cudaFree(d_y));
        CHECK(cudaFree(d_hn));
      }
    }
    if (!json.empty()) {
      std::ofstream f(json);
      f << "{\"gpu\": \"" << prop.name << "\", \"rows\": [\n";
      for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        f << "  {\"B\": " << r.B << ", \"H\": " << r.H << ", \"T\": " << r.T << ", \"kernel\": \"" << r.kernel
          << "\", \"ms\": " << r.ms << ", \"us_per_step\": " << r.us_per_step << ", \"tflops\": " << r.tflops
          << ", \"max_abs_diff_vs_stepwise\": " << r.max_diff << ", \"note\": \"" << r.note << "\"}"
          << (i + 1 < rows.size() ? ",\n" : "\n");
      }
      f << "]}\n";
    }
  } catch (const rnn::Error& e) {
    std::fprintf(stderr, "rnn_kernel_timing: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
