// host/api/sample.hpp: the choice of the next symbol from logits, shared by
// rnn::generate (sample.cpp) and seq2seq_sample (seq2seq.cpp).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "rnn/tensor.hpp"

namespace rnn::detail {

// The next index from logits z: greedy (the first largest) at temperature
// 0, else drawn from softmax(z / temperature) with one uniform draw of
// `gen`; p is scratch space.
int64_t pick_next(const Tensor& z, double temperature, std::mt19937_64& gen, std::vector<double>& p);

}  // namespace rnn::detail
