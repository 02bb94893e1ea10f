// tests/host/cuda/test_plan_api.cpp: rnn::cuda::Plan's own API against the
// CPU reference: the kernel Auto picks, a persistent kernel that does not
// fit, sizes beyond the plan and overlapping buffers refused, smaller
// batches and new pointers (the stepwise graph updated or recaptured),
// weights loaded from a flat device buffer, and the benchmark's timing
// variants. Every test skips, saying why, on a machine without a usable GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/fill.cuh"
#include "rnn/cuda.hpp"
#include "plan_helpers.hpp"
#include "testbed.hpp"

namespace {

using plan_test::Device;

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

}  // namespace
