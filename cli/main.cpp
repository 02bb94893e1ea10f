// cli/main.cpp: the `rnn` command-line program (cli::main; the process's
// main() is cli/rnn.cpp): the flag table (the error lines: errors.hpp);
// each command is in cli/commands/ (run.cpp: run, backward; charlm.cpp:
// train-char, sample; classify.cpp, tag.cpp, seq2seq.cpp: the task
// commands; info.cpp: info, bench).
//
//   rnn run  --model M --input X [--h0 H0] [--lengths L] [--batch-first]
//            [--device auto|cpu|cuda] [--kernel auto|stepwise|persistent|registers|gemm|cluster]
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
#include <optional>
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
#include "errors.hpp"
#include "rnn/rnn.hpp"

namespace {

using errors::check_words;
using errors::fail;
using errors::kExitError;
using errors::kExitUsage;
using errors::usage_error;

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

// What the command line gives each command (CLI11 writes the flags' values here).
struct Args {
  run_cmd::RunArgs run;
  run_cmd::BackwardArgs backward;
  charlm::TrainArgs train_char;
  charlm::SampleArgs sample;
  classify_cmd::TrainArgs train_classify;
  tag_cmd::TrainArgs train_tag;
  seq2seq_cmd::TrainArgs train_seq2seq;
  struct Infer {  // classify, tag
    std::string model, device = "auto", unknown = "error";
  } classify, tag;
  struct Translate {
    std::string model, unknown = "error";
    int64_t max_length = 100;
    double temperature = 0.0;
    uint64_t seed = 1;
  } translate;
  std::string info_model;
  rnn::LoadOptions info_names;
  int threads = 0;  // 0: not given
};

// rnn run and rnn backward.
void add_run_commands(CLI::App& app, Args& a) {
  run_cmd::RunArgs& run = a.run;
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
                      "CUDA recurrence kernel: auto (default), stepwise, persistent, registers (W_hh in registers, "
                      "H <= 1024), gemm (a cuBLAS GEMM per step, for large batches) or cluster (thread-block "
                      "clusters, H <= 512)");
  run_cmd->add_option("--output", run.output,
                      "write the model's output .npy: with a head the logits [T, B, O], else y [T, B, D*H] "
                      "(batch first with --batch-first)");
  run_cmd->add_option("--states", run.states, "with a head, write the top layer's states y [T, B, D*H] as well");
  run_cmd->add_option("--final-state", run.final_state, "write h_n .npy: [L*D, B, H]");
  add_load_flags(run_cmd, run.names);
  run_cmd->add_flag("--check-finite", run.check_finite,
                    "fail, naming its position, on the first NaN or infinity in y or h_n (nothing written)");
  add_threads_flag(run_cmd, a.threads);

  run_cmd::BackwardArgs& bwd = a.backward;
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
  add_threads_flag(bwd_cmd, a.threads);
}

// rnn train-char and rnn sample.
void add_charlm_commands(CLI::App& app, Args& a) {
  charlm::TrainArgs& tc = a.train_char;
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
  add_threads_flag(tc_cmd, a.threads);

  charlm::SampleArgs& sa = a.sample;
  CLI::App* sa_cmd = app.add_subcommand("sample", "Generate text from a character model");
  sa_cmd->add_option("--model", sa.model, "a model from rnn train-char")->required();
  sa_cmd->add_option("--prime", sa.prime, "the text to start from")->required();
  sa_cmd->add_option("--length", sa.length, "characters to generate (default 200)");
  sa_cmd->add_option("--temperature", sa.temperature, "softmax temperature (default 1; 0: greedy)");
  sa_cmd->add_option("--seed", sa.seed, "sampling seed (default 1)");
  sa_cmd->add_option("--device", sa.device, kDeviceHelp);
  add_threads_flag(sa_cmd, a.threads);
}

// rnn train-classify and rnn classify.
void add_classify_commands(CLI::App& app, Args& a) {
  CLI::App* tcl_cmd = app.add_subcommand("train-classify", "Train a sequence classifier on label<TAB>text lines");
  add_task_flags(tcl_cmd, a.train_classify,
                 {"training examples, one label<TAB>text per line (- reads stdin)", "test examples, same format",
                  "write the model .safetensors", "", "examples", "read each text in both directions", kDeviceHelp});
  add_threads_flag(tcl_cmd, a.threads);

  CLI::App* cl_cmd = app.add_subcommand("classify", "Print a label for each line of stdin");
  cl_cmd->add_option("--model", a.classify.model, "a model from rnn train-classify")->required();
  cl_cmd->add_option("--device", a.classify.device, kDeviceHelp);
  cl_cmd->add_option("--unknown", a.classify.unknown,
                     "a character outside the model's vocabulary: error (default, naming it) or skip (dropped)");
  add_threads_flag(cl_cmd, a.threads);
}

// rnn train-tag and rnn tag.
void add_tag_commands(CLI::App& app, Args& a) {
  CLI::App* ttg_cmd = app.add_subcommand("train-tag", "Train a per-character tagger on text<TAB>tags lines");
  add_task_flags(
      ttg_cmd, a.train_tag,
      {"training lines: text<TAB>tags, one tag character per text character (- reads stdin)", "test lines, same format",
       "write the model .safetensors", "", "lines", "read each line in both directions", kDeviceHelp});
  add_threads_flag(ttg_cmd, a.threads);

  CLI::App* tg_cmd = app.add_subcommand("tag", "Print the tags of each line of stdin");
  tg_cmd->add_option("--model", a.tag.model, "a model from rnn train-tag")->required();
  tg_cmd->add_option("--device", a.tag.device, kDeviceHelp);
  tg_cmd->add_option("--unknown", a.tag.unknown,
                     "a character outside the model's vocabulary: error (default, naming it) or skip (read as the "
                     "unknown symbol; one tag per character still)");
  add_threads_flag(tg_cmd, a.threads);
}

// rnn train-seq2seq and rnn translate.
void add_seq2seq_commands(CLI::App& app, Args& a) {
  seq2seq_cmd::TrainArgs& ts = a.train_seq2seq;
  CLI::App* ts_cmd = app.add_subcommand("train-seq2seq", "Train an encoder-decoder on source<TAB>target lines");
  add_task_flags(
      ts_cmd, ts,
      {"training pairs, one source<TAB>target per line (- reads stdin)", "test pairs, same format",
       "write the model .safetensors (encoder.*, decoder.*, fc.*)", " of both RNNs", "pairs", "", kSeq2seqDeviceHelp});
  ts_cmd->add_option("--max-length", ts.max_length, "longest output when decoding (default 100)");
  ts_cmd->add_flag("--reverse-source", ts.reverse_source,
                   "read each source backwards (its first symbols end up nearest the decoder)");
  ts_cmd->add_flag("--context,!--no-context", ts.context,
                   "feed the encoder's final state to every decoder step as well as its first (default: on)");
  add_threads_flag(ts_cmd, a.threads);

  Args::Translate& tr = a.translate;
  CLI::App* tr_cmd = app.add_subcommand("translate", "Decode each line of stdin greedily");
  tr_cmd->add_option("--model", tr.model, "a model from rnn train-seq2seq")->required();
  tr_cmd->add_option("--max-length", tr.max_length, "longest output (default 100)");
  tr_cmd->add_option("--temperature", tr.temperature, "0 (default): greedy; above 0: sample each symbol");
  tr_cmd->add_option("--seed", tr.seed, "sampling seed (default 1; line n uses seed + n)");
  tr_cmd->add_option("--unknown", tr.unknown,
                     "a character outside the model's vocabulary: error (default, naming it) or skip (dropped)");
  add_threads_flag(tr_cmd, a.threads);
}

// rnn info, and rnn bench: it runs the benchmark program rnn-bench (bench/,
// which links cuDNN where found), installed beside rnn, with the arguments as given.
void add_info_commands(CLI::App& app, Args& a) {
  CLI::App* info_cmd = app.add_subcommand("info", "Describe a model file");
  info_cmd->add_option("--model", a.info_model, "model .safetensors")->required();
  add_load_flags(info_cmd, a.info_names);

  CLI::App* bench_cmd =
      app.add_subcommand("bench", "Time our kernels against cuDNN (runs rnn-bench; see rnn bench --help)");
  bench_cmd->prefix_command();
  bench_cmd->set_help_flag();
}

// Parses the command line. Returns the exit code when the program ends
// here (help, version or a usage error), nothing when a command is to run.
std::optional<int> parse(CLI::App& app, int argc, char** argv) {
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
  return std::nullopt;
}

// --threads, when the command was given it: at least 1, passed on to the
// fast CPU backend as RNN_NUM_THREADS. Returns 0, or the exit code of its refusal.
int apply_threads(const CLI::App& app, int threads) {
  for (const CLI::App* cmd : app.get_subcommands())
    if (cmd->get_option_no_throw("--threads") && cmd->count("--threads") > 0) {
      if (threads < 1) return fail("--threads", "must be at least 1", kExitUsage);
      setenv("RNN_NUM_THREADS", std::to_string(threads).c_str(), 1);
    }
  return 0;
}

// Runs the command the command line named; throws what the command throws.
int run_command(CLI::App& app, const Args& a, const char* argv0) {
  auto given = [&](const char* name) { return app.get_subcommand(name)->parsed(); };
  if (given("run")) return run_cmd::run(a.run);
  if (given("backward")) return run_cmd::backward(a.backward);
  if (given("train-char")) return charlm::train(a.train_char);
  if (given("sample")) return charlm::sample(a.sample);
  if (given("train-classify")) return classify_cmd::train(a.train_classify);
  if (given("classify")) return classify_cmd::classify(a.classify.model, a.classify.device, a.classify.unknown);
  if (given("train-tag")) return tag_cmd::train(a.train_tag);
  if (given("tag")) return tag_cmd::tag(a.tag.model, a.tag.device, a.tag.unknown);
  if (given("train-seq2seq")) return seq2seq_cmd::train(a.train_seq2seq);
  const Args::Translate& tr = a.translate;
  if (given("translate")) return seq2seq_cmd::translate(tr.model, tr.max_length, tr.temperature, tr.seed, tr.unknown);
  if (given("bench")) return info_cmd::exec_bench(app.get_subcommand("bench")->remaining(), argv0);
  if (given("info")) return info_cmd::info(a.info_model, a.info_names);
  return fail("command", "missing: expected a command (see rnn --help)", kExitUsage);
}

}  // namespace

namespace cli {

int main(int argc, char** argv, Mode mode) {
  CLI::App app{"rnn: an engine for Elman recurrent networks (torch.nn.RNN semantics)", "rnn"};
  app.set_version_flag("--version", std::string("rnn ") + rnn::version());
  app.require_subcommand(1);
  Args args;
  add_run_commands(app, args);
  add_charlm_commands(app, args);
  add_classify_commands(app, args);
  add_tag_commands(app, args);
  add_seq2seq_commands(app, args);
  add_info_commands(app, args);

  if (argc < 2) {  // `rnn` alone: what it can do
    if (mode == Mode::ParseOnly) return 0;
    std::cout << app.help();
    return 0;
  }
  if (const std::optional<int> code = parse(app, argc, argv)) return *code;
  if (mode == Mode::ParseOnly) return 0;
  if (const int code = apply_threads(app, args.threads)) return code;
  try {
    return run_command(app, args, argv[0]);
  } catch (const rnn::Error& e) {
    return fail(e.subject(), e.message(), kExitError);
  } catch (const std::bad_alloc&) {
    return fail("", "out of memory", kExitError);
  } catch (const std::exception& e) {
    return fail("", e.what(), kExitError);
  }
}

}  // namespace cli
