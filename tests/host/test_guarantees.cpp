// tests/host/test_guarantees.cpp: what README's "Guarantees" promises on
// the CPU: resource limits refused before allocation, thread safety of
// shared models, bitwise determinism, NaN and infinity propagated like
// PyTorch. (The GPU's counterparts are in tests/host/cuda/.)
#include <functional>
#include <cmath>
#include <fstream>
#include <limits>
#include <thread>

#include "testbed.hpp"

namespace {

rnn::ForwardOptions cpu() {
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  return o;
}

// The double reference (what the Stepper computes, what cpu_pass_bytes sizes).
rnn::ForwardOptions reference() {
  rnn::ForwardOptions o;
  o.device = rnn::Device::Reference;
  return o;
}

rnn::Model model(int64_t I, int64_t H, int64_t L, bool bidir, uint64_t seed, rnn::Nonlinearity act = rnn::Nonlinearity::Tanh) {
  rnn::ModelConfig c;
  c.input_size = I;
  c.hidden_size = H;
  c.num_layers = L;
  c.bidirectional = bidir;
  c.nonlinearity = act;
  return rnn::Model::random(c, seed);
}

bool same_bits(const rnn::Tensor& a, const rnn::Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
}

// ---- resource limits --------------------------------------------------------------

TEST(Limits, ConfigBeyondTheMaximaIsRefused) {
  rnn::ModelConfig c;
  c.input_size = 4;
  c.hidden_size = rnn::limits::kMaxHidden + 1;
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { c.validate(); }, "config"), "exceeds the maximum of 65536"));
  c.hidden_size = 8;
  c.num_layers = rnn::limits::kMaxLayers + 1;
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::Model m(c); }, "config"), "num_layers 1025 exceeds"));
  c.num_layers = 1;
  c.input_size = rnn::limits::kMaxInput + 1;
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { c.validate(); }, "config"), "input_size"));
  c.input_size = 4;
  c.output_size = rnn::limits::kMaxOutput + 1;
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { c.validate(); }, "config"), "output_size"));
}

// A model within the maxima whose parameters cannot fit in memory is
// refused before any of it is allocated (not std::bad_alloc).
TEST(Limits, ModelTooLargeForMemoryIsRefusedBeforeAllocation) {
  rnn::ModelConfig c;
  c.input_size = rnn::limits::kMaxInput;
  c.hidden_size = rnn::limits::kMaxHidden;
  c.num_layers = rnn::limits::kMaxLayers;
  c.bidirectional = true;
  const std::string m = testbed::error_of([&] { rnn::Model::random(c, 1); }, "config");
  EXPECT_TRUE(testbed::says(m, "parameters needs"));
  EXPECT_TRUE(testbed::says(m, "GiB of host memory"));
}

TEST(Limits, TensorsTooLargeAreRefusedBeforeAllocation) {
  EXPECT_TRUE(testbed::says(testbed::error_of([] { rnn::Tensor t({int64_t{1} << 21, int64_t{1} << 21}); }, "tensor"),
                            "of host memory"));
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::Tensor t({big, 4}); }, "tensor"), "too many elements"));
  EXPECT_TRUE(testbed::says(testbed::error_of([] { rnn::Tensor t({-1, 4}); }, "tensor"), "negative extent"));
  EXPECT_TRUE(testbed::says(testbed::error_of([] { rnn::checked_mul(uint64_t{1} << 40, uint64_t{1} << 40, "n"); }, "n"),
                            "overflows 64 bits"));
  EXPECT_EQ(rnn::checked_mul(uint64_t{1} << 31, uint64_t{1} << 31, "n"), uint64_t{1} << 62);
}

// A small x whose output cannot fit in memory: refused naming x, before
// the pass allocates anything.
TEST(Limits, ForwardWhoseOutputCannotFitIsRefused) {
  const rnn::Model m = model(1, 4096, 1, false, 3);
  const rnn::Tensor x({4096, 4096, 1});  // 64 MiB in; y would be 256 GiB
  const uint64_t y_bytes = uint64_t{4096} * 4096 * 4096 * 4;
  if (rnn::host_memory_available() > y_bytes) GTEST_SKIP() << "this machine could hold y";
  const std::string e = testbed::error_of([&] { rnn::forward(m, x, nullptr, nullptr, cpu()); }, "x");
  EXPECT_TRUE(testbed::says(e, "the output y for x [4096, 4096, 1] needs 256.00 GiB of host memory"));
  EXPECT_TRUE(testbed::says(
      testbed::error_of([&] { rnn::backward(m, x, nullptr, nullptr, rnn::Tensor({1, 1, 1}), nullptr, cpu()); }, "x"),
      "of host memory"));
}

TEST(Limits, CpuPassBytesGrowWithTheShapeAndCheckOverflow) {
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 5;
  const uint64_t one = rnn::cpu_pass_bytes(c, 1, 1, false, false, "x");
  EXPECT_GT(one, uint64_t{0});
  EXPECT_EQ(rnn::cpu_pass_bytes(c, 10, 7, false, false, "x"), 70 * one);
  EXPECT_GT(rnn::cpu_pass_bytes(c, 10, 7, true, false, "x"), rnn::cpu_pass_bytes(c, 10, 7, false, false, "x"));
  EXPECT_GT(rnn::cpu_pass_bytes(c, 10, 7, false, true, "x"), rnn::cpu_pass_bytes(c, 10, 7, false, false, "x"));
  const int64_t huge = std::numeric_limits<int64_t>::max();
  EXPECT_TRUE(testbed::says(testbed::error_of([&] { rnn::cpu_pass_bytes(c, huge, huge, true, false, "x"); }, "x"),
                            "overflows 64 bits"));
  EXPECT_GT(rnn::host_memory_available(), uint64_t{1} << 20);
  EXPECT_EQ(rnn::byte_string(512), "512 bytes");
  EXPECT_EQ(rnn::byte_string(uint64_t{3} << 29), "1.50 GiB");
}

#if defined(__SANITIZE_ADDRESS__)
#define RNN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RNN_UNDER_ASAN 1
#endif
#endif

// "VmRSS:" or "VmHWM:" of this process in bytes.
uint64_t status_bytes(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size())) * 1024;
  return 0;
}

// The estimate the memory check uses is close to what a CPU pass really
// takes at its peak (here: forward 99.8 MB estimated, 100.1 MB measured;
// backward 259.6 against 219.5), so the check refuses only what would not
// fit: measured as the rise of the resident high-water mark. The fast
// backend's peak lies below it.
TEST(Limits, CpuPassBytesBoundTheMeasuredPeakTightly) {
#ifdef RNN_UNDER_ASAN
  GTEST_SKIP() << "AddressSanitizer's own memory use hides the pass's";
#else
  const rnn::Model m = model(16, 16, 2, false, 70);
  const int64_t T = 1000, B = 312;  // 312,000 rows: every buffer well above malloc's mmap threshold
  const rnn::Tensor x = testbed::random_tensor({T, B, 16}, 71), dy = testbed::random_tensor({T, B, 16}, 72);
  for (const bool backward : {false, true}) {
    {
      std::ofstream reset("/proc/self/clear_refs");
      reset << "5";  // resets VmHWM to the current VmRSS
    }
    const uint64_t before = status_bytes("VmRSS:");
    if (status_bytes("VmHWM:") > before + (uint64_t{8} << 20)) GTEST_SKIP() << "cannot reset VmHWM here";
    if (backward) rnn::backward(m, x, nullptr, nullptr, dy, nullptr, reference());
    else rnn::forward(m, x, nullptr, nullptr, reference());
    const double measured = static_cast<double>(status_bytes("VmHWM:") - before);
    const double estimate = static_cast<double>(rnn::cpu_pass_bytes(m.config(), T, B, backward, false, "x"));
    EXPECT_GE(estimate, 0.95 * measured) << (backward ? "backward" : "forward");
    EXPECT_LE(estimate, 1.35 * measured) << (backward ? "backward" : "forward");
  }
  // The fast backend (float) needs less than the reference: the same
  // estimate bounds it.
  for (const bool backward : {false, true}) {
    {
      std::ofstream reset("/proc/self/clear_refs");
      reset << "5";
    }
    const uint64_t before = status_bytes("VmRSS:");
    if (backward) rnn::backward(m, x, nullptr, nullptr, dy, nullptr, cpu());
    else rnn::forward(m, x, nullptr, nullptr, cpu());
    const double measured = static_cast<double>(status_bytes("VmHWM:") - before);
    const double estimate = static_cast<double>(rnn::cpu_pass_bytes(m.config(), T, B, backward, false, "x"));
    EXPECT_GE(estimate, measured) << (backward ? "fast backward" : "fast forward");
  }
#endif
}

// ---- thread safety ------------------------------------------------------------------

// One const Model shared by many threads, each running forward and
// backward on its own inputs at the same time: every result equals the one
// computed alone, bit for bit.
TEST(Threads, ForwardAndBackwardOnOneSharedModel) {
  const rnn::Model m = model(5, 24, 2, true, 40);
  constexpr int kThreads = 6, kRounds = 4;
  std::vector<rnn::Tensor> xs, dys;
  std::vector<std::vector<int64_t>> lens;
  std::vector<rnn::ForwardResult> want;
  std::vector<rnn::BackwardResult> want_b;
  for (int k = 0; k < kThreads; ++k) {
    xs.push_back(testbed::random_tensor({9 + k, 3, 5}, 100 + k));
    dys.push_back(testbed::random_tensor({9 + k, 3, 48}, 200 + k));
    lens.push_back({9 + k, 2 + k, 5});
    want.push_back(rnn::forward(m, xs[k], nullptr, &lens[k], cpu()));
    want_b.push_back(rnn::backward(m, xs[k], nullptr, &lens[k], dys[k], nullptr, cpu()));
  }
  std::vector<int> ok(kThreads, 0);
  std::vector<std::thread> pool;
  for (int k = 0; k < kThreads; ++k)
    pool.emplace_back([&, k] {
      for (int r = 0; r < kRounds; ++r) {
        const auto f = rnn::forward(m, xs[k], nullptr, &lens[k], cpu());
        const auto b = rnn::backward(m, xs[k], nullptr, &lens[k], dys[k], nullptr, cpu());
        bool same = same_bits(f.y, want[k].y) && same_bits(f.h_n, want[k].h_n) && same_bits(b.dx, want_b[k].dx) &&
                    same_bits(b.dh0, want_b[k].dh0);
        const auto g = std::as_const(b.grads).parameters();
        const auto gw = std::as_const(want_b[k].grads).parameters();
        for (size_t i = 0; i < g.size(); ++i) same = same && same_bits(*g[i].second, *gw[i].second);
        ok[k] += same;
      }
    });
  for (auto& t : pool) t.join();
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(ok[k], kRounds) << "thread " << k;
}

// Steppers are per thread; the model they read is shared.
TEST(Threads, OneStepperPerThreadOnASharedModel) {
  const rnn::Model m = model(4, 16, 2, false, 41);
  const rnn::Tensor x = testbed::random_tensor({12, 1, 4}, 42);
  const rnn::Tensor want = rnn::forward(m, x, nullptr, nullptr, reference()).y;
  std::vector<int> ok(4, 0);
  std::vector<std::thread> pool;
  for (int k = 0; k < 4; ++k)
    pool.emplace_back([&, k] {
      rnn::Stepper s(m, 1, rnn::Device::Reference);
      bool same = true;
      for (int64_t t = 0; t < 12; ++t) {
        rnn::Tensor xt({1, 4});
        for (int64_t i = 0; i < 4; ++i) xt[i] = x[t * 4 + i];
        const rnn::Tensor& h = s.step(xt);
        same = same && std::memcmp(h.data(), want.data() + t * 16, 16 * sizeof(float)) == 0;
      }
      ok[k] = same;
    });
  for (auto& t : pool) t.join();
  for (int k = 0; k < 4; ++k) EXPECT_TRUE(ok[k]) << "thread " << k;
}

// ---- determinism -----------------------------------------------------------------------

TEST(Determinism, ForwardBackwardAndTrainingRepeatBitForBit) {
  const rnn::Model m = model(3, 12, 2, true, 50);
  const rnn::Tensor x = testbed::random_tensor({7, 4, 3}, 51), dy = testbed::random_tensor({7, 4, 24}, 52);
  const std::vector<int64_t> len = {7, 3, 5, 1};
  const auto f1 = rnn::forward(m, x, nullptr, &len, cpu()), f2 = rnn::forward(m, x, nullptr, &len, cpu());
  EXPECT_TRUE(same_bits(f1.y, f2.y));
  EXPECT_TRUE(same_bits(f1.h_n, f2.h_n));
  const auto b1 = rnn::backward(m, x, nullptr, &len, dy, nullptr, cpu());
  const auto b2 = rnn::backward(m, x, nullptr, &len, dy, nullptr, cpu());
  EXPECT_TRUE(same_bits(b1.dx, b2.dx));
  EXPECT_TRUE(same_bits(b1.dh0, b2.dh0));

  // Two trainings from the same seed: identical parameters after 5 steps.
  rnn::ModelConfig c;
  c.input_size = 3;
  c.hidden_size = 10;
  c.output_size = 3;
  rnn::Model a = rnn::Model::random(c, 9), b = rnn::Model::random(c, 9);
  rnn::Optimizer oa(a, {}), ob(b, {});
  std::vector<int64_t> targets(7 * 4);
  for (size_t i = 0; i < targets.size(); ++i) targets[i] = static_cast<int64_t>(i % 3);
  for (int s = 0; s < 5; ++s) {
    rnn::train_step(a, oa, x, nullptr, targets, 1.0);
    rnn::train_step(b, ob, x, nullptr, targets, 1.0);
  }
  const auto pa = std::as_const(a).parameters(), pb = std::as_const(b).parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(same_bits(*pa[i].second, *pb[i].second)) << pa[i].first;
}

// ---- NaN and infinity ------------------------------------------------------------------

// A NaN in x[t0, b0] makes every later output of sequence b0 NaN (through
// the recurrence, tanh and relu alike), in every layer; the other
// sequences are untouched. This is what torch.nn.RNN does.
class NonFinite : public ::testing::TestWithParam<rnn::Nonlinearity> {};

TEST_P(NonFinite, NanPropagatesThroughItsOwnSequenceOnly) {
  const rnn::Model m = model(3, 6, 2, false, 60, GetParam());
  rnn::Tensor x = testbed::random_tensor({6, 3, 3}, 61);
  const auto clean = rnn::forward(m, x, nullptr, nullptr, cpu());
  const int64_t t0 = 2, b0 = 1;
  x[(t0 * 3 + b0) * 3 + 0] = std::numeric_limits<float>::quiet_NaN();
  const auto r = rnn::forward(m, x, nullptr, nullptr, cpu());
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t k = 0; k < 6; ++k) {
        const float v = r.y[(t * 3 + b) * 6 + k];
        if (b == b0 && t >= t0) EXPECT_TRUE(std::isnan(v)) << "t=" << t << " k=" << k;
        else EXPECT_EQ(v, clean.y[(t * 3 + b) * 6 + k]) << "t=" << t << " b=" << b << " k=" << k;
      }
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t k = 0; k < 6; ++k) {
      EXPECT_TRUE(std::isnan(r.h_n[(l * 3 + b0) * 6 + k]));
      EXPECT_TRUE(std::isfinite(r.h_n[(l * 3 + 0) * 6 + k]));
    }
  EXPECT_EQ(rnn::first_non_finite(r.y), (t0 * 3 + b0) * 6);
  EXPECT_EQ(rnn::first_non_finite(clean.y), -1);
  EXPECT_EQ(rnn::index_string(r.y.shape(), (t0 * 3 + b0) * 6 + 4, {"t", "b", "k"}), "[t=2, b=1, k=4]");
}

INSTANTIATE_TEST_SUITE_P(Activations, NonFinite, ::testing::Values(rnn::Nonlinearity::Tanh, rnn::Nonlinearity::Relu),
                         [](const auto& info) { return std::string(rnn::nonlinearity_name(info.param)); });

// An infinite input saturates tanh to +-1 exactly (finite outputs); relu
// passes the infinity on.
TEST(NonFiniteInputs, InfinitySaturatesTanhAndPassesRelu) {
  rnn::ModelConfig c;
  c.input_size = 1;
  c.hidden_size = 1;
  c.bias = false;
  for (const auto act : {rnn::Nonlinearity::Tanh, rnn::Nonlinearity::Relu}) {
    c.nonlinearity = act;
    rnn::Model m(c);
    m.cell(0, 0).w_ih[0] = 0.5f;
    m.cell(0, 0).w_hh[0] = 0.25f;
    rnn::Tensor x({2, 1, 1});
    x[0] = std::numeric_limits<float>::infinity();
    x[1] = 1.0f;
    const auto r = rnn::forward(m, x, nullptr, nullptr, cpu());
    if (act == rnn::Nonlinearity::Tanh) {
      EXPECT_EQ(r.y[0], 1.0f);
      EXPECT_FLOAT_EQ(r.y[1], std::tanh(0.5f + 0.25f));
    } else {
      EXPECT_TRUE(std::isinf(r.y[0]) && r.y[0] > 0);
      EXPECT_TRUE(std::isinf(r.y[1]) && r.y[1] > 0);
    }
  }
}

}  // namespace

// Every way a library call can fail reports an rnn::Error naming what is
// wrong: never std::out_of_range, std::invalid_argument, a JSON library
// exception or a crash.
TEST(Errors, EveryLibraryFailureIsAnRnnError) {
  rnn::ModelConfig cfg;
  cfg.input_size = 3;
  cfg.hidden_size = 4;
  cfg.output_size = 2;
  const rnn::Model model = rnn::Model::random(cfg, 1);
  rnn::Model with_embedding = model;
  with_embedding.embedding = testbed::random_tensor({5, 3}, 2);
  const rnn::Tensor x = testbed::random_tensor({2, 1, 3}, 3);
  const std::string garbage = "not a model at all, nothing like safetensors";
  const std::vector<uint8_t> bytes(garbage.begin(), garbage.end());
  const std::vector<std::pair<const char*, std::function<void()>>> failures = {
      {"Tensor::dim past the rank", [&] { (void)x.dim(5); }},
      {"Tensor::dim below 0", [&] { (void)x.dim(-1); }},
      {"Tensor with data of the wrong size", [] { rnn::Tensor({2, 2}, {1.0f}); }},
      {"Tensor of a negative extent", [] { rnn::Tensor({-1}); }},
      {"Model::cell out of range", [&] { (void)model.cell(3, 0); }},
      {"an invalid config", [] { rnn::Model(rnn::ModelConfig{}); }},
      {"a file that is not there", [] { rnn::load_model("/nonexistent/model.safetensors"); }},
      {"bytes that are no model", [&] { rnn::parse_model(bytes.data(), bytes.size(), "bytes"); }},
      {"a JSON header of the wrong types",
       [] {
         const std::string h = R"({"w":{"dtype":5,"shape":"x","data_offsets":[0,0]}})";
         std::vector<uint8_t> f(8, 0);
         f[0] = static_cast<uint8_t>(h.size());
         f.insert(f.end(), h.begin(), h.end());
         rnn::parse_safetensors(f.data(), f.size(), "f");
       }},
      {"forward on x of the wrong width", [&] { rnn::forward(model, testbed::random_tensor({2, 1, 4}, 1)); }},
      {"a length past T", [&] { const std::vector<int64_t> len{3}; rnn::forward(model, x, nullptr, &len); }},
      {"embed without an embedding", [&] { rnn::embed(model, {0}, {1, 1}); }},
      {"embed of an id past V", [&] { rnn::embed(with_embedding, {0, 5}, {2, 1}); }},
      {"head_backward of the wrong dlogits",
       [&] {
         rnn::Model g(cfg);
         rnn::head_backward(model, testbed::random_tensor({2, 1, 4}, 1), testbed::random_tensor({2, 1, 3}, 1), g);
       }},
      {"softmax_cross_entropy of a target past O",
       [&] { rnn::softmax_cross_entropy(testbed::random_tensor({1, 2}, 1), {7}); }},
      {"an optimizer of learning rate 0",
       [&] {
         rnn::OptimizerOptions o;
         o.lr = 0;
         rnn::Optimizer(model, o);
       }},
      {"a Stepper of batch 0", [&] { rnn::Stepper(model, 0); }},
      {"invalid UTF-8", [] { rnn::decode_utf8(std::string("a\xff"), "text"); }},
      {"an unknown device name", [] { rnn::parse_device("tpu", "--device"); }},
      {"an unknown kernel name", [] { rnn::parse_kernel("fast", "--kernel"); }},
      {"an unwritable path", [] { rnn::check_writable("/nonexistent/dir/m.safetensors"); }},
      {"a size product past 64 bits", [] { rnn::checked_mul(uint64_t{1} << 40, uint64_t{1} << 40, "n"); }},
      {"a .npy that is not there", [] { rnn::read_npy("/nonexistent/x.npy"); }},
  };
  for (const auto& [what, fail] : failures) {
    SCOPED_TRACE(what);
    try {
      fail();
      ADD_FAILURE() << "no error";
    } catch (const rnn::Error& e) {
      EXPECT_FALSE(e.subject().empty() && e.message().empty());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not an rnn::Error: " << e.what();
    }
  }
}
