// tests/case_table.hpp: the one table of RNN cases the suites share: the GPU
// forward test (tests/host/cuda/test_plan.cpp, every kernel), the GPU
// backward test (test_backward_gpu.cpp, which adds its call variants) and
// the fast CPU backend's (tests/host/test_fast_cpu.cpp), each against the
// double reference on the same model, inputs and lengths. Each case names
// what it covers: layers, directions, ReLU, no bias, h0, unsorted lengths,
// batch-first, H that is no multiple of any tile, batches split in chunks,
// long sequences, saturating inputs, NaN in the padding (which must never
// be read), a plan larger than the run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnn/rnn.hpp"

namespace case_table {

struct Case {
  std::string name;
  int64_t I, H, L;
  bool bidir, bias, relu;
  int64_t T, B;
  bool h0, lengths, batch_first;
  float x_scale = 1.0f;
  int64_t plan_extra = 0;    // the GPU: plan for T + extra steps and B + extra sequences
  bool nan_padding = false;  // x holds NaN at padded positions (must not leak)
};

inline const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      // name                      I    H     L  bidir  bias   relu   T     B   h0     len    bf
      {"tanh_I5_H8_T7_B3", 5, 8, 1, false, true, false, 7, 3, false, false, false},
      {"relu_h0", 4, 6, 1, false, true, true, 9, 2, true, false, false},
      {"nobias_L2_h0", 3, 5, 2, false, false, false, 6, 2, true, false, false},
      {"L3_h0", 6, 7, 3, false, true, false, 5, 4, true, false, false},
      {"bidir_L2_h0", 5, 6, 2, true, true, false, 8, 3, true, false, false},
      {"bidir_relu_nobias", 4, 5, 1, true, false, true, 6, 2, false, false, false},
      {"varlen_unsorted", 3, 4, 1, false, true, false, 7, 5, true, true, false},
      {"varlen_bidir_L2_batch_first", 4, 5, 2, true, true, false, 6, 3, true, true, true},
      {"batch_first", 3, 4, 1, false, true, false, 5, 2, false, false, true},
      {"T1_B1", 2, 3, 2, false, true, false, 1, 1, true, false, false},
      {"H13_not_a_tile", 7, 13, 1, false, true, false, 30, 3, true, false, false},
      {"H257_B9_bidir", 16, 257, 1, true, true, false, 12, 9, true, true, false},
      {"H100_B70_varlen", 8, 100, 2, false, true, false, 10, 70, true, true, false},
      {"H1024_B4", 32, 1024, 1, false, true, false, 16, 4, true, false, false},
      {"H1024_B64_batch_chunks", 16, 1024, 1, false, true, false, 8, 64, true, true, false},
      {"H2048_B16_batch_chunks", 16, 2048, 1, false, true, false, 6, 16, true, true, true},
      {"H512_bidir_B16_L2", 64, 512, 2, true, true, false, 10, 16, true, true, true},
      {"long_T1200_B1", 4, 64, 1, false, true, false, 1200, 1, true, false, false},
      {"long_T1000_bidir_varlen", 4, 32, 1, true, true, false, 1000, 3, true, true, false},
      {"saturating", 4, 24, 2, true, true, false, 20, 3, false, false, false, 50.0f},
      {"H1536_bidir_B16_batch_chunks", 16, 1536, 1, true, true, false, 6, 16, true, true, false},
      {"H333_bidir_B5_odd_rows", 8, 333, 1, true, true, false, 9, 5, true, true, false},
      {"varlen_bidir_L2_plan_larger", 4, 40, 2, true, true, false, 8, 5, true, true, false, 1.0f, 3},
      {"nan_in_padding", 3, 24, 2, true, true, false, 7, 4, true, true, false, 1.0f, 0, true},
  };
  return c;
}

// The case's model (tanh or ReLU, bias or none), random from `seed`.
inline rnn::Model model_for(const Case& c, uint64_t seed) {
  rnn::ModelConfig cfg;
  cfg.input_size = c.I;
  cfg.hidden_size = c.H;
  cfg.num_layers = c.L;
  cfg.bidirectional = c.bidir;
  cfg.bias = c.bias;
  cfg.nonlinearity = c.relu ? rnn::Nonlinearity::Relu : rnn::Nonlinearity::Tanh;
  return rnn::Model::random(cfg, seed);
}

// Lengths in [1, T], unsorted, one equal to T.
inline std::vector<int64_t> lengths_for(int64_t T, int64_t B, uint64_t seed) {
  std::vector<int64_t> len(static_cast<size_t>(B));
  uint64_t s = seed;
  for (int64_t b = 0; b < B; ++b) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    len[b] = 1 + static_cast<int64_t>((s >> 33) % static_cast<uint64_t>(T));
  }
  len[B / 2] = T;
  return len;
}

}  // namespace case_table
