// tests/host/cuda/test_plan.cpp: the CUDA backend against the CPU reference.
//
// One table of cases (every feature, awkward sizes, long T, saturation) runs
// on every recurrence kernel through the device API: fresh random inputs,
// outputs poisoned with NaN before each run (an element a kernel forgets to
// write fails), relative error < 1e-5 against the double-accumulating CPU
// reference, and a second run bitwise identical to the first; and the host
// API on the GPU against PyTorch on every parity fixture. Every test skips,
// saying why, on a machine without a usable GPU. The Plan's own API:
// test_plan_api.cpp; plans run from several threads: test_plan_threads.cpp.
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/fill.cuh"
#include "rnn/cuda.hpp"
#include "case_table.hpp"
#include "plan_helpers.hpp"
#include "testbed.hpp"

namespace {

using case_table::Case;
using case_table::cases;
using case_table::lengths_for;
using case_table::model_for;
using plan_test::Device;

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
  if (kernel == rnn::Kernel::Cluster && c.H > 512) GTEST_SKIP() << "the cluster kernel holds H <= 512";

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
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent, rnn::Kernel::Registers,
                                                              rnn::Kernel::Gemm, rnn::Kernel::Cluster)),
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
                                            ::testing::Values(rnn::Kernel::Stepwise, rnn::Kernel::Persistent, rnn::Kernel::Registers,
                                                              rnn::Kernel::Gemm, rnn::Kernel::Cluster)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + rnn::kernel_name(std::get<1>(info.param));
                         });

}  // namespace
