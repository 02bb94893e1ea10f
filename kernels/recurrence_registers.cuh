// kernels/recurrence_registers.cuh: the persistent recurrence, second
// generation: W_hh held in registers, only h_prev going through shared
// memory. All T steps of a layer in one cooperative launch.
#pragma once

#include <cuda_runtime.h>

#include "recurrence.cuh"

namespace rnn::kernels {

// How a registers launch splits the work; from registers_shape().
struct RegistersShape {
  int blocks_per_dir = 0;  // blocks per direction: ceil(H / 32), 32 rows each
  int cols_per_lane = 0;   // KPT: each lane's columns of its 4 rows (4, 8, 16 or 32; H <= 32 * KPT)
  int batch_chunk = 0;     // sequences whose h_prev is staged at once
  int buffers = 1;         // staging buffers: 2 when the batch takes several chunks
  size_t smem_bytes = 0;   // dynamic shared memory per block: the buffers, then the lengths [B]
};

// The largest hidden size the kernel holds in registers (4 rows x 32
// columns per lane: 128 floats of W_hh per thread).
constexpr int kRegistersMaxHidden = 1024;

// Plans a launch for hidden size H, D directions and batch B on the current
// device (raising the kernel's shared-memory limit there). cudaSuccess and
// *shape filled when it runs: H <= kRegistersMaxHidden, the batch's B
// lengths and one staged state row fit in a block's shared memory (B up to
// about 57,000 on an H100 or H200 at H <= 128), and the D * ceil(H / 32)
// blocks are co-resident; cudaErrorInvalidConfiguration when not; other
// errors from the runtime queries.
cudaError_t registers_shape(int H, int D, int B, RegistersShape* shape);

// Runs all p.T steps of both directions of one layer (see recurrence.cuh)
// as one cooperative launch on `stream`. Requires p.w_hh and a shape from
// registers_shape() for the same H, D and a batch >= p.B (the batch sizes
// the lengths' room in shared memory). Timing variants
// are not offered (p.timing_skip must be kSkipNone).
cudaError_t launch_recurrence_registers(const RecurrenceParams& p, const RegistersShape& shape, cudaStream_t stream);

}  // namespace rnn::kernels
