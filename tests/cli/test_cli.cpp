// tests/cli/test_cli.cpp: the `rnn` program as a user runs it. The contract
// (../shared/DESIGN.md): exit 0 on success; on bad input a non-zero exit,
// exactly one stderr line "rnn: error: <file or flag>: <what>", no crash
// (no signal), and no output file written.
//
// Here: run, info, backward, bench and --help, and bad arguments and inputs.
// The training commands: test_cli_train_char.cpp (train-char, sample) and
// test_cli_tasks.cpp (train-classify, train-tag, train-seq2seq and their
// classify, tag and translate); the fixture: cli_helpers.hpp.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace {

using cli_test::Cli;
using cli_test::Outcome;
using cli_test::slurp;

TEST_F(Cli, RunWritesOutputsMatchingPyTorch) {
  const Outcome r = rnn(run_args());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_NE(r.out.find("on cpu"), std::string::npos) << r.out;
  EXPECT_TRUE(testbed::close(rnn::read_npy(y_path()), rnn::read_npy(fixture("expected_y.npy")), 1e-6));
  EXPECT_TRUE(testbed::close(rnn::read_npy(hn_path()), rnn::read_npy(fixture("expected_hn.npy")), 1e-6));
  // No temporaries left beside the outputs.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.path().extension() == ".npy";
  EXPECT_EQ(files, 2);
}

// --check-finite: a clean run passes; a NaN in x is reported at the first
// non-finite output (batch-first coordinates here), and nothing is written.
TEST_F(Cli, CheckFiniteNamesTheFirstNonFiniteOutput) {
  ASSERT_EQ(rnn(run_args({}, {"--check-finite"})).code, 0);
  std::filesystem::remove(y_path());
  std::filesystem::remove(hn_path());
  rnn::Tensor x = rnn::read_npy(fixture("x.npy"));  // [B, T, I]
  const int64_t T = x.dim(1), I = x.dim(2);
  x[(1 * T + 2) * I + 0] = std::nanf("");  // sequence 1, step 2
  const std::string bad = write_npy("x_nan.npy", x);
  // Expected position: the first NaN of y computed in process.
  rnn::ForwardOptions o;
  o.device = rnn::Device::Cpu;
  o.batch_first = true;
  const rnn::IntArray len = rnn::read_npy_int(fixture("lengths.npy"));
  const rnn::Tensor h0 = rnn::read_npy(fixture("h0.npy"));
  const auto r = rnn::forward(rnn::load_model(fixture("model.safetensors")), x, &h0, &len.data, o);
  const int64_t at = rnn::first_non_finite(r.y);
  ASSERT_GE(at, 0);
  const std::string where = "y" + rnn::index_string(r.y.shape(), at, {"b", "t", "k"}) + " is nan";
  EXPECT_EQ(where.rfind("y[b=1, ", 0), 0u) << where;  // sequence 0 stays finite
  expect_error(rnn(run_args({{"--input", bad}}, {"--check-finite"})), "--check-finite", where);
  // Without the flag the NaNs are written out, as PyTorch would return them.
  ASSERT_EQ(rnn(run_args({{"--input", bad}})).code, 0);
  EXPECT_GE(rnn::first_non_finite(rnn::read_npy(y_path())), 0);
}

TEST_F(Cli, ShapesBeyondTheLimitsAreRefusedNotCrashed) {
  const Outcome h = rnn({"train-char", "--string", "hello", "--hidden", "70000", "--steps", "1"});
  EXPECT_EQ(h.code, 1) << h.err;
  EXPECT_NE(h.err.find("hidden_size 70000 exceeds the maximum of 65536"), std::string::npos) << h.err;
  // x alone would be 100000 x 1000000 x 64 floats: refused before allocation.
  const Outcome b = rnn({"bench", "--device", "cpu", "--batch", "1000000", "--hidden", "64", "--steps", "100000",
                         "--warmup", "0", "--runs", "1"});
  EXPECT_EQ(b.code, 1) << b.err;
  // bench reports its progress on stderr; the error is the last line.
  const size_t last = b.err.rfind('\n', b.err.size() - 2);
  const std::string line = b.err.substr(last == std::string::npos ? 0 : last + 1);
  EXPECT_EQ(line.rfind("rnn: error: tensor: a tensor of shape [100000, 1000000, 64] needs", 0), 0u) << b.err;
  EXPECT_NE(line.find("GiB of host memory;"), std::string::npos) << b.err;
}

TEST_F(Cli, DeviceAutoRuns) {
  const Outcome r = rnn(run_args({{"--device", "auto"}}));
  ASSERT_EQ(r.code, 0) << r.err;
}

TEST_F(Cli, HelpOnEverySubcommand) {
  const Outcome top = rnn({"--help"});
  EXPECT_EQ(top.code, 0);
  EXPECT_NE(top.out.find("run"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("info"), std::string::npos) << top.out;
  for (const auto& args : std::vector<std::vector<std::string>>{{"run", "--help"}, {"info", "--help"}}) {
    const Outcome r = rnn(args);
    EXPECT_EQ(r.code, 0) << args[0];
    EXPECT_NE(r.out.find("--model"), std::string::npos) << r.out;
  }
  const Outcome r = rnn({"run", "--help"});
  for (const char* flag :
       {"--input", "--h0", "--lengths", "--batch-first", "--device", "--kernel", "--output", "--final-state"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST_F(Cli, InfoDescribesTheModel) {
  const Outcome r = rnn({"info", "--model", fixture("model.safetensors")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("layers: 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bidirectional"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hidden size: 5"), std::string::npos) << r.out;
}

TEST_F(Cli, UnknownFlag) {
  expect_error(rnn(run_args({}, {"--frobnicate"})), "--frobnicate", "unknown argument");
  expect_error(rnn({"info", "--model", fixture("model.safetensors"), "--input", "x"}), "--input", "unknown argument");
}

TEST_F(Cli, UnknownSubcommandOrNone) {
  Outcome r = rnn({"fly"});
  expect_error(r, "fly", "unknown command");
  // `rnn` alone shows what it can do.
  r = rnn({});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Usage: rnn"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train-char"), std::string::npos) << r.out;
}

// rnn info describes every kind of model the commands write.
TEST_F(Cli, InfoDescribesEveryKindOfModel) {
  const std::string train = dir.file("t.tsv");
  std::ofstream(train) << "x\tab\ny\tba\nx\taab\n";
  const std::string clf = dir.file("clf.safetensors"), s2s = dir.file("s2s.safetensors"), tg = dir.file("tg.safetensors");
  ASSERT_EQ(rnn({"train-classify", "--train", train, "--test", train, "--steps", "2", "--hidden", "4", "--out", clf}).code, 0);
  const std::string pairs = dir.file("p.tsv");
  std::ofstream(pairs) << "ab\tba\nba\tab\n";
  ASSERT_EQ(rnn({"train-seq2seq", "--train", pairs, "--test", pairs, "--steps", "2", "--hidden", "4", "--out", s2s}).code, 0);
  const std::string tags = dir.file("g.tsv");
  std::ofstream(tags) << "ab\tU-\nba\t-U\n";
  ASSERT_EQ(rnn({"train-tag", "--train", tags, "--test", tags, "--steps", "2", "--hidden", "4", "--out", tg}).code, 0);
  const std::string lm = dir.file("lm.safetensors");
  ASSERT_EQ(rnn({"train-char", "--string", "h\u00e9llo", "--steps", "2", "--hidden", "4", "--out", lm}).code, 0);
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {clf, {"kind: classifier", "labels: 2: x, y", "vocabulary: 3 symbols (index 0 reserved"}},
      {s2s, {"kind: encoder-decoder", "source vocabulary: 3 symbols", "encoder (encoder.*):", "decoder (decoder.*"}},
      {tg, {"kind: tagger", "tags: -U"}},
      {lm, {"kind: character language model", "vocabulary: 4 symbols: hlo\u00e9"}},  // characters, not bytes
      {fixture("model.safetensors"), {"kind: RNN", "layers: 2", "directions: 2"}}};
  for (const auto& [model, want] : cases) {
    const Outcome r = rnn({"info", "--model", model});
    ASSERT_EQ(r.code, 0) << model << ": " << r.err;
    for (const std::string& w : want) EXPECT_NE(r.out.find(w), std::string::npos) << model << ": " << w << "\n" << r.out;
  }
}

TEST_F(Cli, MissingRequiredFlag) {
  expect_error(rnn(run_args({{"--model", ""}})), "--model", "is required");
  expect_error(rnn(run_args({{"--input", ""}})), "--input", "is required");
}

TEST_F(Cli, FlagWithoutValue) { expect_error(rnn({"run", "--model"}), "--model", "needs a value"); }

TEST_F(Cli, UnknownFlagIsReportedBeforeMissingOnes) {
  expect_error(rnn({"run", "--model", fixture("model.safetensors"), "--inptu", "x.npy"}), "--inptu",
               "unknown argument");
}

TEST_F(Cli, StrayPositionalArgument) {
  expect_error(rnn(run_args({}, {"extra.npy"})), "extra.npy", "unexpected argument");
}

TEST_F(Cli, UnknownDevice) { expect_error(rnn(run_args({{"--device", "gpu"}})), "--device", "unknown device 'gpu'"); }

TEST_F(Cli, UnknownKernel) {
  expect_error(rnn(run_args({{"--kernel", "fast"}})), "--kernel", "unknown kernel 'fast'");
}

TEST_F(Cli, CudaWithoutBackend) {
  if (rnn::cuda_forward_available()) GTEST_SKIP() << "the CUDA forward path is available here";
  expect_error(rnn(run_args({{"--device", "cuda"}})), "--device", "cuda: ");
}

TEST_F(Cli, MissingModelFile) {
  const std::string missing = dir.file("nope.safetensors");
  expect_error(rnn(run_args({{"--model", missing}})), missing, "no such file");
}

TEST_F(Cli, TruncatedModelFile) {
  const std::string bytes = slurp(fixture("model.safetensors"));
  const std::string cut = dir.file("cut.safetensors");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_error(rnn(run_args({{"--model", cut}})), cut, "truncated");
}

TEST_F(Cli, InputOfWrongRank) {
  const std::string x = write_npy("x2.npy", testbed::random_tensor({3, 6}, 1));
  expect_error(rnn(run_args({{"--input", x}})), x, "expected 3 [B, T, I]");
}

TEST_F(Cli, InputOfWrongFeatureSize) {
  const std::string x = write_npy("x5.npy", testbed::random_tensor({3, 6, 5}, 1));
  expect_error(rnn(run_args({{"--input", x}})), x, "model expects 4");
}

TEST_F(Cli, InputWithTZero) {
  const std::string x = write_npy("x0.npy", rnn::Tensor({3, 0, 4}));
  expect_error(rnn(run_args({{"--input", x}})), x, "T = 0");
}

TEST_F(Cli, H0OfWrongShape) {
  const std::string h0 = write_npy("h0.npy", testbed::random_tensor({4, 2, 5}, 1));
  expect_error(rnn(run_args({{"--h0", h0}})), h0, "expected [L*D, B, H] = [4, 3, 5]");
}

TEST_F(Cli, LengthsZeroOrBeyondT) {
  const std::string zero = write_ints("len0.npy", {3}, {4, 0, 2});
  expect_error(rnn(run_args({{"--lengths", zero}})), zero, "outside [1, T] = [1, 6]");
  const std::string big = write_ints("len7.npy", {3}, {4, 7, 2});
  expect_error(rnn(run_args({{"--lengths", big}})), big, "outside [1, T] = [1, 6]");
}

TEST_F(Cli, LengthsOfWrongCountRankOrDtype) {
  const std::string two = write_ints("len2.npy", {2}, {4, 2});
  expect_error(rnn(run_args({{"--lengths", two}})), two, "2 lengths for a batch of 3");
  const std::string mat = write_ints("lenm.npy", {3, 1}, {4, 2, 1});
  expect_error(rnn(run_args({{"--lengths", mat}})), mat, "expected [B]");
  const std::string flt = write_npy("lenf.npy", rnn::Tensor({3}, {4, 2, 1}));
  expect_error(rnn(run_args({{"--lengths", flt}})), flt, "not an integer array");
}

TEST_F(Cli, InputThatIsNotNpy) {
  const std::string x = dir.file("x.txt");
  std::ofstream(x) << "1 2 3\n";
  expect_error(rnn(run_args({{"--input", x}})), x, "not a .npy file");
}

TEST_F(Cli, OutputIntoMissingFolder) {
  const std::string y = dir.file("no/such/dir/y.npy");
  const Outcome r = rnn(run_args({{"--output", y}}));
  expect_error(r, y, "cannot create file");
}

TEST_F(Cli, OutputAndFinalStateTheSameFile) {
  expect_error(rnn(run_args({{"--final-state", y_path()}})), "--final-state", "same file as --output");
}

TEST_F(Cli, BackwardWritesGradientsAndRefusesBadDy) {
  const std::string dy = write_npy("dy.npy", testbed::random_tensor({3, 6, 10}, 5));
  const Outcome ok = rnn({"backward", "--model", fixture("model.safetensors"), "--input", fixture("x.npy"), "--h0",
                          fixture("h0.npy"), "--lengths", fixture("lengths.npy"), "--batch-first", "--grad-output", dy,
                          "--grad-input", dir.file("dx.npy"), "--grad-h0", dir.file("dh0.npy"), "--grad-weights",
                          dir.file("g.safetensors")});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(rnn::read_npy(dir.file("dx.npy")).shape(), (std::vector<int64_t>{3, 6, 4}));
  EXPECT_EQ(rnn::read_npy(dir.file("dh0.npy")).shape(), (std::vector<int64_t>{4, 3, 5}));
  EXPECT_NE(rnn::read_safetensors(dir.file("g.safetensors")).find("weight_hh_l1_reverse"), nullptr);
  const std::string bad = write_npy("bad.npy", testbed::random_tensor({3, 6, 9}, 5));
  const Outcome r = rnn({"backward", "--model", fixture("model.safetensors"), "--input", fixture("x.npy"),
                         "--batch-first", "--grad-output", bad, "--grad-input", y_path()});
  expect_error(r, bad, "expected y's shape [3, 6, 10]");
}

TEST_F(Cli, BenchQuickOnTheCpuWritesLabelledRows) {
  const Outcome r = rnn({"bench", "--device", "cpu", "--batch", "1,2", "--hidden", "8", "--steps", "4", "--runs", "1",
                         "--json", dir.file("b.json"), "--csv", dir.file("b.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("CPU figures, not GPU ones"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("B=2 H=8 I=8 T=4 L=1 D=1"), std::string::npos) << r.out;
  // The fast backend's row, checked against the reference's, and the reference's.
  EXPECT_NE(r.out.find(" cpu "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" cpu reference "), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("b.json")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("b.csv")));
}

TEST_F(Cli, BenchRejectsBadSizes) {
  expect_error(rnn({"bench", "--batch", "1,0"}), "--batch", "'0' is not a positive integer");
  expect_error(rnn({"bench", "--hidden", "12x"}), "--hidden", "'12x' is not a positive integer");
  expect_error(rnn({"bench", "--runs", "0"}), "--runs", "must be at least 1");
}

TEST_F(Cli, InfoOnABadModel) {
  const std::string bad = write_npy("not_a_model.safetensors", testbed::random_tensor({3}, 1));
  const Outcome r = rnn({"info", "--model", bad});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.err.rfind("rnn: error: " + bad + ": ", 0), 0u) << r.err;
}

}  // namespace
