// tests/host/cuda/test_plan.cpp: the CUDA backend against the CPU reference.
//
// One table of cases (every feature, awkward sizes, long T, saturation) runs
// on both recurrence kernels through the device API: fresh random inputs,
// outputs poisoned with NaN before each run (an element a kernel forgets to
// write fails), relative error < 1e-5 against the double-accumulating CPU
// reference, and a second run bitwise identical to the first. Every test
// skips, saying why, on a machine without a usable GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kernels/fill.cuh"
#include "rnn/cuda.hpp"
#include "case_table.hpp"
#include "testbed.hpp"

namespace {

#define CUDA_OK(call)                                                              \
  do {                                                                             \
    const cudaError_t err_ = (call);                                               \
    ASSERT_EQ(err_, cudaSuccess) << #call << ": " << cudaGetErrorString(err_);     \
  } while (0)

bool have_gpu() { return rnn::cuda_device_count() > 0; }
#define SKIP_WITHOUT_GPU() \
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine"

using case_table::Case;
using case_table::cases;
using case_table::lengths_for;
using case_table::model_for;

template <class T>
class Device {
 public:
  explicit Device(size_t n) : n_(n) {
    if (n) EXPECT_EQ(cudaMalloc(&p_, n * sizeof(T)), cudaSuccess);
  }
  Device(const std::vector<T>& host) : Device(host.size()) {
    if (n_) EXPECT_EQ(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Device() { cudaFree(p_); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  T* get() const { return p_; }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    EXPECT_EQ(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

class GpuForward : public ::testing::TestWithParam<std::tuple<Case, rnn::Kernel>> {};

TEST_P(GpuForward, MatchesCpuReferenceAndIsDeterministic) {
  SKIP_WITHOUT_GPU();
  const Case& c = std::get<0>(GetParam());
  const rnn::Kernel kernel = std::get<1>(GetParam());
  const rnn::Model model = model_for(c, 1000 + c.H + c.T);
  std::string why;
  if (kernel == rnn::Kernel::Persistent && !rnn::cuda::persistent_fits(model.config(), c.B, &why))
    GTEST_SKIP() << why;
  if (kernel == rnn::Kernel::Registers && c.H > 1024) GTEST_SKIP() << "the registers kernel holds H <= 1024";

  const int64_t D = c.bidir ? 2 : 1;
  const std::vector<int64_t> xshape = c.batch_first ? std::vector<int64_t>{c.B, c.T, c.I}
                                                    : std::vector<int64_t>{c.T, c.B, c.I};
  const rnn::Tensor x = testbed::random_tensor(xshape, 7 + c.T, c.x_scale);
  const rnn::Tensor h0 = testbed::random_tensor({c.L * D, c.B, c.H}, 11 + c.B, 0.5f);
  const std::vector<int64_t> lengths = lengths_for(c.T, c.B, 13 + c.H);

  rnn::ForwardOptions cpu;
  cpu.device = rnn::Device::Reference;  // the oracle
  cpu.batch_first = c.batch_first;
  const rnn::ForwardResult ref = rnn::forward(model, x, c.h0 ? &h0 : nullptr, c.lengths ? &lengths : nullptr, cpu);
  ASSERT_FALSE(testbed::all_zero(ref.y));
  rnn::Tensor x_gpu = x;
  if (c.nan_padding) {  // the reference never reads the padding; the GPU must not either
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = lengths[b]; t < c.T; ++t)
        for (int64_t k = 0; k < c.I; ++k) x_gpu[(c.batch_first ? b * c.T + t : t * c.B + b) * c.I + k] = std::nanf("");
  }

  rnn::cuda::PlanOptions opt;
  opt.max_steps = c.T + c.plan_extra;
  opt.max_batch = c.B + c.plan_extra;
  opt.batch_first = c.batch_first;
  opt.kernel = kernel;
  rnn::cuda::Plan plan(model, opt);
  ASSERT_EQ(plan.kernel(), kernel);

  Device<float> d_x(x_gpu.values()), d_h0(h0.values()), d_y(ref.y.values().size()), d_hn(ref.h_n.values().size());
  const std::vector<int32_t> len32(lengths.begin(), lengths.end());
  Device<int32_t> d_len(len32);
  Device<char> ws(plan.workspace_size());
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  rnn::cuda::RunArgs a;
  a.steps = c.T;
  a.batch = c.B;
  a.x = d_x.get();
  a.h0 = c.h0 ? d_h0.get() : nullptr;
  a.lengths = c.lengths ? d_len.get() : nullptr;
  a.y = d_y.get();
  a.h_n = d_hn.get();
  std::vector<float> first_y, first_hn;
  for (int run = 0; run < 2; ++run) {
    CUDA_OK(rnn::kernels::launch_fill(d_y.get(), ref.y.values().size(), std::nanf(""), stream));
    CUDA_OK(rnn::kernels::launch_fill(d_hn.get(), ref.h_n.values().size(), std::nanf(""), stream));
    plan.run(a, ws.get(), stream);
    CUDA_OK(cudaStreamSynchronize(stream));
    const rnn::Tensor y(ref.y.shape(), d_y.host()), hn(ref.h_n.shape(), d_hn.host());
    EXPECT_TRUE(testbed::close(y, ref.y, 1e-5)) << "y, run " << run;
    EXPECT_TRUE(testbed::close(hn, ref.h_n, 1e-5)) << "h_n, run " << run;
    if (run == 0) {
      first_y = y.values();
      first_hn = hn.values();
    } else {
      EXPECT_EQ(y.values(), first_y) << "second run differs from the first";
      EXPECT_EQ(hn.values(), first_hn) << "second run differs from the first";
    }
  }
  cudaStreamDestroy(stream);
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<Case, rnn::Kernel>>& info) {
  return std::get<0>(info.param).name + "_" + rnn::kernel_name(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Table, GpuForward,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent, rnn::Kernel::Registers)),
                         case_name);

// The host API on the GPU gives PyTorch's outputs on every parity fixture.
class GpuParity : public ::testing::TestWithParam<std::tuple<std::string, rnn::Kernel>> {};

TEST_P(GpuParity, HostApiOnCudaMatchesPyTorch) {
  SKIP_WITHOUT_GPU();
  const testbed::FixtureCase c("parity/" + std::get<0>(GetParam()));
  const auto r = rnn::forward(c.model, c.x, c.h0_ptr(), c.lengths_ptr(),
                              c.options(rnn::Device::Cuda, std::get<1>(GetParam())));
  EXPECT_EQ(r.device, rnn::Device::Cuda);
  EXPECT_TRUE(testbed::close(r.y, c.expected_states(), 1e-5));
  EXPECT_TRUE(testbed::close(r.h_n, c.expected("expected_hn.npy"), 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GpuParity,
                         ::testing::Combine(::testing::ValuesIn(testbed::case_names("parity")),
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent, rnn::Kernel::Registers)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + rnn::kernel_name(std::get<1>(info.param));
                         });

rnn::ModelConfig small_config(int64_t H = 8) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = H;
  return c;
}

TEST(GpuPlan, AutoPicksAKernel) {
  SKIP_WITHOUT_GPU();
  rnn::cuda::PlanOptions o;
  o.max_steps = 4;
  o.max_batch = 2;
  rnn::cuda::Plan plan(rnn::Model::random(small_config(), 1), o);
  EXPECT_NE(plan.kernel(), rnn::Kernel::Auto);
  EXPECT_GT(plan.workspace_size(), 0u);
}

TEST(GpuPlan, PersistentThatDoesNotFitIsAClearError) {
  SKIP_WITHOUT_GPU();
  rnn::ModelConfig c = small_config(4096);  // 64 MB of W_hh: more than any GPU's shared memory
  c.input_size = 1;
  std::string why;
  EXPECT_FALSE(rnn::cuda::persistent_fits(c, 1, &why));
  EXPECT_NE(why.find("shared memory"), std::string::npos) << why;
  rnn::cuda::PlanOptions o;
  o.max_steps = 2;
  o.max_batch = 1;
  o.kernel = rnn::Kernel::Persistent;
  try {
    rnn::cuda::Plan plan(rnn::Model(c), o);
    ADD_FAILURE() << "no error";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "kernel");
    EXPECT_NE(e.message().find("stepwise"), std::string::npos) << e.what();
  }
}

TEST(GpuPlan, RunRejectsSizesBeyondThePlan) {
  SKIP_WITHOUT_GPU();
  rnn::cuda::PlanOptions o;
  o.max_steps = 4;
  o.max_batch = 2;
  rnn::cuda::Plan plan(rnn::Model::random(small_config(), 1), o);
  Device<float> x(4 * 2 * 3), y(4 * 2 * 8);
  Device<char> ws(plan.workspace_size());
  rnn::cuda::RunArgs a;
  a.steps = 5;
  a.batch = 2;
  a.x = x.get();
  a.y = y.get();
  try {
    plan.run(a, ws.get(), nullptr);
    ADD_FAILURE() << "no error";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "args");
    EXPECT_NE(e.message().find("max_steps = 4"), std::string::npos) << e.what();
  }
  a.steps = 4;
  a.y = nullptr;
  EXPECT_THROW(plan.run(a, ws.get(), nullptr), rnn::Error);
}

// A plan sized for a large batch runs a smaller one, with new pointers each
// time (the stepwise graph is recaptured or updated), on the legacy stream.
TEST(GpuPlan, SmallerBatchesAndNewPointersReuseThePlan) {
  SKIP_WITHOUT_GPU();
  const rnn::Model model = rnn::Model::random(small_config(16), 3);
  for (rnn::Kernel k : {rnn::Kernel::Stepwise, rnn::Kernel::Persistent}) {
    rnn::cuda::PlanOptions o;
    o.max_steps = 10;
    o.max_batch = 8;
    o.kernel = k;
    rnn::cuda::Plan plan(model, o);
    Device<char> ws(plan.workspace_size());
    for (int64_t B : {int64_t{8}, int64_t{3}, int64_t{1}}) {
      const int64_t T = 10 - B;
      const rnn::Tensor x = testbed::random_tensor({T, B, 3}, 40 + B);
      rnn::ForwardOptions cpu;
      cpu.device = rnn::Device::Reference;  // the oracle
      const auto ref = rnn::forward(model, x, nullptr, nullptr, cpu);
      Device<float> d_x(x.values()), d_y(ref.y.values().size()), d_hn(ref.h_n.values().size());
      CUDA_OK(rnn::kernels::launch_fill(d_y.get(), ref.y.values().size(), std::nanf(""), nullptr));
      CUDA_OK(rnn::kernels::launch_fill(d_hn.get(), ref.h_n.values().size(), std::nanf(""), nullptr));
      rnn::cuda::RunArgs a;
      a.steps = T;
      a.batch = B;
      a.x = d_x.get();
      a.y = d_y.get();
      a.h_n = d_hn.get();
      plan.run(a, ws.get(), nullptr);
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_TRUE(testbed::close(rnn::Tensor(ref.y.shape(), d_y.host()), ref.y, 1e-5))
          << rnn::kernel_name(k) << " B=" << B;
      EXPECT_TRUE(testbed::close(rnn::Tensor(ref.h_n.shape(), d_hn.host()), ref.h_n, 1e-5))
          << rnn::kernel_name(k) << " B=" << B;
    }
  }
}

// Plan::load_weights: a plan made of zeros, given a model's weights as one
// flat device buffer (parameters() order), runs that model; loading another
// model's weights afterwards changes what the plan computes accordingly.
TEST(GpuPlan, LoadWeightsFromAFlatDeviceBuffer) {
  SKIP_WITHOUT_GPU();
  for (const bool bidir : {false, true}) {
    rnn::ModelConfig cfg = small_config(12);
    cfg.num_layers = 2;
    cfg.bidirectional = bidir;
    rnn::cuda::PlanOptions o;
    o.max_steps = 6;
    o.max_batch = 4;
    rnn::cuda::Plan plan(rnn::Model(cfg), o);
    Device<char> ws(plan.workspace_size());
    for (const uint64_t seed : {5u, 6u}) {
      const rnn::Model model = rnn::Model::random(cfg, seed);
      std::vector<float> flat;
      for (const auto& [name, t] : model.parameters()) flat.insert(flat.end(), t->values().begin(), t->values().end());
      ASSERT_EQ(flat.size(), plan.gradient_count());
      Device<float> d_w(flat);
      plan.load_weights(d_w.get(), nullptr);
      const rnn::Tensor x = testbed::random_tensor({6, 4, cfg.input_size}, seed + 10);
      rnn::ForwardOptions cpu;
      cpu.device = rnn::Device::Reference;
      const auto ref = rnn::forward(model, x, nullptr, nullptr, cpu);
      Device<float> d_x(x.values()), d_y(ref.y.values().size()), d_hn(ref.h_n.values().size());
      rnn::cuda::RunArgs a;
      a.steps = 6;
      a.batch = 4;
      a.x = d_x.get();
      a.y = d_y.get();
      a.h_n = d_hn.get();
      plan.run(a, ws.get(), nullptr);
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_TRUE(testbed::close(rnn::Tensor(ref.y.shape(), d_y.host()), ref.y, 1e-5)) << "seed " << seed;
      EXPECT_TRUE(testbed::close(rnn::Tensor(ref.h_n.shape(), d_hn.host()), ref.h_n, 1e-5)) << "seed " << seed;
    }
  }
  rnn::cuda::PlanOptions o;
  o.max_steps = 2;
  o.max_batch = 2;
  rnn::cuda::Plan plan(rnn::Model(small_config()), o);
  EXPECT_THROW(plan.load_weights(nullptr, nullptr), rnn::Error);
}

// The benchmark's timing variants (PlanOptions::timing_skip) run, repeat
// (the stepwise graph path included) and leave out what they say: without
// the epilogue nothing is stored (y stays poisoned); without the staging the
// recurrence sees zeros (y is finite but differs from the reference after
// step 0). The barrier variant exists for the persistent kernel only, and no
// variant offers a backward pass.
TEST(GpuPlan, TimingVariantsLeaveOutWhatTheySay) {
  SKIP_WITHOUT_GPU();
  const rnn::Model model = rnn::Model::random(small_config(16), 11);
  const int64_t T = 6, B = 3;
  const rnn::Tensor x = testbed::random_tensor({T, B, 3}, 12);
  rnn::ForwardOptions cpu;
  cpu.device = rnn::Device::Reference;  // the oracle
  const auto ref = rnn::forward(model, x, nullptr, nullptr, cpu);
  using rnn::cuda::TimingSkip;
  for (rnn::Kernel k : {rnn::Kernel::Stepwise, rnn::Kernel::Persistent}) {
    for (TimingSkip skip : {TimingSkip::Staging, TimingSkip::Epilogue, TimingSkip::Barrier}) {
      rnn::cuda::PlanOptions o;
      o.max_steps = T;
      o.max_batch = B;
      o.kernel = k;
      o.timing_skip = skip;
      const std::string what = std::string(rnn::kernel_name(k)) + " skip " + std::to_string(static_cast<int>(skip));
      if (k == rnn::Kernel::Stepwise && skip == TimingSkip::Barrier) {
        try {
          rnn::cuda::Plan plan(model, o);
          ADD_FAILURE() << "the stepwise kernel accepted a barrier skip";
        } catch (const rnn::Error& e) {
          EXPECT_EQ(e.subject(), "options") << e.what();
        }
        continue;
      }
      rnn::cuda::Plan plan(model, o);
      Device<char> ws(plan.backward_workspace_size());
      Device<float> d_x(x.values()), d_y(ref.y.values().size()), d_dy(ref.y.values().size()),
          d_g(plan.gradient_count());
      rnn::cuda::RunArgs a;
      a.steps = T;
      a.batch = B;
      a.x = d_x.get();
      a.y = d_y.get();
      for (int run = 0; run < 3; ++run) {  // direct, then (stepwise) captured and replayed
        CUDA_OK(rnn::kernels::launch_fill(d_y.get(), ref.y.values().size(), std::nanf(""), nullptr));
        plan.run(a, ws.get(), nullptr);
        CUDA_OK(cudaDeviceSynchronize());
      }
      const std::vector<float> y = d_y.host();
      if (skip == TimingSkip::Epilogue) {
        EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](float v) { return v != v; })) << what << ": y was written";
      } else if (skip == TimingSkip::Staging) {
        EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v); })) << what;
        EXPECT_FALSE(testbed::close(rnn::Tensor(ref.y.shape(), y), ref.y, 1e-3)) << what << ": h_prev was staged";
      }
      rnn::cuda::BackwardArgs g;
      g.dy = d_dy.get();
      g.grads = d_g.get();
      try {
        plan.backward(a, g, ws.get(), nullptr);
        ADD_FAILURE() << what << ": backward ran";
      } catch (const rnn::Error& e) {
        EXPECT_EQ(e.subject(), "options") << e.what();
      }
    }
  }
}

// The first run is launched directly, the second captured; then the same
// sizes with new buffers (the old ones kept alive, so the addresses differ),
// then the same T with another B: the cached stepwise graph is updated in
// place or rebuilt; results stay right.
TEST(GpuPlan, GraphFollowsNewPointersAndBatchAtTheSameT) {
  SKIP_WITHOUT_GPU();
  const rnn::Model model = rnn::Model::random(small_config(40), 5);
  rnn::cuda::PlanOptions o;
  o.max_steps = 9;
  o.max_batch = 6;
  o.kernel = rnn::Kernel::Stepwise;
  rnn::cuda::Plan plan(model, o);
  Device<char> ws(plan.workspace_size());
  int round = 0;
  std::vector<std::unique_ptr<Device<float>>> keep;  // every round's buffers, alive to the end
  std::vector<const float*> seen_x;
  for (int64_t B : {int64_t{6}, int64_t{6}, int64_t{6}, int64_t{2}, int64_t{6}}) {
    const int64_t T = 9;
    const rnn::Tensor x = testbed::random_tensor({T, B, 3}, 60 + round);
    const rnn::Tensor h0 = testbed::random_tensor({1, B, 40}, 70 + round);
    rnn::ForwardOptions cpu;
    cpu.device = rnn::Device::Reference;  // the oracle
    const auto ref = rnn::forward(model, x, &h0, nullptr, cpu);
    auto buffer = [&keep](const auto& init) -> Device<float>& {
      keep.push_back(std::make_unique<Device<float>>(init));
      return *keep.back();
    };
    Device<float>& d_x = buffer(x.values());
    Device<float>& d_h0 = buffer(h0.values());
    Device<float>& d_y = buffer(ref.y.values().size());
    Device<float>& d_hn = buffer(ref.h_n.values().size());
    EXPECT_EQ(std::count(seen_x.begin(), seen_x.end(), d_x.get()), 0) << "round " << round << " reuses a pointer";
    seen_x.push_back(d_x.get());
    CUDA_OK(rnn::kernels::launch_fill(d_y.get(), ref.y.values().size(), std::nanf(""), nullptr));
    CUDA_OK(rnn::kernels::launch_fill(d_hn.get(), ref.h_n.values().size(), std::nanf(""), nullptr));
    rnn::cuda::RunArgs a;
    a.steps = T;
    a.batch = B;
    a.x = d_x.get();
    a.h0 = d_h0.get();
    a.y = d_y.get();
    a.h_n = d_hn.get();
    plan.run(a, ws.get(), nullptr);
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_TRUE(testbed::close(rnn::Tensor(ref.y.shape(), d_y.host()), ref.y, 1e-5)) << "round " << round;
    EXPECT_TRUE(testbed::close(rnn::Tensor(ref.h_n.shape(), d_hn.host()), ref.h_n, 1e-5)) << "round " << round;
    ++round;
  }
}

TEST(GpuPlan, RunRejectsH0AndHnInOneBuffer) {
  SKIP_WITHOUT_GPU();
  rnn::cuda::PlanOptions o;
  o.max_steps = 4;
  o.max_batch = 2;
  rnn::cuda::Plan plan(rnn::Model::random(small_config(), 1), o);
  Device<float> x(4 * 2 * 3), y(4 * 2 * 8), state(2 * 8);
  Device<char> ws(plan.workspace_size());
  rnn::cuda::RunArgs a;
  a.steps = 4;
  a.batch = 2;
  a.x = x.get();
  a.y = y.get();
  a.h0 = state.get();
  a.h_n = state.get();
  try {
    plan.run(a, ws.get(), nullptr);
    ADD_FAILURE() << "no error";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "args");
    EXPECT_NE(e.message().find("overlap"), std::string::npos) << e.what();
  }
}

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
