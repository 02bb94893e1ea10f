// kernels/backward_stepwise.cuh: one backward recurrence step per launch.
#pragma once

#include <cuda_runtime.h>

#include "backward.cuh"

namespace rnn::kernels {

// Runs backward step s (-1 <= s < p.T; see backward.cuh) of both directions
// on `stream`. Steps must run in descending order on one stream. Requires p.w_hh.
cudaError_t launch_backward_stepwise(const BackwardParams& p, int s, cudaStream_t stream);

}  // namespace rnn::kernels
