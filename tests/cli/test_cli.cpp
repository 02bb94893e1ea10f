// tests/cli/test_cli.cpp: the `rnn` program as a user runs it. The contract
// (../shared/DESIGN.md): exit 0 on success; on bad input a non-zero exit,
// exactly one stderr line "rnn: error: <file or flag>: <what>", no crash
// (no signal), and no output file written.
#include <sys/wait.h>

#include <chrono>
#include <random>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "testbed.hpp"

namespace {

struct Outcome {
  int code = -1;  // exit status, or 128 + signal
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class Cli : public ::testing::Test {
 protected:
  Outcome rnn(const std::vector<std::string>& args) { return rnn_shell(args, ""); }

  // rnn with `input` on stdin.
  Outcome rnn_stdin(const std::vector<std::string>& args, const std::string& input) {
    const std::string in = dir.file("stdin.txt");
    std::ofstream(in, std::ios::binary) << input;
    return rnn_shell(args, "< " + quote(in));
  }
  // rnn with extra shell text after the arguments (a redirection), run from
  // `cwd` when given, or under `prefix` (a command such as timeout).
  Outcome rnn_shell(const std::vector<std::string>& args, const std::string& tail, const std::string& cwd = "",
                    const std::string& prefix = "") {
    std::string cmd = cwd.empty() ? "" : "cd " + quote(cwd) + " && ";
    cmd += prefix + quote(RNN_CLI_PATH);
    for (const auto& a : args) cmd += " " + quote(a);
    const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
    cmd += " " + tail + " >" + quote(out) + " 2>" + quote(err);
    const int status = std::system(cmd.c_str());
    Outcome r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // Bad input: non-zero exit (not a crash), one stderr line naming `subject`.
  void expect_error(const Outcome& r, const std::string& subject, const std::string& what) {
    EXPECT_NE(r.code, 0);
    EXPECT_LT(r.code, 128) << "killed by a signal";
    EXPECT_EQ(r.err.rfind("rnn: error: " + subject + ": ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(y_path())) << "an output was written";
    EXPECT_FALSE(std::filesystem::exists(hn_path())) << "an output was written";
  }

  std::string y_path() const { return dir.file("y.npy"); }
  std::string hn_path() const { return dir.file("hn.npy"); }
  std::string fixture(const std::string& name) const {
    return testbed::data_path("parity/t08_varlen_bidir_layers2_batch_first/" + name);
  }
  // A valid run of the fixture plus `extra`, with some arguments replaced.
  std::vector<std::string> run_args(std::map<std::string, std::string> replace = {},
                                    std::vector<std::string> extra = {}) const {
    std::map<std::string, std::string> a = {{"--model", fixture("model.safetensors")},
                                            {"--input", fixture("x.npy")},
                                            {"--h0", fixture("h0.npy")},
                                            {"--lengths", fixture("lengths.npy")},
                                            {"--output", y_path()},
                                            {"--final-state", hn_path()},
                                            {"--device", "cpu"}};
    for (auto& [k, v] : replace) a[k] = v;
    std::vector<std::string> args = {"run", "--batch-first"};
    for (auto& [k, v] : a)
      if (!v.empty()) args.insert(args.end(), {k, v});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::string write_npy(const std::string& name, const rnn::Tensor& t) {
    rnn::write_npy(dir.file(name), t);
    return dir.file(name);
  }
  std::string write_ints(const std::string& name, std::vector<int64_t> shape, std::vector<int64_t> v) {
    rnn::IntArray a{std::move(shape), std::move(v)};
    rnn::write_npy(dir.file(name), a);
    return dir.file(name);
  }

  testbed::ScratchDir dir;
};

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

TEST_F(Cli, TrainCharOnHelloThenGreedySampleSaysHello) {
  const std::string model = dir.file("hello.safetensors");
  const Outcome t = rnn({"train-char", "--string", "hello", "--out", model});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("\ntrain_bpc="), std::string::npos) << t.out;
  EXPECT_EQ(t.out.back(), '\n');
  const Outcome s = rnn({"sample", "--model", model, "--prime", "h", "--length", "4", "--temperature", "0"});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out, "hello\n");
}

TEST_F(Cli, TrainCharIsDeterministic) {
  for (const char* name : {"a.safetensors", "b.safetensors"}) {
    const Outcome t = rnn({"train-char", "--string", "abcabd", "--steps", "20", "--hidden", "8", "--out", dir.file(name)});
    ASSERT_EQ(t.code, 0) << t.err;
  }
  EXPECT_EQ(slurp(dir.file("a.safetensors")), slurp(dir.file("b.safetensors")));
}

// The fast CPU backend's results are the same bytes run after run at a
// given thread count (a forward and backward pass large enough for the
// team to split both the steps and the GEMMs: H = 160, B = 9 with lengths,
// two layers, both directions; and a few training updates), and agree
// across thread counts within float rounding (the BLAS may sum a slice of
// a GEMM in another order than the whole).
TEST_F(Cli, FastCpuResultsAreDeterministicAtEachThreadCount) {
  rnn::ModelConfig cfg;
  cfg.input_size = 40;
  cfg.hidden_size = 160;
  cfg.num_layers = 2;
  cfg.bidirectional = true;
  const std::string model = dir.file("m.safetensors");
  rnn::save_model(rnn::Model::random(cfg, 5), model);
  const std::string x = write_npy("x.npy", testbed::random_tensor({30, 9, 40}, 6));
  const std::string dy = write_npy("dy.npy", testbed::random_tensor({30, 9, 320}, 7));
  const std::string len = write_ints("len.npy", {9}, {30, 12, 30, 1, 29, 7, 30, 18, 3});
  auto run = [&](const std::string& threads, const std::string& tag) {
    const std::string env = "env RNN_NUM_THREADS=" + threads + " ";
    const Outcome b = rnn_shell({"backward", "--model", model, "--input", x, "--lengths", len, "--grad-output", dy,
                                 "--grad-input", dir.file("dx" + tag + ".npy"), "--grad-h0", dir.file("dh0" + tag + ".npy"),
                                 "--grad-weights", dir.file("g" + tag + ".safetensors"), "--device", "cpu"},
                                "", "", env);
    ASSERT_EQ(b.code, 0) << b.err;
    const Outcome tr = rnn_shell({"train-char", "--string", std::string(600, 'a') + "bcabdeabcfg", "--hidden", "160",
                                  "--batch", "8", "--seq-len", "20", "--steps", "3", "--device", "cpu", "--out",
                                  dir.file("lm" + tag + ".safetensors")},
                                 "", "", env);
    ASSERT_EQ(tr.code, 0) << tr.err;
  };
  run("2", "a");
  run("2", "b");
  run("1", "c");
  for (const std::string f : {"dx%.npy", "dh0%.npy", "g%.safetensors", "lm%.safetensors"}) {
    std::string a = f, b = f;
    a.replace(a.find('%'), 1, "a");
    b.replace(b.find('%'), 1, "b");
    EXPECT_EQ(slurp(dir.file(a)), slurp(dir.file(b))) << a << " differs between two runs on 2 threads";
  }
  for (const char* f : {"dx", "dh0"}) {
    const rnn::Tensor two = rnn::read_npy(dir.file(std::string(f) + "a.npy"));
    const rnn::Tensor one = rnn::read_npy(dir.file(std::string(f) + "c.npy"));
    ASSERT_EQ(two.shape(), one.shape());
    double num = 0, den = 0;
    for (int64_t i = 0; i < one.numel(); ++i) {
      num += (static_cast<double>(two[i]) - one[i]) * (static_cast<double>(two[i]) - one[i]);
      den += static_cast<double>(one[i]) * one[i];
    }
    EXPECT_LT(std::sqrt(num / den), 1e-6) << f << ": 2 threads against 1";
  }
}

TEST_F(Cli, TrainCharArgumentErrors) {
  expect_error(rnn({"train-char", "--steps", "3"}), "--text/--string", "exactly one");
  // Each bad size named alone; no training of nothing.
  expect_error(rnn({"train-char", "--string", "abc", "--steps", "0"}), "--steps", "must be at least 1 (got 0)");
  expect_error(rnn({"train-char", "--string", "abc", "--seq-len", "-2"}), "--seq-len", "must be at least 1");
  expect_error(rnn({"train-char", "--string", "abc", "--layers", "0"}), "--layers", "must be at least 1");
  expect_error(rnn({"train-char", "--string", "abc", "--threads", "0"}), "--threads", "must be at least 1");
  expect_error(rnn(run_args({}, {"--threads", "-1"})), "--threads", "must be at least 1");
  expect_error(rnn({"train-char", "--string", "abc", "--keep", "best"}), "--keep", "needs validation");
  expect_error(rnn({"train-char", "--string", "abc", "--eval-every", "5"}), "--eval-every", "held-out part");
  expect_error(rnn({"train-tag", "--train", fixture("x.npy"), "--test", fixture("x.npy"), "--batch", "0"}), "--batch",
               "must be at least 1");
  expect_error(rnn({"train-char", "--string", "abc", "--optimizer", "rmsprop"}), "--optimizer", "unknown optimizer");
  expect_error(rnn({"train-char", "--string", "a"}), "--string", "at least 2 characters");
  const std::string missing = dir.file("missing.txt");
  expect_error(rnn({"train-char", "--text", missing}), missing, "no such file");
}

// The output is checked before the first update: a bad --out fails at once
// (100000 updates would take minutes), and leaves nothing behind.
TEST_F(Cli, TrainingRefusesAnUnwritableOutputBeforeTraining) {
  const std::string text = dir.file("text.txt");
  std::ofstream(text) << "the cat sat on the mat, the dog sat on the log. ";
  const std::string bad = dir.file("no/such/folder/m.safetensors");
  const auto t0 = std::chrono::steady_clock::now();
  expect_error(rnn({"train-char", "--text", text, "--out", bad, "--steps", "100000"}), bad,
               "folder " + dir.file("no/such/folder") + " does not exist");
  expect_error(rnn({"train-char", "--text", text, "--out", dir.path(), "--steps", "100000"}), dir.path(),
               "is a directory");
  const std::string tsv = dir.file("t.tsv");
  std::ofstream(tsv) << "x\tabc\ny\tdef\n";
  expect_error(rnn({"train-classify", "--train", tsv, "--test", tsv, "--out", bad, "--steps", "100000"}), bad,
               "does not exist");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("no")));
}

// Without --out the model is saved beside the command, named after its input.
TEST_F(Cli, TrainingWithoutOutSavesUnderTheInputsName) {
  const std::string text = dir.file("story.txt");
  std::ofstream(text) << "abcabcabd";
  const std::string work = dir.file("work");
  std::filesystem::create_directory(work);
  const Outcome t = rnn_shell({"train-char", "--text", text, "--steps", "2", "--hidden", "4"}, "", work);
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("saved story.safetensors"), std::string::npos) << t.out;
  EXPECT_EQ(rnn::load_model(work + "/story.safetensors").config().hidden_size, 4);
  // - reads the text from stdin.
  const Outcome s = rnn_shell({"train-char", "--text", "-", "--steps", "2", "--hidden", "4"}, "< " + quote(text), work);
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("saved stdin.safetensors"), std::string::npos) << s.out;
}

// A model too large to train is refused before any of it is allocated,
// naming the memory it needs.
TEST_F(Cli, TrainingTooLargeForMemoryIsRefusedAtOnce) {
  if (rnn::host_memory_available() > (uint64_t{200} << 30)) GTEST_SKIP() << "this machine could hold it";
  const auto t0 = std::chrono::steady_clock::now();
  const Outcome r = rnn({"train-char", "--string", "hello", "--hidden", "65536", "--out", dir.file("m.safetensors")});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  expect_error(r, "--hidden", "GiB of host memory");
  EXPECT_NE(r.err.find("training a model of 4295622660 parameters"), std::string::npos) << r.err;
  EXPECT_LT(seconds, 5.0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.safetensors")));
  // The task commands too (the model, its optimizer and a step's memory).
  const std::string tsv = dir.file("t.tsv");
  std::ofstream(tsv) << "x\tab\ny\tba\n";
  for (const char* cmd : {"train-classify", "train-tag", "train-seq2seq"}) {
    SCOPED_TRACE(cmd);
    const std::string train = std::string(cmd) == "train-tag" ? dir.file("g.tsv") : tsv;
    if (std::string(cmd) == "train-tag") std::ofstream(train) << "ab\tU-\n";
    const auto t1 = std::chrono::steady_clock::now();
    expect_error(rnn({cmd, "--train", train, "--test", train, "--hidden", "65536", "--out", dir.file("m.safetensors")}),
                 "--hidden", "GiB of host memory");
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(), 5.0);
  }
}

// SIGINT (Ctrl-C) ends training after the current update: the model is
// saved, the exit status is 130, and nothing else is left in the folder.
TEST_F(Cli, InterruptedTrainingSavesAndExits130) {
  const std::string work = dir.file("work");
  std::filesystem::create_directory(work);
  const std::string text = dir.file("text.txt");
  {
    std::ofstream f(text);
    for (int i = 0; i < 400; ++i) f << "the quick brown fox jumps over the lazy dog " << i << ". ";
  }
  for (const std::string sig : {"INT", "TERM", "INT"}) {
    SCOPED_TRACE(sig);
    const Outcome r = rnn_shell({"train-char", "--text", text, "--out", "m.safetensors", "--steps", "1000000",
                                 "--save-every", "3"},
                                "", work, "timeout --preserve-status -s " + sig + " 2 ");
    EXPECT_EQ(r.code, sig == "INT" ? 130 : 143) << r.err;
    EXPECT_NE(r.out.find("interrupted (SIG" + sig + ") after "), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.out.find("; saved m.safetensors"), std::string::npos) << r.out;
    EXPECT_EQ(rnn::load_model(work + "/m.safetensors").config().hidden_size, 128);
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(work)) left.push_back(e.path().filename().string());
    EXPECT_EQ(left, std::vector<std::string>{"m.safetensors"});
    std::filesystem::remove(work + "/m.safetensors");
  }
}

// --eval-every prints the validation figure; --keep best saves the best one.
TEST_F(Cli, TrainCharValidatesAndKeepsTheBest) {
  const std::string text = dir.file("text.txt");
  {
    std::ofstream f(text);
    for (int i = 0; i < 300; ++i) f << "abcd efgh " << (i % 7) << ' ';
  }
  const std::string model = dir.file("m.safetensors");
  const Outcome r = rnn({"train-char", "--text", text, "--out", model, "--steps", "40", "--hidden", "16",
                         "--eval-every", "10", "--keep", "best", "--seq-len", "20", "--batch", "4"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* at : {"step 10: val_bpc ", "step 20: val_bpc ", "step 30: val_bpc ", "step 40: val_bpc "})
    EXPECT_NE(r.err.find(at), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("(the best, from step "), std::string::npos) << r.out;
  // The saved model's validation figure is the smallest printed.
  double best = 1e9;
  for (size_t at = r.err.find("val_bpc "); at != std::string::npos; at = r.err.find("val_bpc ", at + 1))
    best = std::min(best, std::stod(r.err.substr(at + 8)));
  const size_t v = r.out.find("\nval_bpc=");
  ASSERT_NE(v, std::string::npos) << r.out;
  EXPECT_NEAR(std::stod(r.out.substr(v + 9)), best, 1e-4) << r.out << r.err;
}

TEST_F(Cli, SampleArgumentErrors) {
  const std::string model = dir.file("m.safetensors");
  ASSERT_EQ(rnn({"train-char", "--string", "abab", "--steps", "2", "--hidden", "4", "--out", model}).code, 0);
  expect_error(rnn({"sample", "--model", model, "--prime", "z"}), "--prime", "not in the model's vocabulary");
  expect_error(rnn({"sample", "--model", fixture("model.safetensors"), "--prime", "a"}),
               fixture("model.safetensors"), "not a character model");
  expect_error(rnn({"sample", "--model", model, "--prime", "a", "--temperature", "-1"}), "--temperature",
               "must be 0");
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

// Label = the letter a text holds most of ("a" or "b"): learnt well above chance.
TEST_F(Cli, TrainClassifyThenClassifyStdin) {
  std::mt19937_64 gen(9);
  auto write = [&](const std::string& name, int n) {
    std::ofstream f(dir.file(name));
    for (int i = 0; i < n; ++i) {
      const int len = 3 + static_cast<int>(gen() % 6);
      std::string t;
      int a = 0;
      for (int k = 0; k < len; ++k) {
        const bool is_a = gen() % 2;
        t += is_a ? 'a' : 'b';
        a += is_a;
      }
      if (2 * a == len) t += 'a', ++a;
      f << (2 * a > static_cast<int>(t.size()) ? "more_a" : "more_b") << '\t' << t << '\n';
    }
    return dir.file(name);
  };
  const std::string train = write("train.tsv", 400), test = write("test.tsv", 200);
  const std::string model = dir.file("clf.safetensors");
  const Outcome t = rnn({"train-classify", "--train", train, "--test", test, "--out", model, "--hidden", "16",
                         "--bidirectional", "--steps", "300", "--lr", "0.02"});
  ASSERT_EQ(t.code, 0) << t.err;
  const size_t at = t.out.rfind("test_accuracy=");
  ASSERT_NE(at, std::string::npos) << t.out;
  EXPECT_EQ(t.out.find('\n', at), t.out.size() - 1) << "test_accuracy= must be the last line";
  EXPECT_GE(std::stod(t.out.substr(at + 14)), 0.9) << t.out;
  EXPECT_NE(t.out.find("majority_baseline="), std::string::npos);

  const std::string in = dir.file("in.txt");
  std::ofstream(in) << "aaaab\nbbbba\nabab\n";
  const std::string cmd = std::string(RNN_CLI_PATH) + " classify --model " + model + " < " + in + " > " +
                          dir.file("labels.txt");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string labels = slurp(dir.file("labels.txt"));
  EXPECT_EQ(labels.substr(0, 14), "more_a\nmore_b\n") << labels;
  EXPECT_EQ(std::count(labels.begin(), labels.end(), '\n'), 3);
  // A character the model never saw is named with its position, not read as
  // something else; --unknown skip drops it; an empty line is refused.
  expect_error(rnn_stdin({"classify", "--model", model}, "aab\nabcb\n"), "stdin: line 2", "'c' (U+0063) at position 2");
  const Outcome skip = rnn_stdin({"classify", "--model", model, "--unknown", "skip"}, "aaacb\n");
  ASSERT_EQ(skip.code, 0) << skip.err;
  EXPECT_EQ(skip.out, "more_a\n");
  expect_error(rnn_stdin({"classify", "--model", model}, "ab\n\n"), "stdin: line 2", "empty");
  expect_error(rnn_stdin({"classify", "--model", model, "--unknown", "skip"}, "zz\n"), "stdin: line 1",
               "no character of it");
  expect_error(rnn_stdin({"classify", "--model", model, "--unknown", "drop"}, "ab\n"), "--unknown", "expected error or skip");
}

TEST_F(Cli, TrainClassifyRejectsMalformedTsvAndUnknownTestLabels) {
  const std::string bad = dir.file("bad.tsv");
  std::ofstream(bad) << "x\tabc\nno tab here\n";
  expect_error(rnn({"train-classify", "--train", bad, "--test", bad}), bad, "line 2: expected label<TAB>text");
  const std::string train = dir.file("t.tsv"), test = dir.file("u.tsv");
  std::ofstream(train) << "x\tabc\ny\tdef\n";
  std::ofstream(test) << "z\tabc\n";
  expect_error(rnn({"train-classify", "--train", train, "--test", test}), test, "label 'z' does not occur");
}

// Tag 'U' on the letter after each '.': learnt to a high F1, then `rnn tag`.
TEST_F(Cli, TrainTagThenTagStdin) {
  std::mt19937_64 gen(11);
  auto write = [&](const std::string& name, int n) {
    std::ofstream f(dir.file(name));
    for (int i = 0; i < n; ++i) {
      std::string text, tags;
      bool after_dot = true;
      const int len = 6 + static_cast<int>(gen() % 10);
      for (int k = 0; k < len; ++k) {
        const char ch = "ab. "[gen() % 4];
        text += ch;
        const bool letter = ch == 'a' || ch == 'b';
        tags += letter && after_dot ? 'U' : '-';
        if (letter) after_dot = false;
        if (ch == '.') after_dot = true;
      }
      f << text << '\t' << tags << '\n';
    }
    return dir.file(name);
  };
  const std::string train = write("train.tsv", 300), test = write("test.tsv", 100);
  const std::string model = dir.file("tagger.safetensors");
  const Outcome t = rnn({"train-tag", "--train", train, "--test", test, "--out", model, "--hidden", "16", "--steps",
                         "300", "--lr", "0.02"});
  ASSERT_EQ(t.code, 0) << t.err;
  const size_t f1 = t.out.find("f1[U]=");
  ASSERT_NE(f1, std::string::npos) << t.out;
  EXPECT_GE(std::stod(t.out.substr(f1 + 6)), 0.9) << t.out;
  const size_t at = t.out.rfind("test_token_accuracy=");
  ASSERT_NE(at, std::string::npos) << t.out;
  EXPECT_EQ(t.out.find('\n', at), t.out.size() - 1) << "test_token_accuracy= must be the last line";

  const std::string in = dir.file("in.txt");
  std::ofstream(in) << "ab. ba\n";
  const std::string cmd = std::string(RNN_CLI_PATH) + " tag --model " + model + " < " + in + " > " + dir.file("t.txt");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(dir.file("t.txt")), "U---U-\n");
  expect_error(rnn_stdin({"tag", "--model", model}, "ab.\nab.z\n"), "stdin: line 2", "'z' (U+007A) at position 3");
  // skip keeps one tag per character (the unknown one read as the unknown
  // symbol); an empty line is tagged with an empty line.
  const Outcome skip = rnn_stdin({"tag", "--model", model, "--unknown", "skip"}, "ab.z\n\nb\n");
  ASSERT_EQ(skip.code, 0) << skip.err;
  ASSERT_EQ(skip.out.size(), std::string("xxxx\n\nx\n").size()) << skip.out;
  EXPECT_EQ(skip.out.substr(0, 3), "U--");
  EXPECT_EQ(skip.out.substr(4), "\n\nU\n");
}

TEST_F(Cli, TrainTagRejectsTagsOfTheWrongLength) {
  const std::string bad = dir.file("bad.tsv");
  std::ofstream(bad) << "abc\tUU\n";
  expect_error(rnn({"train-tag", "--train", bad, "--test", bad}), bad, "line 1: 3 characters but 2 tags");
}

// Reverse 2 to 4 letters: an encoder-decoder learns it to >= 90% exact match.
TEST_F(Cli, TrainSeq2SeqThenTranslate) {
  std::mt19937_64 gen(13);
  auto write = [&](const std::string& name, int n) {
    std::ofstream f(dir.file(name));
    for (int i = 0; i < n; ++i) {
      std::string s;
      const int len = 2 + static_cast<int>(gen() % 3);
      for (int k = 0; k < len; ++k) s += "abc"[gen() % 3];
      f << s << '\t' << std::string(s.rbegin(), s.rend()) << '\n';
    }
    return dir.file(name);
  };
  const std::string train = write("train.tsv", 300), test = write("test.tsv", 60);
  for (const std::string context : {"--context", "--no-context"}) {
    SCOPED_TRACE(context);
    const std::string model = dir.file("s2s" + context + ".safetensors");
    const Outcome t = rnn({"train-seq2seq", "--train", train, "--test", test, "--out", model, "--hidden", "24",
                           "--steps", "700", "--batch", "16", "--lr", "0.02", context});
    ASSERT_EQ(t.code, 0) << t.err;
    const size_t at = t.out.rfind("test_exact_match=");
    ASSERT_NE(at, std::string::npos) << t.out;
    EXPECT_EQ(t.out.find('\n', at), t.out.size() - 1) << "test_exact_match= must be the last line";
    EXPECT_GE(std::stod(t.out.substr(at + 17)), 0.9) << t.out;
    // The file says which decoder input it was trained with.
    const auto meta = rnn::read_safetensors(model).metadata;
    EXPECT_EQ(meta.at("decoder_context"), context == "--context" ? "true" : "false");
    const std::string in = dir.file("in.txt");
    std::ofstream(in) << "abc\ncab\n";
    const std::string cmd =
        std::string(RNN_CLI_PATH) + " translate --model " + model + " < " + in + " > " + dir.file("out.txt");
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    EXPECT_EQ(slurp(dir.file("out.txt")), "cba\nbac\n");
    expect_error(rnn_stdin({"translate", "--model", model}, "dab\n"), "stdin: line 1", "'d' (U+0064) at position 0");
    expect_error(rnn_stdin({"translate", "--model", model}, "\n"), "stdin: line 1", "empty");
    const Outcome skip = rnn_stdin({"translate", "--model", model, "--unknown", "skip"}, "adbc\n");
    ASSERT_EQ(skip.code, 0) << skip.err;
    EXPECT_EQ(skip.out, "cba\n");
  }
}

TEST_F(Cli, TranslateRefusesOtherModels) {
  const std::string m = fixture("model.safetensors");
  const std::string cmd = std::string(RNN_CLI_PATH) + " translate --model " + m + " < /dev/null 2> " +
                          dir.file("err.txt");
  EXPECT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(slurp(dir.file("err.txt")).find("not a model from rnn train-seq2seq"), std::string::npos);
}

TEST_F(Cli, InfoOnABadModel) {
  const std::string bad = write_npy("not_a_model.safetensors", testbed::random_tensor({3}, 1));
  const Outcome r = rnn({"info", "--model", bad});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.err.rfind("rnn: error: " + bad + ": ", 0), 0u) << r.err;
}

}  // namespace
