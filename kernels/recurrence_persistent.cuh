// kernels/recurrence_persistent.cuh: all T steps of a layer in one
// cooperative launch, W_hh held in shared memory throughout.
#pragma once

#include <cuda_runtime.h>

#include "recurrence.cuh"

namespace rnn::kernels {

// How a persistent launch splits the work; from persistent_shape().
struct PersistentShape {
  int blocks_per_dir = 0;   // blocks per direction (grid = D * blocks_per_dir)
  int rows = 0;             // rows of W_hh per block (a multiple of 2)
  int batch_chunk = 0;      // sequences whose h_prev is staged at once
  int batch_tile = 0;       // sequences per warp tile (1, 2 or 4)
  size_t smem_bytes = 0;    // dynamic shared memory per block
};

// Plans a persistent launch for hidden size H, D directions and batch B on
// the current device (and raises the kernel's dynamic shared-memory limit
// there: call it before the first launch on each device). Returns cudaSuccess and fills *shape when the layer's
// W_hh (D * H * H floats) fits in the shared memory of co-resident blocks;
// cudaErrorInvalidConfiguration when it does not (or when the device cannot
// launch cooperatively), other errors from the runtime queries.
cudaError_t persistent_shape(int H, int D, int B, PersistentShape* shape);

// Runs all p.T steps of both directions of one layer (see recurrence.cuh)
// as one cooperative launch on `stream`. Requires p.w_hh and a shape from
// persistent_shape() for the same H, D and a batch >= p.B.
cudaError_t launch_recurrence_persistent(const RecurrenceParams& p, const PersistentShape& shape, cudaStream_t stream);

}  // namespace rnn::kernels
