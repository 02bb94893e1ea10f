// rnn/limits.hpp: the largest shapes the engine accepts, and the memory
// checks made before anything large is allocated.
//
// Every size computation in the library is checked for overflow. Shapes
// beyond the maxima below, or whose buffers would not fit in the memory
// this process can use, are refused with rnn::Error naming the argument
// and the figures, before any allocation: never std::bad_alloc, never a
// CUDA out-of-memory abort. The CUDA path adds its own 32-bit limit:
// T * B * D * H and I * D * H each below 2^31 (cuBLAS and kernel indices).
#pragma once

#include <cstdint>
#include <string>

#include "rnn/model.hpp"

namespace rnn {

namespace limits {
inline constexpr int64_t kMaxHidden = int64_t{1} << 16;     // H: 65,536
inline constexpr int64_t kMaxInput = int64_t{1} << 24;      // I: 16,777,216
inline constexpr int64_t kMaxOutput = int64_t{1} << 24;     // O (the head): 16,777,216
inline constexpr int64_t kMaxLayers = 1024;                 // L
inline constexpr int64_t kMaxSteps = (int64_t{1} << 31) - 1;  // T: 2,147,483,647
inline constexpr int64_t kMaxBatch = (int64_t{1} << 31) - 1;  // B: 2,147,483,647
}  // namespace limits

// Bytes of memory this process can still allocate: the smallest of the
// kernel's MemAvailable, the cgroup v2 limit less the cgroup's current use
// (memory.max - memory.current, in containers), and the address-space limit
// (RLIMIT_AS) less what the process already maps. Where none can be read, a
// very large value. A snapshot: other threads and processes may take memory
// after it is read.
uint64_t host_memory_available() noexcept;

// a * b, or throws rnn::Error(subject, "... too large") on overflow
// (operands must be >= 0).
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& subject);

// Requests below this size skip the memory check (it reads /proc; small
// buffers are what every training step makes).
inline constexpr uint64_t kMemoryCheckFrom = uint64_t{64} << 20;  // 64 MiB

// Throws rnn::Error(subject, "<what> needs N GiB of host memory; M GiB
// are available").
[[noreturn]] void refuse_host_bytes(uint64_t bytes, const std::string& subject, const std::string& what);

// Refuses `bytes` (from kMemoryCheckFrom up) when they exceed
// host_memory_available(); what() names the request and is called only
// then, so callers pay nothing for the message.
template <class What>
void check_host_bytes(uint64_t bytes, const std::string& subject, What&& what) {
  if (bytes >= kMemoryCheckFrom && bytes > host_memory_available()) refuse_host_bytes(bytes, subject, what());
}

// Peak host bytes the CPU reference allocates for a forward pass (or, with
// `backward`, a forward pass keeping every layer's outputs and then the
// backward pass) over T steps of B sequences, outputs included; with
// `batch_first`, the layout copies too. Within a few percent of the real
// peak (per-sequence scratch of O(H) is left out; the backward estimate is
// about 20% above it), overflow checked: throws
// rnn::Error(subject, ...) when not even representable. The fast CPU
// backend (float) needs less; the same figure bounds it.
uint64_t cpu_pass_bytes(const ModelConfig& config, int64_t T, int64_t B, bool backward, bool batch_first,
                        const std::string& subject);

// "1.50 GiB", "12.0 MiB", "512 bytes"
std::string byte_string(uint64_t bytes);

}  // namespace rnn
