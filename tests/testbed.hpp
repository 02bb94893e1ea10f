// tests/testbed.hpp: what every suite shares: seeded random inputs (never
// zeros), relative-norm error against a reference with a few elements
// printed on failure, fixture paths and scratch folders.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "rnn/rnn.hpp"

namespace testbed {

// A fresh seed for a randomised test (std::random_device), or the one in
// RNN_TEST_SEED, to replay a failure the test printed.
inline uint64_t fresh_seed() {
  if (const char* s = std::getenv("RNN_TEST_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  std::random_device fresh;
  return (static_cast<uint64_t>(fresh()) << 32) ^ fresh();
}

// Uniform in [-scale, scale], with no element exactly 0.
inline rnn::Tensor random_tensor(const std::vector<int64_t>& shape, uint64_t seed, float scale = 1.0f) {
  rnn::Tensor t(shape);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = 0.0f;
    while (v == 0.0f) v = u(gen);
    t[i] = v;
  }
  return t;
}

inline bool all_zero(const rnn::Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t[i] != 0.0f) return false;
  return true;
}

// ||a - b|| / ||b|| in double (1e-30 floor on the denominator).
inline double rel_err(const rnn::Tensor& a, const rnn::Tensor& b) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

// Same shape, finite, and relative error <= tol; on failure prints the error
// and the first differing elements.
inline ::testing::AssertionResult close(const rnn::Tensor& actual, const rnn::Tensor& expected, double tol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << rnn::shape_string(actual.shape()) << ", expected "
                                         << rnn::shape_string(expected.shape());
  for (int64_t i = 0; i < actual.numel(); ++i)
    if (!std::isfinite(actual[i])) return ::testing::AssertionFailure() << "non-finite element " << i;
  const double e = rel_err(actual, expected);
  if (e <= tol) return ::testing::AssertionSuccess();
  std::ostringstream s;
  s << "relative error " << e << " > " << tol << "; first differences:";
  int shown = 0;
  for (int64_t i = 0; i < actual.numel() && shown < 5; ++i) {
    if (std::abs(static_cast<double>(actual[i]) - expected[i]) > tol * (1.0 + std::abs(expected[i]))) {
      s << " [" << i << "] " << actual[i] << " vs " << expected[i] << ";";
      ++shown;
    }
  }
  return ::testing::AssertionFailure() << s.str();
}

// ---- bytes of hand-made files -------------------------------------------------

using Bytes = std::vector<uint8_t>;

// Appends the low `nbytes` bytes of v, little-endian.
inline void append_le(Bytes& out, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline Bytes f32_bytes(const std::vector<float>& v) {
  Bytes out;
  for (float f : v) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    append_le(out, u, 4);
  }
  return out;
}

inline Bytes f64_bytes(const std::vector<double>& v) {
  Bytes out;
  for (double d : v) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    append_le(out, u, 8);
  }
  return out;
}

// ---- errors ----------------------------------------------------------------------

// Runs f, which must throw rnn::Error about `subject`; returns its what().
template <class F>
std::string error_of(F f, const std::string& subject) {
  try {
    f();
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), subject);
    return e.what();
  }
  ADD_FAILURE() << "no rnn::Error was thrown";
  return "";
}

// Success when `message` contains `part`.
inline ::testing::AssertionResult says(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << message << "\" does not contain \"" << part << "\"";
}

inline std::string data_path(const std::string& rel) { return std::string(RNN_TEST_DATA_DIR) + "/" + rel; }

// The case folders under tests/data/<kind> ("parity", "grad"), sorted.
inline std::vector<std::string> case_names(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(data_path(kind)))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// One PyTorch fixture folder (tests/data/make_fixtures.py): the model, the
// inputs that exist, and the flags of args.txt.
struct FixtureCase {
  std::string dir;  // with a trailing '/'
  rnn::Model model;
  rnn::Tensor x, h0, dy, dhn;
  rnn::IntArray lengths;
  bool has_h0 = false, has_lengths = false, has_dy = false, has_dhn = false, batch_first = false;

  explicit FixtureCase(const std::string& kind_and_name) : dir(data_path(kind_and_name) + "/") {
    auto has = [this](const char* f) { return std::filesystem::exists(dir + f); };
    model = rnn::load_model(dir + "model.safetensors");
    x = rnn::read_npy(dir + "x.npy");
    if ((has_h0 = has("h0.npy"))) h0 = rnn::read_npy(dir + "h0.npy");
    if ((has_lengths = has("lengths.npy"))) lengths = rnn::read_npy_int(dir + "lengths.npy");
    if ((has_dy = has("dy.npy"))) dy = rnn::read_npy(dir + "dy.npy");
    if ((has_dhn = has("dhn.npy"))) dhn = rnn::read_npy(dir + "dhn.npy");
    std::ifstream args_file(dir + "args.txt");
    const std::string args((std::istreambuf_iterator<char>(args_file)), std::istreambuf_iterator<char>());
    batch_first = args.find("--batch-first") != std::string::npos;
  }
  const rnn::Tensor* h0_ptr() const { return has_h0 ? &h0 : nullptr; }
  const rnn::Tensor* dhn_ptr() const { return has_dhn ? &dhn : nullptr; }
  const std::vector<int64_t>* lengths_ptr() const { return has_lengths ? &lengths.data : nullptr; }
  rnn::ForwardOptions options(rnn::Device device, rnn::Kernel kernel = rnn::Kernel::Auto) const {
    rnn::ForwardOptions o;
    o.device = device;
    o.kernel = kernel;
    o.batch_first = batch_first;
    return o;
  }
  rnn::Tensor expected(const std::string& name) const { return rnn::read_npy(dir + name); }
  // The RNN's own y (rnn::forward's): expected_states.npy where the model
  // has a head (expected_y.npy is then what `rnn run --output` writes, the
  // logits), else expected_y.npy.
  rnn::Tensor expected_states() const {
    return expected(exists("expected_states.npy") ? "expected_states.npy" : "expected_y.npy");
  }
  bool exists(const std::string& name) const { return std::filesystem::exists(dir + name); }
};

// A fresh, empty folder unique to this process and call; removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("rnn-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// ReLU's derivative is 0 on one side of a pre-activation of 0 and 1 on the
// other. Where a pre-activation lies within float rounding of 0, the fast
// backend and the double reference may take different sides, and their
// gradients then differ by far more than rounding (a seed in a few hundred
// does this at B = 64, H = 32). True when some layer's output is 0 in one
// and not in the other: a test comparing gradients draws another seed.
inline bool relu_sides_differ(const rnn::Model& m, const rnn::Tensor& x, const rnn::Tensor* h0,
                              const std::vector<int64_t>* lengths, bool batch_first) {
  const rnn::ModelConfig& c = m.config();
  if (c.nonlinearity != rnn::Nonlinearity::Relu) return false;
  rnn::ForwardOptions fast, ref;
  fast.device = rnn::Device::Cpu;
  ref.device = rnn::Device::Reference;
  fast.batch_first = ref.batch_first = batch_first;
  const int64_t D = c.num_directions();
  for (int64_t l = 1; l <= c.num_layers; ++l) {
    rnn::ModelConfig lc = c;  // the first l layers, no head
    lc.num_layers = l;
    lc.output_size = 0;
    rnn::Model part(lc);
    for (int64_t k = 0; k < l; ++k)
      for (int64_t d = 0; d < D; ++d) part.cell(k, d) = m.cell(k, d);
    rnn::Tensor h;
    if (h0) {
      h = rnn::Tensor({l * D, h0->dim(1), h0->dim(2)});
      std::copy(h0->data(), h0->data() + h.numel(), h.data());
    }
    const rnn::ForwardResult a = rnn::forward(part, x, h0 ? &h : nullptr, lengths, fast);
    const rnn::ForwardResult b = rnn::forward(part, x, h0 ? &h : nullptr, lengths, ref);
    for (int64_t i = 0; i < a.y.numel(); ++i)
      if ((a.y[i] == 0.0f) != (b.y[i] == 0.0f)) return true;
  }
  return false;
}

// The next seed to try after one refused (a fixed step: a replayed seed
// reaches the same one).
inline uint64_t next_seed(uint64_t seed) { return seed * 6364136223846793005ull + 1442695040888963407ull; }

// A training batch's lengths in [1, T] (one of them T) and targets [T*B]
// (-1 past each length and at random places, targets[0] counted), drawn
// from `seed`.
inline void random_batch(int64_t T, int64_t B, int64_t O, uint64_t seed, std::vector<int64_t>& lengths,
                         std::vector<int64_t>& targets) {
  std::mt19937_64 gen(seed);
  lengths.assign(static_cast<size_t>(B), 0);
  for (auto& l : lengths) l = 1 + static_cast<int64_t>(gen() % T);
  lengths[gen() % lengths.size()] = T;
  targets.assign(static_cast<size_t>(T * B), -1);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      if (t < lengths[static_cast<size_t>(b)] && gen() % 5 != 0)
        targets[static_cast<size_t>(t * B + b)] = static_cast<int64_t>(gen() % O);
  targets[0] = 1;
}

// The subject of the rnn::Error that call() throws ("(nothing thrown)" when
// it returns).
template <class Call>
std::string error_subject(Call&& call) {
  try {
    call();
  } catch (const rnn::Error& e) {
    return e.subject();
  }
  return "(nothing thrown)";
}

// A random two-layer model with a head of O outputs (the learners' tests).
inline rnn::Model two_layer_model(int64_t I, int64_t H, int64_t O, bool bidirectional, uint64_t seed) {
  rnn::ModelConfig c;
  c.input_size = I;
  c.hidden_size = H;
  c.num_layers = 2;
  c.bidirectional = bidirectional;
  c.output_size = O;
  return rnn::Model::random(c, seed);
}

}  // namespace testbed
