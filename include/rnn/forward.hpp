// rnn/forward.hpp: the forward pass, with exactly torch.nn.RNN's semantics.
//
// Shapes (L layers, D directions, H hidden, I input, T steps, B batch):
//   x        [T, B, I]          ([B, T, I] with batch_first)
//   h0       [L*D, B, H]        optional; zeros when absent
//   lengths  [B], 1 <= len <= T  optional; all T when absent
//   y        [T, B, D*H]        ([B, T, D*H] with batch_first): the top
//                               layer's h_t, directions concatenated
//   h_n      [L*D, B, H]        each sequence's state at its own last valid step
//
// With lengths (PyTorch's packed sequences): y is 0 past a sequence's length,
// the forward direction stops at step len-1, and the reverse direction starts
// at step len-1 from h0. Layer k > 0 reads layer k-1's concatenated output.
// The order of sequences in the batch is free (no sorting needed).
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/device.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"

namespace rnn {

struct ForwardOptions {
  bool batch_first = false;      // x and y are [B, T, ...]
  Device device = Device::Auto;  // see rnn/device.hpp
  Kernel kernel = Kernel::Auto;  // the CUDA recurrence kernel (ignored on the CPU)
};

struct ForwardResult {
  Tensor y;    // [T, B, D*H] or [B, T, D*H]
  Tensor h_n;  // [L*D, B, H]
  Device device = Device::Cpu;  // where it ran
};

// Runs the RNN on a batch. h0 and lengths may be null.
// Throws rnn::Error with subject "x", "h0" or "lengths" when an input's rank,
// sizes or values are wrong (T = 0, B = 0, a length outside [1, T], ...),
// with subject "model" when the model is inconsistent, with subject
// "device" when the requested device cannot run, with subject "kernel" when
// the forced kernel cannot run this model, and with subject "cuda" when a
// CUDA or cuBLAS call fails (the message names the call, file and line).
ForwardResult forward(const Model& model, const Tensor& x, const Tensor* h0 = nullptr,
                      const std::vector<int64_t>* lengths = nullptr, const ForwardOptions& options = {});

struct SequencesResult {
  std::vector<Tensor> outputs;  // outputs[b]: [T_b, D*H]
  Tensor h_n;                   // [L*D, B, H]
  Device device = Device::Cpu;
};

// Convenience: runs B sequences of different lengths, sequences[b] being
// [T_b, I] with T_b >= 1. Pads them into one batch with lengths, runs
// forward() and unpads. h0 ([L*D, B, H]) may be null.
SequencesResult forward_sequences(const Model& model, const std::vector<Tensor>& sequences,
                                  const Tensor* h0 = nullptr, Device device = Device::Auto);

// Looks token ids up in the model's embedding (Model::embedding, [V, I]):
// ids holds the product of `shape` values (e.g. [T, B], or [B, T] for a
// batch_first run), each in [0, V); returns x [shape..., I] for forward().
// Throws rnn::Error("model") without an embedding, ("ids") naming the first
// id outside [0, V) and its position, or on a size mismatch.
Tensor embed(const Model& model, const std::vector<int64_t>& ids, const std::vector<int64_t>& shape);

// Applies the model's output head to the last dimension of y:
//   y [..., D*H] -> logits [..., O].  Throws rnn::Error if the model has no head.
Tensor apply_head(const Model& model, const Tensor& y);

}  // namespace rnn
