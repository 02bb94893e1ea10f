// host/api/device.cpp: device names, parsing and resolution.
#include <string>

#include "engine/backend.hpp"
#include "rnn/device.hpp"

#include "cpu/fast.hpp"
#include "rnn/error.hpp"

#pragma weak rnn_cuda_backend_v1

namespace rnn {

const char* device_name(Device d) noexcept {
  switch (d) {
    case Device::Auto: return "auto";
    case Device::Cpu: return "cpu";
    case Device::Cuda: return "cuda";
    case Device::Reference: return "reference";
  }
  return "?";
}

Device parse_device(const std::string& s, const std::string& subject) {
  if (s == "auto") return Device::Auto;
  if (s == "cpu") return Device::Cpu;
  if (s == "cuda") return Device::Cuda;
  if (s == "reference") return Device::Reference;
  throw Error(subject, "unknown device '" + s + "' (expected auto, cpu, cuda or reference)");
}

namespace detail {

const CudaBackend* cuda_backend() noexcept {
  // Weak: null unless the program links the CUDA component (host/engine/backend.hpp).
  return rnn_cuda_backend_v1 ? rnn_cuda_backend_v1() : nullptr;
}

const CudaBackend& gpu() {
  const CudaBackend* b = cuda_backend();
  if (!b) throw Error("device", "cuda: this program has no CUDA backend (it links rnn::core, not rnn::cuda)");
  return *b;
}

namespace {

int device_count(std::string* why) {
  if (const CudaBackend* b = cuda_backend()) return b->device_count(why);
  if (why) *why = "built without CUDA";
  return 0;
}

}  // namespace

}  // namespace detail

bool cuda_compiled() noexcept { return detail::cuda_backend() != nullptr; }

int cuda_device_count() noexcept {
  std::string why;
  return detail::device_count(&why);
}

bool cuda_forward_available() noexcept { return cuda_compiled() && cuda_device_count() > 0; }

const char* kernel_name(Kernel k) noexcept {
  switch (k) {
    case Kernel::Auto: return "auto";
    case Kernel::Stepwise: return "stepwise";
    case Kernel::Persistent: return "persistent";
    case Kernel::Registers: return "registers";
    case Kernel::Gemm: return "gemm";
    case Kernel::Cluster: return "cluster";
  }
  return "?";
}

Kernel parse_kernel(const std::string& s, const std::string& subject) {
  if (s == "auto") return Kernel::Auto;
  if (s == "stepwise") return Kernel::Stepwise;
  if (s == "persistent") return Kernel::Persistent;
  if (s == "registers") return Kernel::Registers;
  if (s == "gemm") return Kernel::Gemm;
  if (s == "cluster") return Kernel::Cluster;
  throw Error(subject,
              "unknown kernel '" + s + "' (expected auto, stepwise, persistent, registers, gemm or cluster)");
}

int cpu_threads() noexcept { return cpu::fast::threads(); }

bool set_cpu_threads(int n) noexcept { return cpu::fast::set_threads(n); }

Device resolve_device(Device requested) {
  if (requested == Device::Cpu || requested == Device::Reference) return requested;
  if (requested == Device::Auto) return cuda_forward_available() ? Device::Cuda : Device::Cpu;
  if (!cuda_compiled())
    throw Error("device", "cuda: this build has no CUDA backend (it was configured without nvcc, or the program "
                          "links rnn::core alone)");
  std::string why;
  if (detail::device_count(&why) == 0) throw Error("device", "cuda: no usable CUDA device (" + why + ")");
  return Device::Cuda;
}


}  // namespace rnn
