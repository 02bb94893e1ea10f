// kernels/step.cuh: one time step of a unidirectional model, every layer,
// the head and (optionally) sampling, in one cooperative launch: the GPU
// half of the step API (streaming and generation).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rnn::kernels {

struct StepLayer {
  const float* w_ih = nullptr;  // [H, K] row-major
  const float* w_hh = nullptr;  // [H, H] row-major
  const float* bias = nullptr;  // [H] b_ih + b_hh, or null
  int k = 0;                    // input width K
};

struct StepParams {
  int L = 1, B = 1, H = 0, O = 0;  // layers, batch, hidden size, head outputs (0: no head)
  bool relu = false;
  StepLayer layers[8];             // L <= 8
  const float* w_hy = nullptr;     // [O, H]
  const float* b_hy = nullptr;     // [O] or null
  // Input: x [B, K0] when not null, else one-hot rows from index[b].
  const float* x = nullptr;
  const int32_t* index = nullptr;
  const float* h_in = nullptr;     // [L, B, H] the states before the step
  float* h_out = nullptr;          // [L, B, H] the states after it (a different buffer)
  float* logits = nullptr;         // [B, O] (with a head)
  // Sampling (with a head and sample != null): sample[b] <- the next index,
  // greedy when temperature == 0, else drawn from softmax(logits / temperature)
  // with a counter-based generator keyed by (seed, counter, b).
  int32_t* sample = nullptr;
  float temperature = 0.0f;
  uint64_t seed = 0, counter = 0;
};

// The cooperative launch's grid for these sizes on the current device.
cudaError_t step_grid(int* blocks);
// Runs the step on `stream` (one cooperative launch of `blocks` blocks).
cudaError_t launch_step(const StepParams& p, int blocks, cudaStream_t stream);

}  // namespace rnn::kernels
