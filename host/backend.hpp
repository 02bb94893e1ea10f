// host/backend.hpp: what the host side knows of the CUDA backend.
//
// host/device.cpp is compiled in every build; the functions below are
// implemented by host/cuda/runtime.cpp when CUDA is enabled, and by the
// CPU-only stubs at the end of host/device.cpp otherwise.
#pragma once

#include <string>

namespace rnn::detail {

// Number of usable CUDA devices; on 0, *why says why (no driver, no device).
int cuda_runtime_device_count(std::string* why) noexcept;

}  // namespace rnn::detail
