// host/api/sample.cpp: rnn::generate: the step API fed its own choices.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "engine/backend.hpp"
#include "rnn/error.hpp"
#include "api/sample.hpp"
#include "rnn/sample.hpp"
#include "rnn/train.hpp"

namespace rnn {

namespace {

void check_generate_args(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                         double temperature) {
  const ModelConfig& c = model.config();
  if (c.bidirectional) throw Error("model", "generation steps forward in time: a bidirectional model cannot");
  if (c.output_size != c.input_size)
    throw Error("model", "generation feeds each output index back as the next input: the head's " +
                             std::to_string(c.output_size) + " outputs must equal the " +
                             std::to_string(c.input_size) + " inputs");
  if (prime.empty()) throw Error("prime", "needs at least one index");
  for (int64_t i : prime)
    if (i < 0 || i >= c.input_size)
      throw Error("prime", "index " + std::to_string(i) + " is outside [0, " + std::to_string(c.input_size) + ")");
  if (length < 0) throw Error("length", "must be 0 or more");
  if (!(temperature >= 0.0)) throw Error("temperature", "must be 0 (greedy) or more");
}

}  // namespace

namespace detail {

// The next index from logits z: greedy at temperature 0, else drawn from
// softmax(z / temperature) with one uniform draw of `gen`.
int64_t pick_next(const Tensor& z, double temperature, std::mt19937_64& gen, std::vector<double>& p) {
  int64_t best = 0;
  if (temperature == 0.0) {
    for (int64_t k = 1; k < z.numel(); ++k)
      if (z[k] > z[best]) best = k;
    return best;
  }
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double zmax = z[0], sum = 0.0;
  for (int64_t k = 1; k < z.numel(); ++k) zmax = std::max(zmax, static_cast<double>(z[k]));
  p.resize(static_cast<size_t>(z.numel()));
  for (int64_t k = 0; k < z.numel(); ++k) sum += (p[k] = std::exp((z[k] - zmax) / temperature));
  double r = u(gen) * sum;
  for (int64_t k = 0; k < z.numel(); ++k) {
    if (r < p[k]) return k;
    r -= p[k];
  }
  return z.numel() - 1;
}

}  // namespace detail

std::vector<int64_t> generate(const Model& model, const std::vector<int64_t>& prime, int64_t length,
                              double temperature, uint64_t seed, Device device) {
  check_generate_args(model, prime, length, temperature);
  if (resolve_device(device) == Device::Cuda) return detail::gpu().generate(model, prime, length, temperature, seed);
  Stepper stepper(model, 1, Device::Cpu);
  for (int64_t i : prime) stepper.step_one_hot({i});
  std::mt19937_64 gen(seed);
  std::vector<double> p;
  std::vector<int64_t> out;
  for (int64_t n = 0; n < length; ++n) {
    out.push_back(detail::pick_next(stepper.logits(), temperature, gen, p));
    stepper.step_one_hot({out.back()});
  }
  return out;
}

}  // namespace rnn
