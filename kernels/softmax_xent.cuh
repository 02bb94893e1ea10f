// kernels/softmax_xent.cuh: fused, numerically stable softmax cross-entropy.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rnn::kernels {

// For each of `rows` rows of logits [rows, O] with target t = targets[row]:
//   t >= 0:  row_loss[row] = log(sum_k exp(z_k - m)) - (z_t - m), m = max_k z_k
//            logits[row, k] <- (softmax(z)_k - [k == t]) / count   (the gradient, in place)
//   t < 0:   row_loss[row] = 0, logits[row, :] <- 0                 (ignored)
// `count` is the number of rows with t >= 0 (the mean's divisor). One warp
// per row; fixed reduction order, so bitwise reproducible. The caller keeps
// every target below O (not checked here: the host validates them).
// Returns cudaErrorInvalidValue for rows, O or count below 1 or a null pointer.
cudaError_t launch_softmax_xent(int rows, int O, float* logits, const int32_t* targets, int count, float* row_loss,
                                cudaStream_t stream);

}  // namespace rnn::kernels
