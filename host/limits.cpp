// host/limits.cpp: overflow-checked sizes and the host memory check.
#include "rnn/limits.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "rnn/error.hpp"

namespace rnn {

namespace {

// "MemAvailable:   12345 kB" from /proc/meminfo; 0 when unreadable.
uint64_t mem_available() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

// Bytes this process maps now (VmSize); 0 when unreadable.
uint64_t mapped_now() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmSize:", 0) == 0) {
      std::istringstream s(line.substr(7));
      uint64_t kb = 0;
      s >> kb;
      return kb * 1024;
    }
  return 0;
}

}  // namespace

uint64_t host_memory_available() noexcept {
  try {
    uint64_t avail = mem_available();
    if (avail == 0) avail = std::numeric_limits<uint64_t>::max();
    rlimit lim{};
    if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
      const uint64_t used = mapped_now();
      const uint64_t left = lim.rlim_cur > used ? lim.rlim_cur - used : 0;
      if (left < avail) avail = left;
    }
    return avail;
  } catch (...) {
    return std::numeric_limits<uint64_t>::max();
  }
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& subject) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    throw Error(subject, "size too large: " + std::to_string(a) + " x " + std::to_string(b) + " overflows 64 bits");
  return r;
}

std::string byte_string(uint64_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (bytes >= (uint64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1u << 30));
  else if (bytes >= (uint64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1u << 20));
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

void check_host_bytes(uint64_t bytes, const std::string& subject, const std::string& what) {
  const uint64_t avail = host_memory_available();
  if (bytes > avail)
    throw Error(subject, what + " needs " + byte_string(bytes) + " of host memory; " + byte_string(avail) +
                             " are available");
}

uint64_t cpu_pass_bytes(const ModelConfig& c, int64_t T, int64_t B, bool backward, const std::string& subject) {
  auto mul = [&](uint64_t a, uint64_t b) { return checked_mul(a, b, subject); };
  auto add = [&](uint64_t a, uint64_t b) {
    uint64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) throw Error(subject, "size too large: overflows 64 bits");
    return r;
  };
  const uint64_t rows = mul(static_cast<uint64_t>(T), static_cast<uint64_t>(B));
  const uint64_t I = static_cast<uint64_t>(c.input_size);
  const uint64_t W = mul(static_cast<uint64_t>(c.num_directions()), static_cast<uint64_t>(c.hidden_size));
  const uint64_t widest = I > W ? I : W;
  // Forward: the input in double, two layer outputs in double, y and a
  // batch-first copy of x and y in float.
  uint64_t per_row = add(mul(8, add(widest, mul(2, W))), mul(4, add(mul(2, W), I)));
  if (backward) {
    // Every layer's outputs kept in double, their gradients in double, dx
    // and dy in float.
    const uint64_t kept = mul(mul(8, W), static_cast<uint64_t>(c.num_layers));
    per_row = add(per_row, add(kept, add(mul(16, widest), mul(8, add(I, W)))));
  }
  return mul(rows, per_row);
}

}  // namespace rnn
