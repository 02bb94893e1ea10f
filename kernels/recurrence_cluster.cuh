// kernels/recurrence_cluster.cuh: all T steps of a layer in one launch of
// thread-block clusters (sm_90): W_hh spread over a cluster's blocks, held
// in registers, the new states exchanged through distributed shared memory
// with a cluster barrier per step; no grid-wide barrier, no round trip of
// the states through L2.
#pragma once

#include <cuda_runtime.h>

#include "recurrence.cuh"

namespace rnn::kernels {

// How a cluster launch splits the work; from cluster_shape().
struct ClusterShape {
  int cluster_blocks = 0;   // C: blocks per cluster, ceil(H / 32), 32 rows of W_hh each
  int cols_per_lane = 0;    // KPT: each lane's columns of its 4 rows (4, 8 or 16; H <= 32 * KPT)
  int batch_per_cluster = 0;  // sequences per cluster (grid: C x ceil(B / this) x D blocks)
  size_t smem_bytes = 0;    // dynamic shared memory per block: two state buffers and the lengths
};

// The largest hidden size: 16 blocks of 32 rows (a cluster of 16 blocks is
// beyond the portable 8 and needs the device's consent, asked for here).
constexpr int kClusterMaxHidden = 512;

// Plans a launch for hidden size H, D directions and batch B on the current
// device (raising the kernel's shared-memory limit and allowing its
// cluster size there). cudaSuccess and *shape filled when it runs: H <=
// kClusterMaxHidden, the device launches clusters (compute capability 9.0
// or later) and one cluster of the shape fits; cudaErrorInvalidConfiguration
// when not; other errors from the runtime queries.
cudaError_t cluster_shape(int H, int D, int B, ClusterShape* shape);

// Runs all p.T steps of both directions of one layer (see recurrence.cuh)
// on `stream`. Requires p.w_hh and a shape from cluster_shape() for the
// same H, D and a batch >= p.B. Timing variants are not offered
// (p.timing_skip must be kSkipNone).
cudaError_t launch_recurrence_cluster(const RecurrenceParams& p, const ClusterShape& shape, cudaStream_t stream);

}  // namespace rnn::kernels
