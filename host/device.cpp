// host/device.cpp: device names, parsing and resolution.
#include <string>

#include "backend.hpp"
#include "rnn/device.hpp"
#include "rnn/error.hpp"

namespace rnn {

const char* device_name(Device d) noexcept {
  switch (d) {
    case Device::Auto: return "auto";
    case Device::Cpu: return "cpu";
    case Device::Cuda: return "cuda";
  }
  return "?";
}

Device parse_device(const std::string& s, const std::string& subject) {
  if (s == "auto") return Device::Auto;
  if (s == "cpu") return Device::Cpu;
  if (s == "cuda") return Device::Cuda;
  throw Error(subject, "unknown device '" + s + "' (expected auto, cpu or cuda)");
}

bool cuda_compiled() noexcept {
#ifdef RNN_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() noexcept {
  std::string why;
  return detail::cuda_runtime_device_count(&why);
}

bool cuda_forward_available() noexcept { return cuda_compiled() && cuda_device_count() > 0; }

const char* kernel_name(Kernel k) noexcept {
  switch (k) {
    case Kernel::Auto: return "auto";
    case Kernel::Stepwise: return "stepwise";
    case Kernel::Persistent: return "persistent";
  }
  return "?";
}

Kernel parse_kernel(const std::string& s, const std::string& subject) {
  if (s == "auto") return Kernel::Auto;
  if (s == "stepwise") return Kernel::Stepwise;
  if (s == "persistent") return Kernel::Persistent;
  throw Error(subject, "unknown kernel '" + s + "' (expected auto, stepwise or persistent)");
}

Device resolve_device(Device requested) {
  if (requested == Device::Cpu) return Device::Cpu;
  if (requested == Device::Auto) return cuda_forward_available() ? Device::Cuda : Device::Cpu;
  if (!cuda_compiled()) throw Error("device", "cuda: this build has no CUDA backend (it was configured without nvcc)");
  std::string why;
  if (detail::cuda_runtime_device_count(&why) == 0) throw Error("device", "cuda: no usable CUDA device (" + why + ")");
  return Device::Cuda;
}

#ifndef RNN_HAVE_CUDA
namespace detail {
int cuda_runtime_device_count(std::string* why) noexcept {
  if (why) *why = "built without CUDA";
  return 0;
}
}  // namespace detail
#endif

}  // namespace rnn
