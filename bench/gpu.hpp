// bench/gpu.hpp: the runner's GPU half (bench/gpu.cpp, CUDA builds only).
#pragma once

#include <ostream>
#include <vector>

#include "bench.hpp"

namespace rnn::bench::detail {

// Name, peak FP32 rate, bandwidth and grid-barrier latency of the current device.
DeviceInfo gpu_info();
// Our three kernel choices and every cuDNN algorithm on one shape.
std::vector<Row> run_gpu_shape(const Shape& shape, const Options& options, const DeviceInfo& info, std::ostream& log);

// Random lengths in [T/2, T] (one equal to T) for a variable-length shape.
std::vector<int64_t> bench_lengths(const Shape& shape, uint64_t seed);
// Floors of one shape on `info`'s device; returns ms and sets *kind.
double floor_ms(const Shape& shape, double tokens, const DeviceInfo& info, std::string* kind);

}  // namespace rnn::bench::detail
