// cli/main.cpp: the `rnn` command-line program (cli::main; the process's
// main() is cli/rnn.cpp): the flag table and the errors; each command is in
// cli/commands/ (run.cpp: run, backward; charlm.cpp: train-char, sample;
// classify.cpp, tag.cpp, seq2seq.cpp: the task commands; info.cpp: info, bench).
//
//   rnn run  --model M --input X [--h0 H0] [--lengths L] [--batch-first]
//            [--device auto|cpu|cuda] [--kernel auto|stepwise|persistent|registers]
//            [--output Y] [--final-state HN]
//   rnn backward --model M --input X [--h0 H0] [--lengths L] [--batch-first]
//            --grad-output DY [--grad-final-state DHN] [--grad-input DX]
//            [--grad-h0 DH0] [--grad-weights G] [--device auto|cpu|cuda]
//   rnn train-char (--text F | --string S) [--out M] [--hidden N] [--layers N] [--seq-len N]
//            [--batch N] [--steps N] [--lr X] [--optimizer adam|sgd] [--clip X] [--seed N] [--device D]
//   rnn sample --model M --prime S [--length N] [--temperature T] [--seed N] [--device D]
//   rnn train-classify --train T.tsv --test T.tsv [--out M] [model and training flags]
//   rnn classify --model M [--device D]            (a label per stdin line)
//   rnn train-tag --train T.tsv --test T.tsv [--out M] [model and training flags]
//   rnn tag --model M [--device D]                  (the tags of each stdin line)
//   rnn train-seq2seq --train T.tsv --test T.tsv [--out M] [model and training flags]
//   rnn translate --model M                         (greedy decoding of each stdin line)
//   rnn info --model M
//   rnn bench [...]                                 (runs rnn-bench, bench/main.cpp, with the arguments)
//
// Contract (../shared/DESIGN.md): exit 0 on success; on any bad input a
// non-zero exit, exactly one line on stderr "rnn: error: <file or flag>:
// <what is wrong>", and no output file written (outputs are computed in
// full, then written to temporary names and renamed).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "cli.hpp"
#include "commands/charlm.hpp"
#include "commands/classify.hpp"
#include "commands/info.hpp"
#include "commands/run.hpp"
#include "commands/seq2seq.hpp"
#include "commands/tag.hpp"
#include "commands/task_args.hpp"
#include "rnn/rnn.hpp"

namespace {

constexpr int kExitError = 1;  // bad input or failure while running
constexpr int kExitUsage = 2;  // bad command line

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

int fail(const std::string& subject, const std::string& message, int code) {
  std::cerr << "rnn: error: " << one_line(subject.empty() ? message : subject + ": " + message) << std::endl;
  return code;
}

// Turns a CLI11 parse error into "subject: message" naming the flag.
int usage_error(const CLI::ParseError& e) {
  std::string msg = one_line(e.what());
  const std::string extras = " not expected: ";  // "The following argument(s) was/were not expected: "
  if (e.get_name() == "ExtrasError" && msg.find(extras) != std::string::npos) {
    const std::string args = msg.substr(msg.find(extras) + extras.size());
    return fail(args, std::string("unknown argument") + (args.find(' ') != std::string::npos ? "s" : "") +
                          " (see rnn --help)", kExitUsage);
  }
  if (e.get_name() == "RequiredError") {
    if (msg.find("subcommand") != std::string::npos)
      return fail("command", "missing: expected a command (see rnn --help)", kExitUsage);
    const std::string suffix = " is required";
    const size_t at = msg.find(suffix);
    if (at != std::string::npos) return fail(msg.substr(0, at), "is required", kExitUsage);
  }
  if (e.get_name() == "ArgumentMismatch") {
    const size_t colon = msg.find(": ");
    if (colon != std::string::npos) {
      const bool no_value = msg.find("missing") != std::string::npos;
      return fail(msg.substr(0, colon), no_value ? "needs a value" : msg.substr(colon + 2), kExitUsage);
    }
  }
  return fail("arguments", msg, kExitUsage);
}

// Before CLI11 parses (and reports a missing required flag first), names
// the first unknown command, flag or stray argument. Returns 0 when none.
int check_words(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) return 0;
  const std::string first = argv[1];
  if (first.empty() || first[0] == '-') return 0;  // --help, --version, or CLI11's own error
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
    if (s->get_name() == first) sub = s;
  if (!sub) return fail(first, "unknown command (see rnn --help)", kExitUsage);
  if (sub->get_prefix_command()) return 0;  // bench: its own program checks its arguments
  for (int i = 2; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0 && word != "-h") {
      return fail(word, "unexpected argument (see rnn " + first + " --help)", kExitUsage);
    }
    const bool inline_value = word.find('=') != std::string::npos;
    word = word.substr(0, word.find('='));
    const CLI::Option* opt = sub->get_option_no_throw(word);
    if (!opt) return fail(word, "unknown argument (see rnn " + first + " --help)", kExitUsage);
    if (opt->get_expected_min() > 0 && !inline_value) ++i;  // skip the option's value
  }
  return 0;
}

// The help texts of one task command's shared flags; `bidirectional`
// empty: no --bidirectional flag.
struct TaskFlagTexts {
  const char *train, *test, *out, *of_what, *unit, *bidirectional, *device;
};

// --train, --test, --out, --hidden, --layers, [--bidirectional], --batch,
// --steps, --lr, --optimizer, --clip, --seed, --device, with each default
// taken from `a`.
void add_task_flags(CLI::App* cmd, tasks::TrainArgs& a, const TaskFlagTexts& t) {
  auto dflt = [](const auto& v) {
    std::ostringstream s;
    s << " (default " << v << ")";
    return s.str();
  };
  cmd->add_option("--train", a.train, t.train)->required();
  cmd->add_option("--test", a.test, t.test)->required();
  cmd->add_option("--out", a.out, std::string(t.out) +
                                      " (default: the --train file's name + .safetensors; checked writable before "
                                      "training)");
  cmd->add_option("--hidden", a.hidden, std::string("hidden size") + t.of_what + dflt(a.hidden));
  cmd->add_option("--layers", a.layers, std::string("layers") + t.of_what + dflt(a.layers));
  if (*t.bidirectional) cmd->add_flag("--bidirectional", a.bidirectional, t.bidirectional);
  cmd->add_option("--batch", a.batch, std::string(t.unit) + " per update" + dflt(a.batch));
  cmd->add_option("--steps", a.steps, "optimizer updates" + dflt(a.steps));
  cmd->add_option("--lr", a.lr, "learning rate" + dflt(a.lr));
  cmd->add_option("--optimizer", a.optimizer, "adam (default) or sgd (momentum 0.9)");
  cmd->add_option("--clip", a.clip, "clip the gradients' global norm (default 5; 0: no clipping)");
  cmd->add_option("--seed", a.seed, "initialisation and shuffling seed" + dflt(a.seed));
  cmd->add_option("--device", a.device, t.device);
  cmd->add_option("--save-every", a.save_every, "also save the model every N updates (default 0: at the end only)");
}

constexpr const char* kDeviceHelp =
    "auto (default: a GPU when one is usable, else cpu), cpu (the fast CPU backend), cuda, or reference (the "
    "double-precision CPU oracle)";

constexpr const char* kSeq2seqDeviceHelp =
    "auto (default: a GPU when one is usable, else cpu), cpu (the fast CPU backend), cuda, or reference (the "
    "double-precision CPU oracle): where the RNNs train (decoding runs on the CPU)";

// --threads N: the fast CPU backend's threads (RNN_NUM_THREADS), set once
// the command line is parsed, before the command computes anything.
void add_threads_flag(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads,
                  "threads of the fast CPU backend (default: RNN_NUM_THREADS, else the cores this process may use)");
}

// --rnn-prefix, --head-prefix, --embedding-prefix (rnn::LoadOptions).
void add_load_flags(CLI::App* cmd, rnn::LoadOptions& a) {
  cmd->add_option("--rnn-prefix", a.rnn_prefix,
                  "the nn.RNN's module name in the state_dict (default: the one holding weight_ih_l0; . for bare)");
  cmd->add_option("--head-prefix", a.head_prefix,
                  "the nn.Linear head's module name (default: fc, head, decoder, out, output, linear, classifier, "
                  "proj, ...; a Linear inside nn.Sequential as head.1)");
  cmd->add_option("--embedding-prefix", a.embedding_prefix,
                  "the nn.Embedding's module name (default: emb, embedding, embed, embeddings, encoder, ...)");
}

}  // namespace

namespace cli {

int main(int argc, char** argv, Mode mode) {
  CLI::App app{"rnn: an engine for Elman recurrent networks (torch.nn.RNN semantics)", "rnn"};
  app.set_version_flag("--version", std::string("rnn ") + rnn::version());
  app.require_subcommand(1);

  run_cmd::RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a model forward on an input batch");
  run_cmd->add_option("--model", run.model, "model .safetensors (a PyTorch state_dict: nn.RNN [+ Linear head] [+ Embedding])")
      ->required();
  run_cmd->add_option("--input", run.input,
                      "x .npy: [T, B, I] (or [B, T, I] with --batch-first), <f4 or <f8; with an embedding, token "
                      "ids [T, B] (or [B, T]), <i8 or <i4")
      ->required();
  run_cmd->add_option("--h0", run.h0, "initial state .npy: [L*D, B, H] (default zeros)");
  run_cmd->add_option("--lengths", run.lengths, "sequence lengths .npy: [B] of <i4 or <i8, each in [1, T]");
  run_cmd->add_flag("--batch-first", run.batch_first, "x and y are [B, T, ...]");
  run_cmd->add_option("--device", run.device, kDeviceHelp);
  run_cmd->add_option("--kernel", run.kernel,
                      "CUDA recurrence kernel: auto (default), stepwise, persistent or registers (W_hh in registers, "
                      "H <= 1024)");
  run_cmd->add_option("--output", run.output,
                      "write the model's output .npy: with a head the logits [T, B, O], else y [T, B, D*H] "
                      "(batch first with --batch-first)");
  run_cmd->add_option("--states", run.states, "with a head, write the top layer's states y [T, B, D*H] as well");
  run_cmd->add_option("--final-state", run.final_state, "write h_n .npy: [L*D, B, H]");
  add_load_flags(run_cmd, run.names);
  run_cmd->add_flag("--check-finite", run.check_finite,
                    "fail, naming its position, on the first NaN or infinity in y or h_n (nothing written)");

  run_cmd::BackwardArgs bwd;
  CLI::App* bwd_cmd = app.add_subcommand("backward", "Gradients of a forward pass (what PyTorch autograd returns)");
  bwd_cmd->add_option("--model", bwd.in.model, "model .safetensors")->required();
  bwd_cmd->add_option("--input", bwd.in.input, "x .npy: [T, B, I] (or [B, T, I] with --batch-first)")->required();
  bwd_cmd->add_option("--h0", bwd.in.h0, "initial state .npy: [L*D, B, H] (default zeros)");
  bwd_cmd->add_option("--lengths", bwd.in.lengths, "sequence lengths .npy: [B], each in [1, T]");
  bwd_cmd->add_flag("--batch-first", bwd.in.batch_first, "x, y, dy and dx are [B, T, ...]");
  bwd_cmd->add_option("--device", bwd.in.device, kDeviceHelp);
  bwd_cmd->add_option("--grad-output", bwd.grad_output,
                      "dL/d(output) .npy: with a head dL/dlogits [T, B, O], else dL/dy, y's shape (ignored at padded "
                      "positions)")
      ->required();
  add_load_flags(bwd_cmd, bwd.in.names);
  bwd_cmd->add_option("--grad-final-state", bwd.grad_final_state, "dL/dh_n .npy: [L*D, B, H] (default zeros)");
  bwd_cmd->add_option("--grad-input", bwd.grad_input, "write dL/dx .npy (x's shape)");
  bwd_cmd->add_option("--grad-h0", bwd.grad_h0, "write dL/dh0 .npy: [L*D, B, H]");
  bwd_cmd->add_flag("--check-finite", bwd.in.check_finite,
                    "fail, naming its position, on the first NaN or infinity in a gradient (nothing written)");
  bwd_cmd->add_option("--grad-weights", bwd.grad_weights,
                      "write dL/dW .safetensors, one tensor per parameter under its own name (the head's as fc.*, "
                      "the embedding's as emb.weight)");

  charlm::TrainArgs tc;
  CLI::App* tc_cmd = app.add_subcommand("train-char", "Train a character-level language model on a text");
  tc_cmd->add_option("--text", tc.text, "the text to learn (a UTF-8 file; - reads stdin)");
  tc_cmd->add_option("--string", tc.string, "the text to learn, given inline");
  tc_cmd->add_option("--out", tc.out,
                     "write the model .safetensors (rnn.* + fc.*, vocab in the metadata; default: the text's name "
                     "+ .safetensors, checked writable before training)");
  tc_cmd->add_option("--hidden", tc.hidden, "hidden size (default 128)");
  tc_cmd->add_option("--layers", tc.layers, "layers (default 1)");
  tc_cmd->add_option("--seq-len", tc.seq_len, "characters per truncated-BPTT chunk (default 50)");
  tc_cmd->add_option("--batch", tc.batch, "parallel streams through the text (default 32)");
  tc_cmd->add_option("--steps", tc.steps, "optimizer updates (default 1000)");
  tc_cmd->add_option("--lr", tc.lr, "learning rate (default 0.002)");
  tc_cmd->add_option("--optimizer", tc.optimizer, "adam (default) or sgd (momentum 0.9)");
  tc_cmd->add_option("--clip", tc.clip, "clip the gradients' global norm to this (default 5; 0: no clipping)");
  tc_cmd->add_option("--seed", tc.seed, "initialisation seed (default 1); same seed, same model, bit for bit");
  tc_cmd->add_option("--device", tc.device, kDeviceHelp);
  tc_cmd->add_option("--save-every", tc.save_every, "also save the model every N updates (default 0: at the end only)");
  tc_cmd->add_option("--eval-every", tc.eval_every,
                     "print the validation bits per character every N updates (default 0: at the end only)");
  tc_cmd->add_option("--keep", tc.keep, "last (default): save the last model; best: the best validated (needs --eval-every)");

  charlm::SampleArgs sa;
  CLI::App* sa_cmd = app.add_subcommand("sample", "Generate text from a character model");
  sa_cmd->add_option("--model", sa.model, "a model from rnn train-char")->required();
  sa_cmd->add_option("--prime", sa.prime, "the text to start from")->required();
  sa_cmd->add_option("--length", sa.length, "characters to generate (default 200)");
  sa_cmd->add_option("--temperature", sa.temperature, "softmax temperature (default 1; 0: greedy)");
  sa_cmd->add_option("--seed", sa.seed, "sampling seed (default 1)");
  sa_cmd->add_option("--device", sa.device, kDeviceHelp);

  classify_cmd::TrainArgs tcl;
  CLI::App* tcl_cmd = app.add_subcommand("train-classify", "Train a sequence classifier on label<TAB>text lines");
  add_task_flags(tcl_cmd, tcl, {"training examples, one label<TAB>text per line (- reads stdin)", "test examples, same format",
                                "write the model .safetensors", "", "examples", "read each text in both directions",
                                kDeviceHelp});

  std::string cl_model, cl_device = "auto", cl_unknown = "error";
  CLI::App* cl_cmd = app.add_subcommand("classify", "Print a label for each line of stdin");
  cl_cmd->add_option("--model", cl_model, "a model from rnn train-classify")->required();
  cl_cmd->add_option("--device", cl_device, kDeviceHelp);
  cl_cmd->add_option("--unknown", cl_unknown,
                     "a character outside the model's vocabulary: error (default, naming it) or skip (dropped)");

  tag_cmd::TrainArgs ttg;
  CLI::App* ttg_cmd = app.add_subcommand("train-tag", "Train a per-character tagger on text<TAB>tags lines");
  add_task_flags(ttg_cmd, ttg, {"training lines: text<TAB>tags, one tag character per text character (- reads stdin)",
                                "test lines, same format", "write the model .safetensors", "", "lines",
                                "read each line in both directions", kDeviceHelp});

  std::string tg_model, tg_device = "auto", tg_unknown = "error";
  CLI::App* tg_cmd = app.add_subcommand("tag", "Print the tags of each line of stdin");
  tg_cmd->add_option("--model", tg_model, "a model from rnn train-tag")->required();
  tg_cmd->add_option("--device", tg_device, kDeviceHelp);
  tg_cmd->add_option("--unknown", tg_unknown,
                     "a character outside the model's vocabulary: error (default, naming it) or skip (read as the "
                     "unknown symbol; one tag per character still)");

  seq2seq_cmd::TrainArgs ts;
  CLI::App* ts_cmd = app.add_subcommand("train-seq2seq", "Train an encoder-decoder on source<TAB>target lines");
  add_task_flags(ts_cmd, ts, {"training pairs, one source<TAB>target per line (- reads stdin)", "test pairs, same format",
                              "write the model .safetensors (encoder.*, decoder.*, fc.*)", " of both RNNs", "pairs",
                              "", kSeq2seqDeviceHelp});
  ts_cmd->add_option("--max-length", ts.max_length, "longest output when decoding (default 100)");
  ts_cmd->add_flag("--reverse-source", ts.reverse_source,
                   "read each source backwards (its first symbols end up nearest the decoder)");
  ts_cmd->add_flag("--context,!--no-context", ts.context,
                   "feed the encoder's final state to every decoder step as well as its first (default: on)");

  std::string tr_model;
  int64_t tr_max = 100;
  CLI::App* tr_cmd = app.add_subcommand("translate", "Decode each line of stdin greedily");
  tr_cmd->add_option("--model", tr_model, "a model from rnn train-seq2seq")->required();
  tr_cmd->add_option("--max-length", tr_max, "longest output (default 100)");
  double tr_temp = 0.0;
  uint64_t tr_seed = 1;
  tr_cmd->add_option("--temperature", tr_temp, "0 (default): greedy; above 0: sample each symbol");
  tr_cmd->add_option("--seed", tr_seed, "sampling seed (default 1; line n uses seed + n)");
  std::string tr_unknown = "error";
  tr_cmd->add_option("--unknown", tr_unknown,
                     "a character outside the model's vocabulary: error (default, naming it) or skip (dropped)");

  std::string info_model;
  rnn::LoadOptions info_names;
  CLI::App* info_cmd = app.add_subcommand("info", "Describe a model file");
  info_cmd->add_option("--model", info_model, "model .safetensors")->required();
  add_load_flags(info_cmd, info_names);

  int threads = 0;  // 0: not given
  for (CLI::App* cmd : {run_cmd, bwd_cmd, tc_cmd, sa_cmd, tcl_cmd, cl_cmd, ttg_cmd, tg_cmd, ts_cmd, tr_cmd})
    add_threads_flag(cmd, threads);

  // `rnn bench` runs the benchmark program rnn-bench (bench/, which links
  // cuDNN where found), installed beside rnn, with the arguments as given.
  CLI::App* bench_cmd =
      app.add_subcommand("bench", "Time our kernels against cuDNN (runs rnn-bench; see rnn bench --help)");
  bench_cmd->prefix_command();
  bench_cmd->set_help_flag();

  if (argc < 2) {  // `rnn` alone: what it can do
    if (mode == Mode::ParseOnly) return 0;
    std::cout << app.help();
    return 0;
  }
  if (const int code = check_words(app, argc, argv)) return code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e);
  }
  if (mode == Mode::ParseOnly) return 0;
  for (CLI::App* cmd : app.get_subcommands())
    if (cmd->get_option_no_throw("--threads") && cmd->count("--threads") > 0) {
      if (threads < 1) return fail("--threads", "must be at least 1", kExitUsage);
      setenv("RNN_NUM_THREADS", std::to_string(threads).c_str(), 1);
    }

  try {
    if (run_cmd->parsed()) return run_cmd::run(run);
    if (bwd_cmd->parsed()) return run_cmd::backward(bwd);
    if (tc_cmd->parsed()) return charlm::train(tc);
    if (sa_cmd->parsed()) return charlm::sample(sa);
    if (tcl_cmd->parsed()) return classify_cmd::train(tcl);
    if (cl_cmd->parsed()) return classify_cmd::classify(cl_model, cl_device, cl_unknown);
    if (ttg_cmd->parsed()) return tag_cmd::train(ttg);
    if (tg_cmd->parsed()) return tag_cmd::tag(tg_model, tg_device, tg_unknown);
    if (ts_cmd->parsed()) return seq2seq_cmd::train(ts);
    if (tr_cmd->parsed()) return seq2seq_cmd::translate(tr_model, tr_max, tr_temp, tr_seed, tr_unknown);
    if (bench_cmd->parsed()) return info_cmd::exec_bench(bench_cmd->remaining(), argv[0]);
    if (info_cmd->parsed()) return info_cmd::info(info_model, info_names);
  } catch (const rnn::Error& e) {
    return fail(e.subject(), e.message(), kExitError);
  } catch (const std::bad_alloc&) {
    return fail("", "out of memory", kExitError);
  } catch (const std::exception& e) {
    return fail("", e.what(), kExitError);
  }
  return fail("command", "missing: expected a command (see rnn --help)", kExitUsage);
}

}  // namespace cli
