// host/io/limits.cpp: overflow-checked sizes and the host memory check.
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

// memory.max - memory.current of this process's cgroup (v2); 0 when there
// is no limit or it cannot be read.
uint64_t cgroup_left(bool& limited) {
  limited = false;
  std::ifstream cg("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  if (path.empty()) return 0;
  const std::string dir = "/sys/fs/cgroup" + (path == "/" ? std::string() : path);
  std::ifstream mx(dir + "/memory.max"), cur(dir + "/memory.current");
  std::string max_text;
  uint64_t current = 0;
  if (!(mx >> max_text) || max_text == "max" || !(cur >> current)) return 0;
  const uint64_t max = std::stoull(max_text);
  limited = true;
  return max > current ? max - current : 0;
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
    bool limited = false;
    const uint64_t in_cgroup = cgroup_left(limited);
    if (limited && in_cgroup < avail) avail = in_cgroup;
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

void refuse_host_bytes(uint64_t bytes, const std::string& subject, const std::string& what) {
  throw Error(subject, what + " needs " + byte_string(bytes) + " of host memory; " +
                           byte_string(host_memory_available()) + " are available");
}

uint64_t cpu_pass_bytes(const ModelConfig& c, int64_t T, int64_t B, bool backward, bool batch_first,
                        const std::string& subject) {
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
  // Bytes per (t, b) row, as host/cpu/reference.cpp and
  // reference_backward.cpp allocate them. Forward: a layer's input and
  // output in double (8 * widest + 8 * W), then y in float (4 * W).
  const uint64_t kept = backward ? mul(mul(8, W), static_cast<uint64_t>(c.num_layers)) : 0;  // the cache
  uint64_t forward_peak = add(kept, add(mul(8, widest), mul(12, W)));
  // Backward, after the forward temporaries are gone: the cache, y and dy
  // in float, dout in double (8 * W), din in double (8 * widest), x in
  // double (8 * I) and dx in float (4 * I).
  uint64_t backward_peak = backward ? add(kept, add(mul(16, W), add(mul(8, widest), mul(12, I)))) : 0;
  if (batch_first) {
    forward_peak = add(forward_peak, mul(4, add(I, W)));     // x and y transposed
    backward_peak = add(backward_peak, mul(8, add(I, W)));  // and dy, dx too
  }
  return mul(rows, forward_peak > backward_peak ? forward_peak : backward_peak);
}

}  // namespace rnn
