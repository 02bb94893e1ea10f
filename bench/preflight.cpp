// bench/preflight.cpp: rnn_preflight, the first seconds of a GPU check.
//
// Prints one JSON object on stdout describing what the device check is
// about to measure: the GPU (name, multiprocessors, compute capability,
// memory, L2, clocks), the driver and runtime versions, cooperative-launch
// support and the opt-in shared memory per block (what the persistent
// kernel needs), the cuBLAS and cuDNN libraries actually loaded (version
// and file), and one tiny forward pass per recurrence kernel (stepwise,
// persistent) checked against the CPU reference (2 layers, bidirectional,
// H = 64, lengths and h0; relative error below 1e-5 passes).
//
// Exit status: 0 when a GPU was found and both kernels passed; 1 when a
// kernel failed or disagreed; 2 when no usable CUDA device was found (the
// JSON then says why in "error"). It never throws past main.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "rnn/rnn.hpp"

#ifdef RNN_BENCH_CUDNN
#include <cudnn.h>
#endif

namespace {

// The file a symbol was loaded from (the library actually in use).
std::string library_of(const void* symbol) {
  Dl_info info{};
  if (symbol && dladdr(symbol, &info) && info.dli_fname) return info.dli_fname;
  return "unknown";
}

std::string version_string(int v) {  // CUDA's 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

double rel_err(const rnn::Tensor& a, const rnn::Tensor& b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

// One tiny forward pass with `kernel` against the CPU reference.
nlohmann::json tiny_forward(rnn::Kernel kernel) {
  nlohmann::json j;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    rnn::ModelConfig cfg;
    cfg.input_size = 24;
    cfg.hidden_size = 64;
    cfg.num_layers = 2;
    cfg.bidirectional = true;
    std::random_device fresh;
    const rnn::Model model = rnn::Model::random(cfg, fresh());
    const int64_t T = 9, B = 3;
    rnn::Tensor x({T, B, cfg.input_size}), h0({4, B, cfg.hidden_size});
    std::mt19937_64 gen(fresh());
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = u(gen);
    for (int64_t i = 0; i < h0.numel(); ++i) h0[i] = u(gen);
    const std::vector<int64_t> lengths = {T, 4, 7};
    rnn::ForwardOptions cpu, gpu;
    cpu.device = rnn::Device::Cpu;
    gpu.device = rnn::Device::Cuda;
    gpu.kernel = kernel;
    const rnn::ForwardResult want = rnn::forward(model, x, &h0, &lengths, cpu);
    const rnn::ForwardResult got = rnn::forward(model, x, &h0, &lengths, gpu);
    const double ey = rel_err(got.y, want.y), eh = rel_err(got.h_n, want.h_n);
    j["rel_err_y"] = ey;
    j["rel_err_h_n"] = eh;
    j["status"] = ey < 1e-5 && eh < 1e-5 ? "pass" : "fail: relative error above 1e-5";
  } catch (const std::exception& e) {
    j["status"] = std::string("fail: ") + e.what();
  }
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return j;
}

// The device count, driver and runtime versions and the cudart loaded;
// false (the JSON's "error" says why) when no usable CUDA device was found.
bool describe_runtime(nlohmann::json& j) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  j["devices"] = err == cudaSuccess ? count : 0;
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  j["driver_cuda_version"] = driver ? version_string(driver) : "none";
  j["runtime_version"] = version_string(runtime);
  j["cudart"] = library_of(reinterpret_cast<const void*>(&cudaRuntimeGetVersion));
  if (err != cudaSuccess || count == 0) {
    j["error"] = std::string("no usable CUDA device: ") +
                 (err != cudaSuccess ? cudaGetErrorString(err) : "cudaGetDeviceCount found none");
    cudaGetLastError();
    return false;
  }
  return true;
}

// Device 0: its name, compute capability, memory, clocks and the limits the
// persistent kernel needs; false (with "error") when its properties cannot be read.
bool describe_gpu(nlohmann::json& j) {
  cudaDeviceProp prop{};
  const cudaError_t err = cudaGetDeviceProperties(&prop, 0);
  if (err != cudaSuccess) {
    j["error"] = std::string("no usable CUDA device: cudaGetDeviceProperties: ") + cudaGetErrorString(err);
    return false;
  }
  auto attr = [](cudaDeviceAttr a) {
    int v = 0;
    cudaDeviceGetAttribute(&v, a, 0);
    return v;
  };
  j["gpu"] = prop.name;
  j["compute_capability"] = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  j["sm_count"] = prop.multiProcessorCount;
  j["memory_gib"] = static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
  j["l2_bytes"] = prop.l2CacheSize;
  j["sm_clock_mhz"] = attr(cudaDevAttrClockRate) / 1000;
  j["memory_clock_mhz"] = attr(cudaDevAttrMemoryClockRate) / 1000;
  j["cooperative_launch"] = attr(cudaDevAttrCooperativeLaunch) != 0;
  j["smem_per_block_optin"] = attr(cudaDevAttrMaxSharedMemoryPerBlockOptin);
  j["smem_per_sm"] = attr(cudaDevAttrMaxSharedMemoryPerMultiprocessor);
  j["registers_per_sm"] = attr(cudaDevAttrMaxRegistersPerMultiprocessor);
  return true;
}

// cuBLAS: the version and the file the dynamic loader chose.
nlohmann::json cublas_library() {
  nlohmann::json cublas;
  cublasHandle_t handle = nullptr;
  if (cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS) {
    int v = 0;
    cublasGetVersion(handle, &v);
    cublas["version"] = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
    cublasDestroy(handle);
  } else {
    cublas["version"] = "cublasCreate failed";
  }
  cublas["path"] = library_of(reinterpret_cast<const void*>(&cublasCreate_v2));
  return cublas;
}

// cuDNN: the version and file, or why it is not built in.
nlohmann::json cudnn_library() {
  nlohmann::json cudnn;
#ifdef RNN_BENCH_CUDNN
  const size_t v = cudnnGetVersion();
  cudnn["version"] = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  cudnn["path"] = library_of(reinterpret_cast<const void*>(&cudnnGetVersion));
#else
  cudnn["version"] = "not built in (configure found no cuDNN: set CUDNN_ROOT)";
#endif
  return cudnn;
}

// Fills `j`; returns the exit status (see the top of the file).
int preflight(nlohmann::json& j) {
  if (!describe_runtime(j)) return 2;
  if (!describe_gpu(j)) return 2;
  j["cublas"] = cublas_library();
  j["cudnn"] = cudnn_library();

  nlohmann::json fwd;
  fwd["stepwise"] = tiny_forward(rnn::Kernel::Stepwise);
  fwd["persistent"] = tiny_forward(rnn::Kernel::Persistent);
  j["tiny_forward"] = fwd;
  const bool ok = fwd["stepwise"]["status"] == "pass" && fwd["persistent"]["status"] == "pass";
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json j;
  int rc = 1;
  try {
    rc = preflight(j);
  } catch (const std::exception& e) {
    j["error"] = std::string("preflight failed: ") + e.what();
  }
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << j.dump() << std::endl;
  return rc;
}
