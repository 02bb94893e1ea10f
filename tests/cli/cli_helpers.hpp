// tests/cli/cli_helpers.hpp: what the suites of the `rnn` program share
// (test_cli.cpp, test_cli_train_char.cpp, test_cli_tasks.cpp): the Cli
// fixture, which runs the program through the shell with its stdout and
// stderr captured in a scratch folder, checks the error contract
// (expect_error) and builds a valid run of a parity fixture to vary.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testbed.hpp"

// A named namespace, not an anonymous one: every TEST_F(Cli, ...) must
// derive from the one fixture class, whichever file it is in.
namespace cli_test {

struct Outcome {
  int code = -1;  // exit status, or 128 + signal
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::string quote(const std::string& s) {
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

}  // namespace cli_test
