// tests/cli/test_cli_tasks.cpp: the task commands as a user runs them (the
// contract: test_cli.cpp): train-classify then classify, train-tag then tag,
// train-seq2seq then translate, each learning a small task from generated
// TSV files, reading stdin (unknown characters refused or skipped), and
// refusing malformed training files and other kinds of model.
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "cli_helpers.hpp"

namespace {

using cli_test::Cli;
using cli_test::Outcome;
using cli_test::slurp;

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

}  // namespace
