// kernels/backward_persistent.cuh: all backward steps of a layer in one
// cooperative launch, W_hh^T held in shared memory throughout.
#pragma once

#include <cuda_runtime.h>

#include "backward.cuh"
#include "recurrence_persistent.cuh"

namespace rnn::kernels {

// Checks that the backward kernel can run with `shape` (a shape from
// persistent_shape() for the same H, D, batch) on the current device and
// raises its shared-memory limit there. cudaErrorInvalidConfiguration when
// it cannot.
cudaError_t backward_persistent_prepare(const PersistentShape& shape, int D);

// Runs backward steps T-1 .. -1 of both directions (see backward.cuh) as one
// cooperative launch on `stream`. Requires p.w_hh_t.
cudaError_t launch_backward_persistent(const BackwardParams& p, const PersistentShape& shape, cudaStream_t stream);

}  // namespace rnn::kernels
