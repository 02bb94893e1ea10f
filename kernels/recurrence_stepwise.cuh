// kernels/recurrence_stepwise.cuh: one recurrence step per launch.
#pragma once

#include <cuda_runtime.h>

#include "recurrence.cuh"

namespace rnn::kernels {

// Runs step s (0 <= s < p.T) of both directions of one layer on `stream`
// (see recurrence.cuh for the step's definition). Steps must run in order
// on one stream; the host replays the T launches as a CUDA graph.
// Requires p.w_hh_t. Returns the launch status.
cudaError_t launch_recurrence_stepwise(const RecurrenceParams& p, int s, cudaStream_t stream);

}  // namespace rnn::kernels
