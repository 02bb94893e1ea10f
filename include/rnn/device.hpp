// rnn/device.hpp: where a computation runs.
#pragma once

#include <string>

namespace rnn {

enum class Device {
  Auto,       // a GPU when one is usable, else the CPU
  Cpu,        // the fast CPU backend (float32, BLAS and its own step kernel; threads: cpu_threads())
  Cuda,       // the CUDA backend
  Reference,  // the CPU reference backend (double accumulation): the oracle every other is checked against
};

// Which recurrence kernel the CUDA backend runs (ignored on the CPU).
enum class Kernel {
  Auto,        // the kernel a table by the plan's B, H and T names (host/cuda/auto_table.hpp):
               // until a GPU record fills it, the persistent kernel where W_hh fits on chip, else
               // stepwise
  Stepwise,    // one launch per step, replayed as a CUDA graph
  Persistent,  // one cooperative launch per layer, W_hh kept on chip (in shared memory)
  Registers,   // the persistent kernel's second generation: W_hh held in registers, only h_prev
               // through shared memory (H <= 1024); selected by name only until a GPU record
               // shows it ahead (its backward pass runs its twin, W_hh^T in registers)
  Gemm,        // for large batches: each step one cuBLAS SGEMM over the whole batch, then an
               // elementwise kernel (bias, projection, activation); B <= 65535; selected by name
               // only until a GPU record shows it ahead (its backward pass runs stepwise)
  Cluster,     // thread-block clusters (sm_90): W_hh spread over a cluster's blocks in registers,
               // the states exchanged through distributed shared memory, a cluster barrier per
               // step instead of a grid-wide one (H <= 512); selected by name only until a GPU
               // record shows it ahead (its backward pass runs the registers twin)
};

// "auto" / "stepwise" / "persistent" / "registers" / "gemm" / "cluster"
const char* kernel_name(Kernel k) noexcept;
// Parses "auto", "stepwise", "persistent", "registers", "gemm" or "cluster"; throws rnn::Error(subject, ...) otherwise.
Kernel parse_kernel(const std::string& s, const std::string& subject = "kernel");

// "auto" / "cpu" / "cuda" / "reference"
const char* device_name(Device d) noexcept;
// Parses "auto", "cpu", "cuda" or "reference"; throws rnn::Error(subject, ...) otherwise.
Device parse_device(const std::string& s, const std::string& subject = "device");

// The threads of the fast CPU backend (Device::Cpu): RNN_NUM_THREADS when
// set to a positive number, else the cores this process may use (its
// affinity mask, capped by a cgroup v2 CPU quota). Read once, on the first
// call or the first pass; set the variable before either. Results are the
// same bits run after run at a given count, and agree within float rounding
// across counts.
int cpu_threads() noexcept;
// Chooses the fast CPU backend's thread count (n >= 1) before its first
// pass, as RNN_NUM_THREADS does at start-up; afterwards the count is fixed,
// and this returns true only when n is the count in use. False for n < 1.
bool set_cpu_threads(int n) noexcept;

// True when this build has the CUDA backend compiled in.
bool cuda_compiled() noexcept;
// Number of CUDA devices usable by this process (0 without CUDA or a GPU).
int cuda_device_count() noexcept;
// True when the CUDA backend can run the forward pass here: compiled in and
// a device present.
bool cuda_forward_available() noexcept;

// Auto -> Cuda when cuda_forward_available(), else Cpu. Cpu -> Cpu,
// Reference -> Reference. Cuda -> Cuda, or rnn::Error("device", reason)
// when the CUDA backend cannot run.
Device resolve_device(Device requested);

}  // namespace rnn
