// host/cuda/generate.cpp: the GPU half of rnn::generate: cuda::Stepper
// with the device buffer it is fed from, so that no caller of the host API
// handles device memory.
#include <cuda_runtime.h>

#include "gpu.hpp"
#include "buffer.hpp"
#include "check.hpp"
#include "rnn/cuda.hpp"

namespace rnn::detail {

using cuda_detail::DeviceBuffer;

std::vector<int64_t> cuda_generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                                   double temperature, uint64_t seed) {
  cuda::Stepper gpu(model, 1);
  DeviceBuffer index(sizeof(int32_t));
  auto put = [&index](int64_t i) {
    const int32_t v = static_cast<int32_t>(i);
    RNN_CUDA_CHECK(cudaMemcpy(index.get(), &v, sizeof v, cudaMemcpyHostToDevice));
  };
  for (size_t k = 0; k + 1 < prime.size(); ++k) {
    put(prime[k]);
    gpu.step_one_hot(index.as<int32_t>(), nullptr);
  }
  put(prime.back());
  std::vector<int64_t> out;
  const int32_t* next = index.as<int32_t>();
  for (int64_t n = 0; n < length; ++n) {
    next = gpu.step_and_sample(next, static_cast<float>(temperature), seed, nullptr);
    int32_t pick = 0;
    RNN_CUDA_CHECK(cudaMemcpy(&pick, next, sizeof pick, cudaMemcpyDeviceToHost));
    out.push_back(pick);
  }
  return out;
}

}  // namespace rnn::detail
