// tests/cli/test_cli_train_char.cpp: `rnn train-char` and `rnn sample` as a
// user runs them (the contract: test_cli.cpp): a model that learns "hello",
// determinism (the fast CPU backend's at each thread count too), argument
// errors, an output refused before training, the default output name and
// stdin, a model too large for memory, SIGINT and SIGTERM, validation with
// --keep best.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace {

using cli_test::Cli;
using cli_test::Outcome;
using cli_test::quote;
using cli_test::slurp;

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

}  // namespace
