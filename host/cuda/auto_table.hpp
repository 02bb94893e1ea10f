// host/cuda/auto_table.hpp: which recurrence kernel Kernel::Auto runs for a
// plan of max_batch B, hidden size H and max_steps T: the first row of
// kAutoTable whose bounds hold all three. Header-only and CUDA-free, so the
// CPU suite tests the choice (tests/host/test_auto_table.cpp).
//
// The rows are the design's estimate until a GPU record replaces them: the
// persistent kernel (W_hh on chip, one launch per layer) wherever it fits,
// else stepwise; the registers, gemm and cluster kernels are chosen by name only. No GPU run has
// measured them. bench/auto_table.py writes the rows from a record's
// bench.json (the fastest of our kernels at each shape, checked against the
// reference), and bench/device_check.sh leaves its proposal at the end of
// the record's bench.txt; a row that names a kernel which does not fit the plan
// falls back (cluster -> registers -> persistent -> stepwise; gemm -> persistent -> stepwise; the
// cluster, registers and gemm fits are judged in host/cuda/plan.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "rnn/device.hpp"

namespace rnn::cuda_detail {

struct AutoRow {
  int64_t max_batch, max_hidden, max_steps;  // inclusive bounds
  Kernel kernel;                             // Stepwise, Persistent, Registers, Gemm or Cluster
};

inline constexpr int64_t kAnySize = std::numeric_limits<int64_t>::max();

// BEGIN auto_table rows (bench/auto_table.py rewrites this block)
inline constexpr const char* kAutoTableSource = "the design's estimate; no GPU record yet";
inline constexpr AutoRow kAutoTable[] = {
    {kAnySize, kAnySize, kAnySize, Kernel::Persistent},
};
// END auto_table rows

// The kernel for B x H x T given which kernels fit the plan, from `rows`
// (n of them; kAutoTable by default).
inline Kernel auto_kernel(int64_t B, int64_t H, int64_t T, bool persistent_fits, bool registers_fit,
                          const AutoRow* rows = kAutoTable, size_t n = sizeof(kAutoTable) / sizeof(AutoRow)) {
  Kernel k = persistent_fits ? Kernel::Persistent : Kernel::Stepwise;
  for (size_t i = 0; i < n; ++i) {
    const AutoRow& r = rows[i];
    if (B > r.max_batch || H > r.max_hidden || T > r.max_steps) continue;
    k = r.kernel;
    break;
  }
  if (k == Kernel::Registers && !registers_fit) k = Kernel::Persistent;
  if (k == Kernel::Persistent && !persistent_fits) k = Kernel::Stepwise;
  return k;
}

}  // namespace rnn::cuda_detail
