// tests/host/cuda/test_backward_gpu.cpp: the CUDA backward pass against the
// CPU reference backward, through the device API: every feature, every
// forward kernel (and the backward kernel it hands over to), outputs poisoned with NaN before each run, relative error < 1e-5,
// a second run (in two halves: forward_for_backward, backward_after_forward)
// bitwise identical to the first; and on every PyTorch autograd fixture
// through the host API; the host API's kept plans running each call's own
// weights at its own sizes. Skips without a usable GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "kernels/fill.cuh"
#include "rnn/cuda.hpp"
#include "case_table.hpp"
#include "testbed.hpp"

namespace {

bool have_gpu() { return rnn::cuda_device_count() > 0; }

// A case of the shared table (tests/case_table.hpp) and the variants of the
// backward call itself.
struct BCase : case_table::Case {
  bool dhn = true;                       // a gradient arrives at h_n too
  bool want_dx = true, want_dh0 = true;  // null dx / dh0: not computed
};

BCase variant(const std::string& of, const std::string& name) {
  for (const case_table::Case& c : case_table::cases())
    if (c.name == of) {
      BCase b;
      static_cast<case_table::Case&>(b) = c;
      b.name = name;
      return b;
    }
  ADD_FAILURE() << "no case " << of << " in the table";
  return BCase{};
}

std::vector<BCase> bcases() {
  std::vector<BCase> out;
  for (const case_table::Case& c : case_table::cases()) {
    BCase b;
    static_cast<case_table::Case&>(b) = c;
    out.push_back(b);
  }
  BCase v = variant("bidir_L2_h0", "no_dx_no_dh0");
  v.want_dx = v.want_dh0 = false;
  out.push_back(v);
  v = variant("varlen_bidir_L2_batch_first", "batch_first_run_smaller_than_plan");
  v.plan_extra = 3;
  out.push_back(v);
  v = variant("varlen_unsorted", "varlen_no_dhn");
  v.dhn = false;
  out.push_back(v);
  v = variant("relu_h0", "relu_no_dhn");
  v.dhn = false;
  out.push_back(v);
  return out;
}

class GpuBackward : public ::testing::TestWithParam<std::tuple<BCase, rnn::Kernel>> {};

std::vector<float> host(const float* d, size_t n) {
  std::vector<float> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

float* upload(const rnn::Tensor& t) {
  float* d = nullptr;
  EXPECT_EQ(cudaMalloc(&d, std::max<size_t>(t.values().size(), 1) * sizeof(float)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d, t.data(), t.values().size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}

float* alloc(size_t n) {
  float* d = nullptr;
  EXPECT_EQ(cudaMalloc(&d, std::max<size_t>(n, 1) * sizeof(float)), cudaSuccess);
  return d;
}

TEST_P(GpuBackward, MatchesCpuReferenceAndIsDeterministic) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  const BCase& c = std::get<0>(GetParam());
  const rnn::Kernel kernel = std::get<1>(GetParam());
  const rnn::Model model = case_table::model_for(c, 500 + c.H);
  const rnn::ModelConfig& cfg = model.config();
  std::string why;
  if (kernel == rnn::Kernel::Persistent && !rnn::cuda::persistent_fits(cfg, c.B, &why)) GTEST_SKIP() << why;
  if (kernel == rnn::Kernel::Registers && c.H > 1024) GTEST_SKIP() << "the registers kernel holds H <= 1024";
  if (kernel == rnn::Kernel::Cluster && c.H > 512) GTEST_SKIP() << "the cluster kernel holds H <= 512";
  const int64_t D = c.bidir ? 2 : 1;
  auto shape = [&](int64_t w) {
    return c.batch_first ? std::vector<int64_t>{c.B, c.T, w} : std::vector<int64_t>{c.T, c.B, w};
  };
  rnn::Tensor x = testbed::random_tensor(shape(c.I), 31 + c.T, c.x_scale);
  const rnn::Tensor h0 = testbed::random_tensor({c.L * D, c.B, c.H}, 32, 0.5f);
  const rnn::Tensor dy = testbed::random_tensor(shape(D * c.H), 33);
  const rnn::Tensor dhn = testbed::random_tensor({c.L * D, c.B, c.H}, 34);
  std::vector<int64_t> lengths(static_cast<size_t>(c.B), c.T);
  for (int64_t b = 0; b < c.B; ++b) lengths[b] = 1 + (b * 7 + 3) % c.T;
  lengths[c.B / 2] = c.T;
  rnn::Tensor x_ref = x;
  if (c.nan_padding) {  // the CPU reference never reads the padding; the GPU must not either
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t t = lengths[b]; t < c.T; ++t)
        for (int64_t k = 0; k < c.I; ++k) x[((c.batch_first ? b * c.T + t : t * c.B + b)) * c.I + k] = std::nanf("");
  }

  // The oracle, computed once per case for all the kernels checked against
  // it (its inputs depend on the case alone; at H = 2048 it takes seconds).
  static std::map<std::string, rnn::BackwardResult> oracle;
  auto known = oracle.find(c.name);
  if (known == oracle.end()) {
    rnn::ForwardOptions cpu;
    cpu.device = rnn::Device::Reference;
    cpu.batch_first = c.batch_first;
    known = oracle
                .emplace(c.name, rnn::backward(model, x_ref, c.h0 ? &h0 : nullptr, c.lengths ? &lengths : nullptr, dy,
                                               c.dhn ? &dhn : nullptr, cpu))
                .first;
  }
  const rnn::BackwardResult& ref = known->second;

  rnn::cuda::PlanOptions o;
  o.max_steps = c.T + c.plan_extra;
  o.max_batch = c.B + c.plan_extra;
  o.batch_first = c.batch_first;
  o.kernel = kernel;
  rnn::cuda::Plan plan(model, o);
  ASSERT_EQ(plan.kernel(), kernel);
  // The backward recurrence's kernel: the forward's (its twin, with the
  // same shape, after a registers forward), the registers twin after a
  // cluster forward, stepwise after a gemm forward.
  rnn::Kernel want_backward = kernel;
  if (kernel == rnn::Kernel::Gemm) want_backward = rnn::Kernel::Stepwise;
  if (kernel == rnn::Kernel::Cluster) want_backward = rnn::Kernel::Registers;
  if (plan.backward_kernel() != want_backward) {
    // The backward twins keep W_hh^T on chip as the forward kernels keep
    // W_hh: up to H = 1024 they must fit wherever the forward kernel does;
    // above, the persistent one may not.
    ASSERT_GT(c.H, 1024) << "the backward kernel fell back to " << rnn::kernel_name(plan.backward_kernel());
    GTEST_SKIP() << "the persistent backward kernel does not hold H = " << c.H << " at B = " << c.B;
  }
  ASSERT_EQ(plan.gradient_count(), static_cast<size_t>(ref.grads.parameter_count()));
  float *d_x = upload(x), *d_h0 = upload(h0), *d_dy = upload(dy), *d_dhn = upload(dhn);
  const std::vector<int32_t> len32(lengths.begin(), lengths.end());
  int32_t* d_len = nullptr;
  ASSERT_EQ(cudaMalloc(&d_len, len32.size() * sizeof(int32_t)), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_len, len32.data(), len32.size() * sizeof(int32_t), cudaMemcpyHostToDevice), cudaSuccess);
  float *d_y = alloc(ref.y.values().size()), *d_dx = alloc(x.values().size()), *d_dh0 = alloc(h0.values().size()),
        *d_g = alloc(plan.gradient_count());
  void* ws = nullptr;
  ASSERT_EQ(cudaMalloc(&ws, plan.backward_workspace_size()), cudaSuccess);

  rnn::cuda::RunArgs a;
  a.steps = c.T;
  a.batch = c.B;
  a.x = d_x;
  a.h0 = c.h0 ? d_h0 : nullptr;
  a.lengths = c.lengths ? d_len : nullptr;
  a.y = d_y;
  rnn::cuda::BackwardArgs g;
  g.dy = d_dy;
  g.dh_n = c.dhn ? d_dhn : nullptr;
  g.dx = c.want_dx ? d_dx : nullptr;
  g.dh0 = c.want_dh0 ? d_dh0 : nullptr;
  g.grads = d_g;
  std::vector<float> first, first_rest;
  for (int run = 0; run < 2; ++run) {
    for (auto [p, n] : {std::pair<float*, size_t>{d_y, ref.y.values().size()}, {d_dx, x.values().size()},
                        {d_dh0, h0.values().size()}, {d_g, plan.gradient_count()}})
      ASSERT_EQ(rnn::kernels::launch_fill(p, n, std::nanf(""), nullptr), cudaSuccess);
    if (run == 0) {
      plan.backward(a, g, ws, nullptr);
    } else {  // the same pass in its two halves
      plan.forward_for_backward(a, ws, nullptr);
      plan.backward_after_forward(a, g, ws, nullptr);
    }
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const std::vector<float> y = host(d_y, ref.y.values().size()), dx = host(d_dx, x.values().size()),
                             dh0 = host(d_dh0, h0.values().size());
    EXPECT_TRUE(testbed::close(rnn::Tensor(ref.y.shape(), y), ref.y, 1e-5)) << "y";
    if (c.want_dx) EXPECT_TRUE(testbed::close(rnn::Tensor(x.shape(), dx), ref.dx, 1e-5)) << "dx";
    if (c.want_dh0) EXPECT_TRUE(testbed::close(rnn::Tensor(h0.shape(), dh0), ref.dh0, 1e-5)) << "dh0";
    std::vector<float> rest = y;
    if (c.want_dx) rest.insert(rest.end(), dx.begin(), dx.end());
    if (c.want_dh0) rest.insert(rest.end(), dh0.begin(), dh0.end());
    const std::vector<float> flat = host(d_g, plan.gradient_count());
    size_t at = 0;
    for (const auto& [name, t] : ref.grads.parameters()) {
      const rnn::Tensor got(t->shape(), std::vector<float>(flat.begin() + at, flat.begin() + at + t->numel()));
      EXPECT_TRUE(testbed::close(got, *t, 1e-5)) << name << ", run " << run;
      at += static_cast<size_t>(t->numel());
    }
    if (run == 0) {
      first = flat;
      first_rest = rest;
    } else {
      EXPECT_EQ(flat, first) << "the two halves' gradients differ from backward()'s";
      EXPECT_EQ(rest, first_rest) << "the two halves' y, dx or dh0 differ from backward()'s";
    }
  }
  for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_h0), static_cast<void*>(d_dy),
                  static_cast<void*>(d_dhn), static_cast<void*>(d_len), static_cast<void*>(d_y),
                  static_cast<void*>(d_dx), static_cast<void*>(d_dh0), static_cast<void*>(d_g), ws})
    cudaFree(p);
}

INSTANTIATE_TEST_SUITE_P(Table, GpuBackward,
                         ::testing::Combine(::testing::ValuesIn(bcases()),
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent, rnn::Kernel::Registers,
                                                              rnn::Kernel::Gemm, rnn::Kernel::Cluster)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" + rnn::kernel_name(std::get<1>(info.param));
                         });

// The host API's backward on the GPU against every PyTorch autograd fixture.
class GpuGradParity : public ::testing::TestWithParam<std::tuple<std::string, rnn::Kernel>> {};

TEST_P(GpuGradParity, HostApiOnCudaMatchesAutograd) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  const testbed::FixtureCase c("grad/" + std::get<0>(GetParam()));
  const auto r = rnn::backward(c.model, c.x, c.h0_ptr(), c.lengths_ptr(), c.dy, c.dhn_ptr(),
                               c.options(rnn::Device::Cuda, std::get<1>(GetParam())));
  EXPECT_EQ(r.device, rnn::Device::Cuda);
  EXPECT_TRUE(testbed::close(r.dx, c.expected("expected_dx.npy"), 1e-5));
  if (c.has_h0) EXPECT_TRUE(testbed::close(r.dh0, c.expected("expected_dh0.npy"), 1e-5));
  const rnn::TensorFile expected = rnn::read_safetensors(c.dir + "expected_grads.safetensors");
  for (const auto& [name, t] : r.grads.parameters()) {
    const rnn::Tensor* e = expected.find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_TRUE(testbed::close(*t, *e, 1e-5)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GpuGradParity,
                         ::testing::Combine(::testing::ValuesIn(testbed::case_names("grad")),
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent, rnn::Kernel::Registers,
                                                              rnn::Kernel::Gemm, rnn::Kernel::Cluster)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + rnn::kernel_name(std::get<1>(info.param));
                         });

}  // namespace

// The host API on the GPU keeps its plans between calls (one per device,
// RNN configuration, kernel and layout, grown to the largest T and B seen)
// and loads each call's weights into the one it takes: models of the same
// configuration, one after another, at sizes that grow and shrink, each
// forward and backward pass against the reference on that model's weights.
TEST(GpuKeptPlans, EachCallRunsItsOwnWeightsAtItsOwnSizes) {
  if (!have_gpu()) GTEST_SKIP() << "no usable CUDA device on this machine";
  rnn::ModelConfig c;
  c.input_size = 5;
  c.hidden_size = 7;
  c.num_layers = 2;
  c.bidirectional = true;
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("RNN_TEST_SEED=" + std::to_string(seed));
  const rnn::Model a = rnn::Model::random(c, seed), b = rnn::Model::random(c, seed + 1);
  rnn::ForwardOptions gpu, ref;
  gpu.device = rnn::Device::Cuda;
  ref.device = rnn::Device::Reference;
  struct Call {
    const rnn::Model* model;
    int64_t T, B;
    bool backward;
  };
  const std::vector<Call> calls = {{&a, 6, 3, false}, {&b, 6, 3, false}, {&a, 9, 5, true}, {&b, 4, 2, true},
                                   {&a, 4, 2, false}, {&b, 9, 5, false}, {&a, 12, 1, true}};
  uint64_t k = seed + 2;
  for (const Call& call : calls) {
    SCOPED_TRACE("model " + std::string(call.model == &a ? "a" : "b") + ", T=" + std::to_string(call.T) +
                 ", B=" + std::to_string(call.B));
    const rnn::Tensor x = testbed::random_tensor({call.T, call.B, c.input_size}, ++k);
    const rnn::Tensor h0 = testbed::random_tensor({c.num_layers * 2, call.B, c.hidden_size}, ++k, 0.5f);
    std::vector<int64_t> lengths(static_cast<size_t>(call.B), call.T);
    if (call.B > 1) lengths[1] = call.T - 1;
    if (!call.backward) {
      const rnn::ForwardResult g = rnn::forward(*call.model, x, &h0, &lengths, gpu);
      const rnn::ForwardResult r = rnn::forward(*call.model, x, &h0, &lengths, ref);
      ASSERT_EQ(g.device, rnn::Device::Cuda);
      EXPECT_TRUE(testbed::close(g.y, r.y, 1e-5));
      EXPECT_TRUE(testbed::close(g.h_n, r.h_n, 1e-5));
      continue;
    }
    const rnn::Tensor dy = testbed::random_tensor({call.T, call.B, 2 * c.hidden_size}, ++k);
    const rnn::BackwardResult g = rnn::backward(*call.model, x, &h0, &lengths, dy, nullptr, gpu);
    const rnn::BackwardResult r = rnn::backward(*call.model, x, &h0, &lengths, dy, nullptr, ref);
    ASSERT_EQ(g.device, rnn::Device::Cuda);
    EXPECT_TRUE(testbed::close(g.y, r.y, 1e-5));
    EXPECT_TRUE(testbed::close(g.dx, r.dx, 1e-5));
    EXPECT_TRUE(testbed::close(g.dh0, r.dh0, 1e-5));
    for (const auto& [name, t] : r.grads.parameters()) {
      SCOPED_TRACE(name);
      const auto got = g.grads.parameters();
      const auto it = std::find_if(got.begin(), got.end(), [&](const auto& p) { return p.first == name; });
      ASSERT_NE(it, got.end());
      EXPECT_TRUE(testbed::close(*it->second, *t, 1e-5));
    }
  }
}
