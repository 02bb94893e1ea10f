// tests/host/test_auto_table.cpp: Kernel::Auto's choice
// (host/cuda/auto_table.hpp, CUDA-free): the table as shipped (the
// design's estimate: persistent wherever it fits, else stepwise), and a
// measured table's rows: a plan rounds up to the next measured shape, the
// last row takes what is larger, and a kernel that does not fit falls back
// registers -> persistent -> stepwise.
#include <gtest/gtest.h>

#include <string_view>

#include "cuda/auto_table.hpp"

namespace {

using rnn::Kernel;
using rnn::cuda_detail::AutoRow;
using rnn::cuda_detail::auto_kernel;
using rnn::cuda_detail::kAnySize;

TEST(AutoTable, ShippedTableIsPersistentWhereItFits) {
  // A table filled from a GPU record (bench/auto_table.py --write) says so
  // in its source; this test is about the design's estimate only.
  if (std::string_view(rnn::cuda_detail::kAutoTableSource).rfind("measured", 0) == 0)
    GTEST_SKIP() << "the table is measured: " << rnn::cuda_detail::kAutoTableSource;
  for (int64_t B : {1, 8, 64, 256, 100000})
    for (int64_t H : {1, 256, 2048, 8192}) {
      EXPECT_EQ(auto_kernel(B, H, 64, true, true), Kernel::Persistent) << B << " " << H;
      EXPECT_EQ(auto_kernel(B, H, 64, false, true), Kernel::Stepwise) << B << " " << H;
    }
}

TEST(AutoTable, MeasuredRowsRoundUpAndFallBack) {
  const AutoRow rows[] = {
      {8, 256, kAnySize, Kernel::Registers},  {64, 256, kAnySize, Kernel::Persistent},
      {8, 1024, kAnySize, Kernel::Persistent}, {64, 1024, 500, Kernel::Stepwise},
      {kAnySize, kAnySize, kAnySize, Kernel::Stepwise},
  };
  const size_t n = sizeof(rows) / sizeof(rows[0]);
  auto pick = [&](int64_t B, int64_t H, int64_t T, bool pf = true, bool rf = true) {
    return auto_kernel(B, H, T, pf, rf, rows, n);
  };
  EXPECT_EQ(pick(1, 100, 64), Kernel::Registers);     // rounds up to (8, 256)
  EXPECT_EQ(pick(8, 256, 64), Kernel::Registers);     // bounds are inclusive
  EXPECT_EQ(pick(9, 256, 64), Kernel::Persistent);    // (64, 256)
  EXPECT_EQ(pick(9, 257, 64), Kernel::Stepwise);      // (64, 1024)
  EXPECT_EQ(pick(9, 257, 501), Kernel::Stepwise);     // past T = 500: the last row
  EXPECT_EQ(pick(4, 300, 64), Kernel::Persistent);    // (8, 1024)
  EXPECT_EQ(pick(65, 100, 64), Kernel::Stepwise);     // larger than any measured B at H <= 256
  EXPECT_EQ(pick(1, 100, 64, true, false), Kernel::Persistent);   // registers does not fit
  EXPECT_EQ(pick(1, 100, 64, false, false), Kernel::Stepwise);    // nor persistent
  EXPECT_EQ(pick(4, 300, 64, false, true), Kernel::Stepwise);     // persistent does not fit
  EXPECT_EQ(auto_kernel(1, 1, 1, true, true, rows, 0), Kernel::Persistent);  // no rows: the rule
}

}  // namespace
