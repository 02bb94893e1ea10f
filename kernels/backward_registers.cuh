// kernels/backward_registers.cuh: all backward steps of a layer in one
// cooperative launch, W_hh^T held in registers (the second generation; the
// first, W_hh^T in shared memory, is backward_persistent.cuh).
#pragma once

#include <cuda_runtime.h>

#include "backward.cuh"
#include "recurrence_registers.cuh"

namespace rnn::kernels {

// Checks that the backward kernel can run with `shape` (a shape from
// registers_shape() for the same H, D, batch: the same blocks, staging
// buffers and lengths in shared memory as the forward kernel) on the
// current device and raises its shared-memory limit there.
// cudaErrorInvalidConfiguration when it cannot.
cudaError_t backward_registers_prepare(const RegistersShape& shape, int D);

// Runs backward steps T-1 .. -1 of both directions (see backward.cuh) as one
// cooperative launch on `stream`. Requires p.w_hh_t and p.H <= 32 *
// shape.cols_per_lane.
cudaError_t launch_backward_registers(const BackwardParams& p, const RegistersShape& shape, cudaStream_t stream);

}  // namespace rnn::kernels
