// tests/host/test_fast_kernels.cpp: the fast CPU backend's step kernel and
// its packing (host/cpu/fast_kernels.hpp, step_kernels.hpp) against their
// definitions on fresh random inputs: the packed layout element by element
// (both panel widths where the CPU has them, sizes that are and are not
// multiples of a panel), whole-line alignment, and a step of 1 to 9 rows
// (1 row: the GEMV) against a double sum.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cpu/fast_kernels.hpp"
#include "cpu/step_kernels.hpp"
#include "testbed.hpp"

namespace {

using rnn::cpu::fast::Packed;

std::vector<float> random_floats(std::mt19937_64& rng, size_t n) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// The layout pack_panels documents: panel p holds W[pw p + j, kk] at
// p k pw + kk pw + j, zero past row n.
void expect_layout(const std::vector<float>& w, int64_t n, int64_t k, int pw, const float* got) {
  const int64_t panels = (n + pw - 1) / pw;
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < pw; ++j) {
        const int64_t row = p * pw + j;
        const float want = row < n ? w[static_cast<size_t>(row * k + kk)] : 0.0f;
        ASSERT_EQ(got[(p * k + kk) * pw + j], want) << "n " << n << " k " << k << " pw " << pw << " panel " << p
                                                    << " k " << kk << " lane " << j;
      }
}

struct Size {
  int64_t n, k;
};
const Size kSizes[] = {{1, 1}, {7, 3}, {8, 8}, {16, 16}, {17, 5}, {33, 40}, {64, 64}, {100, 37}};

TEST(FastKernelsPack, PanelsHoldTheDocumentedLayout) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  std::mt19937_64 rng(seed);
  for (const Size s : kSizes) {
    const std::vector<float> w = random_floats(rng, static_cast<size_t>(s.n * s.k));
    Packed out(3, 9.0f);  // stale contents: every value must be written
    rnn::cpu::fast::pack_panels(w.data(), s.n, s.k, out);
    const int pw = rnn::cpu::fast::panel_width();
    ASSERT_EQ(static_cast<int64_t>(out.size()), (s.n + pw - 1) / pw * s.k * pw);
    expect_layout(w, s.n, s.k, pw, out.data());
  }
}

TEST(FastKernelsPack, BothVectorWidthsMatchTheLayout) {
  if (!rnn::cpu::fast::have_avx2_fma()) GTEST_SKIP() << "no AVX2 + FMA on this CPU";
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  std::mt19937_64 rng(seed);
  for (const Size s : kSizes) {
    const std::vector<float> w = random_floats(rng, static_cast<size_t>(s.n * s.k));
    std::vector<float> out(static_cast<size_t>((s.n + 7) / 8 * s.k * 8), 9.0f);
    rnn::cpu::fast::pack_panels_avx2(w.data(), s.n, s.k, out.data());
    expect_layout(w, s.n, s.k, 8, out.data());
    if (!__builtin_cpu_supports("avx512f")) continue;
    out.assign(static_cast<size_t>((s.n + 15) / 16 * s.k * 16), 9.0f);
    rnn::cpu::fast::pack_panels_avx512(w.data(), s.n, s.k, out.data());
    expect_layout(w, s.n, s.k, 16, out.data());
  }
}

// The packed buffer starts on a cache line: with AVX-512 (panels of 16
// floats, 64 bytes) no vector load of it straddles two lines.
TEST(FastKernelsPack, PanelsStartOnWholeLines) {
  for (const Size s : kSizes) {
    Packed out;
    const std::vector<float> w(static_cast<size_t>(s.n * s.k), 0.5f);
    rnn::cpu::fast::pack_panels(w.data(), s.n, s.k, out);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(out.data()) % 64, 0u) << "n " << s.n << " k " << s.k;
  }
}

// C += A W^T through the packed kernel (and, for comparison, without a
// packing: BLAS) against the double sum, at 1 to 9 rows, on a slice of
// columns as a team's thread computes it.
TEST(FastKernelsStep, PackedStepMatchesADoubleSum) {
  const uint64_t seed = testbed::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (RNN_TEST_SEED replays it)");
  std::mt19937_64 rng(seed);
  for (const int64_t n : {5, 48, 130})
    for (int64_t m = 1; m <= 9; ++m) {
      const int64_t k = n + 3, ldc = n + 2;
      const std::vector<float> w = random_floats(rng, static_cast<size_t>(n * k)),
                               a = random_floats(rng, static_cast<size_t>(m * k)),
                               c0 = random_floats(rng, static_cast<size_t>(m * ldc));
      Packed packed;
      rnn::cpu::fast::pack_panels(w.data(), n, k, packed);
      for (const bool use_packed : {true, false}) {
        std::vector<float> c = c0;
        const float* wp = use_packed && rnn::cpu::fast::have_avx2_fma() ? packed.data() : nullptr;
        rnn::cpu::fast::step_gemm(m, n, k, a.data(), k, w.data(), wp, c.data(), ldc);
        for (int64_t r = 0; r < m; ++r)
          for (int64_t j = 0; j < ldc; ++j) {
            const size_t at = static_cast<size_t>(r * ldc + j);
            if (j >= n) {  // past the columns: untouched
              ASSERT_EQ(c[at], c0[at]);
              continue;
            }
            double want = c0[at], scale = std::fabs(c0[at]);
            for (int64_t kk = 0; kk < k; ++kk) {
              const double term = static_cast<double>(a[static_cast<size_t>(r * k + kk)]) * w[static_cast<size_t>(j * k + kk)];
              want += term;
              scale += std::fabs(term);
            }
            ASSERT_LT(std::fabs(c[at] - want), 1e-6 * scale)
                << (use_packed ? "packed" : "BLAS") << " n " << n << " m " << m << " row " << r << " col " << j;
          }
      }
    }
}

}  // namespace
