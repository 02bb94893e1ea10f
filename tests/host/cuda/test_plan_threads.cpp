// tests/host/cuda/test_plan_threads.cpp: the CUDA backend from several
// threads at once (README "Guarantees"): a Plan per thread on its own
// stream over one shared model, and the host API called concurrently, each
// result against the CPU reference and repeated bit for bit. Skips, saying
// why, on a machine without a usable GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "rnn/cuda.hpp"
#include "plan_helpers.hpp"
#include "testbed.hpp"

namespace {

using plan_test::Device;

// Thread safety (README "Guarantees"): one model shared by four threads,
// each with its own Plan and stream, running at the same time on one GPU;
// and the host API (rnn::forward on cuda) called from four threads at once.
// Every result matches the CPU reference, and repeats bit for bit.
TEST(GpuThreads, PlansOfOneModelOnSeparateStreamsAtOnce) {
  SKIP_WITHOUT_GPU();
  rnn::ModelConfig cfg;
  cfg.input_size = 12;
  cfg.hidden_size = 96;
  cfg.num_layers = 2;
  const rnn::Model model = rnn::Model::random(cfg, 77);
  constexpr int kThreads = 4;
  const int64_t T = 40, B = 5;
  std::vector<rnn::Tensor> xs;
  std::vector<rnn::ForwardResult> refs;
  rnn::ForwardOptions cpu;
  cpu.device = rnn::Device::Reference;  // the oracle
  for (int k = 0; k < kThreads; ++k) {
    xs.push_back(testbed::random_tensor({T, B, 12}, 300 + k));
    refs.push_back(rnn::forward(model, xs[k], nullptr, nullptr, cpu));
  }
  for (rnn::Kernel kernel : {rnn::Kernel::Stepwise, rnn::Kernel::Persistent}) {
    std::vector<std::string> failures(kThreads);
    std::vector<std::thread> pool;
    for (int k = 0; k < kThreads; ++k)
      pool.emplace_back([&, k] {
        // Buffers and the stream are owned here, so nothing leaks when a
        // run throws.
        struct Stream {
          cudaStream_t s = nullptr;
          ~Stream() {
            if (s) cudaStreamDestroy(s);
          }
        } stream;
        try {
          rnn::cuda::PlanOptions o;
          o.max_steps = T;
          o.max_batch = B;
          o.kernel = kernel;
          rnn::cuda::Plan plan(model, o);
          if (cudaStreamCreateWithFlags(&stream.s, cudaStreamNonBlocking) != cudaSuccess) {
            failures[k] = "cudaStreamCreate failed";
            return;
          }
          const size_t ny = refs[k].y.values().size(), nh = refs[k].h_n.values().size();
          Device<float> x(xs[k].values()), y(ny), hn(nh);
          Device<char> ws(std::max<size_t>(plan.workspace_size(), 1));
          if (!x.get() || !y.get() || !hn.get() || !ws.get()) {
            failures[k] = "cudaMalloc failed";
            return;
          }
          rnn::cuda::RunArgs a;
          a.steps = T;
          a.batch = B;
          a.x = x.get();
          a.y = y.get();
          a.h_n = hn.get();
          std::vector<float> first;
          for (int r = 0; r < 5; ++r) {
            plan.run(a, ws.get(), stream.s);
            if (cudaStreamSynchronize(stream.s) != cudaSuccess) {
              failures[k] += "run " + std::to_string(r) + " failed; ";
              break;
            }
            const std::vector<float> hy = y.host(), hh = hn.host();
            if (!testbed::close(rnn::Tensor(refs[k].y.shape(), hy), refs[k].y, 1e-5) ||
                !testbed::close(rnn::Tensor(refs[k].h_n.shape(), hh), refs[k].h_n, 1e-5))
              failures[k] += "run " + std::to_string(r) + " differs from the reference; ";
            if (r == 0) first = hy;
            else if (hy != first) failures[k] += "run " + std::to_string(r) + " differs from run 0; ";
          }
        } catch (const std::exception& e) {
          failures[k] = e.what();
        } catch (...) {
          failures[k] = "an unknown exception";
        }
      });
    for (auto& t : pool) t.join();
    for (int k = 0; k < kThreads; ++k) EXPECT_EQ(failures[k], "") << rnn::kernel_name(kernel) << " thread " << k;
  }

  // The host API from several threads at once.
  std::vector<int> ok(kThreads, 0);
  std::vector<std::thread> pool;
  for (int k = 0; k < kThreads; ++k)
    pool.emplace_back([&, k] {
      rnn::ForwardOptions gpu;
      gpu.device = rnn::Device::Cuda;
      try {
        const auto r = rnn::forward(model, xs[k], nullptr, nullptr, gpu);
        ok[k] = testbed::close(r.y, refs[k].y, 1e-5) && testbed::close(r.h_n, refs[k].h_n, 1e-5);
      } catch (...) {
        ok[k] = 0;
      }
    });
  for (auto& t : pool) t.join();
  for (int k = 0; k < kThreads; ++k) EXPECT_TRUE(ok[k]) << "host API, thread " << k;
}

}  // namespace
