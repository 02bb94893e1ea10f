// host/api/inputs.hpp: input checks and layout helpers shared by the entry
// points in host/api/ (forward, backward, training, the optimizers).
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn::detail {

// [A, B, C] -> [B, A, C]
Tensor swap01(const Tensor& t);

// Throws rnn::Error with subject "model", "x", "h0" or "lengths" when an
// input does not fit the model (see rnn/forward.hpp).
void validate_inputs(const Model& model, const Tensor& x, const Tensor* h0, const std::vector<int64_t>* lengths,
                     bool batch_first);

// Refuses (subject "x") a CPU pass over T steps of B sequences whose
// buffers would not fit in the host memory available (rnn/limits.hpp).
void check_cpu_pass_memory(const ModelConfig& config, int64_t T, int64_t B, bool backward, bool batch_first);

// True when the fast CPU backend can take T steps of B sequences: BLAS's
// 32-bit sizes hold every matrix of the pass (else the reference runs).
bool fast_cpu_fits(const ModelConfig& config, int64_t T, int64_t B);

// True when a and b have the same parameters, by name and shape.
bool same_shapes(const Model& a, const Model& b);

}  // namespace rnn::detail
