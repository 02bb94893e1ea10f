// cli/commands/tasks_common.hpp: what the supervised task commands share
// (train-classify, train-tag, train-seq2seq): reading two-column TSV files,
// character vocabularies, one-hot batches, the training loop (shuffled
// batches, progress, saves) and reading stdin at inference.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "rnn/rnn.hpp"
#include "task_args.hpp"
#include "training.hpp"

namespace tasks {

// The lines of a two-column file `first<TAB>second` as code points; empty
// lines skipped; `format` names the columns in errors ("label<TAB>text");
// "-" reads stdin.
struct Row {
  std::vector<char32_t> first, second;
  int64_t line = 0;
};
inline std::vector<Row> read_tsv(const std::string& path, const std::string& format) {
  std::string text;
  if (path == "-") {  // stdin
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    const std::vector<uint8_t> bytes = rnn::read_file(path);
    text.assign(bytes.begin(), bytes.end());
  }
  std::istringstream in(text);
  std::vector<Row> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size())
      throw rnn::Error(path, "line " + std::to_string(n) + ": expected " + format);
    const std::string where = path + ": line " + std::to_string(n);
    out.push_back({rnn::decode_utf8(line.substr(0, tab), where), rnn::decode_utf8(line.substr(tab + 1), where), n});
  }
  if (out.empty()) throw rnn::Error(path, "holds no examples");
  return out;
}

// --train and --test: at most one of them is stdin.
inline void check_sources(const std::string& train, const std::string& test) {
  if (train == "-" && test == "-") throw rnn::Error("--train/--test", "only one of them can be - (stdin)");
}

// The task commands' vocabularies (rnn::Vocab) reserve index 0: the unknown
// character, or a boundary symbol.
using rnn::Vocab;
inline Vocab vocab_from(std::vector<char32_t> chars) { return Vocab(std::move(chars), 1); }
// The index of c, 0 (the unknown character) when it is not in the vocabulary.
inline int64_t index_or_unknown(const Vocab& v, char32_t c) {
  const int64_t i = v.index(c);
  return i < 0 ? 0 : i;
}
// A task model's vocabulary under `key`: index 0 reserved (files written
// before "<key>_reserved" existed reserved it too).
inline Vocab task_vocab(Vocab v, const std::string& key, const std::string& path) {
  if (v.reserved() != 1) throw rnn::Error(path, "'" + key + "' reserves no index 0: not a task command's model");
  return v;
}
inline Vocab read_task_vocab(const std::map<std::string, std::string>& metadata, const std::string& key,
                             const std::string& path) {
  return task_vocab(Vocab::read(metadata, key, 1, path), key, path);
}
// The same for a model's own vocabulary (Model::vocab).
inline Vocab read_task_vocab(const rnn::Model& model, const std::string& path) {
  return task_vocab(Vocab::read(model, 1, path), "vocab", path);
}

// x [T, B, V] one-hot (time-major), V = v.size(), for a batch of texts, and
// their lengths; an empty text reads as one unknown character.
inline rnn::Tensor one_hot_texts(const std::vector<const std::vector<char32_t>*>& texts, const Vocab& v,
                                 std::vector<int64_t>& lengths) {
  int64_t T = 1;
  lengths.clear();
  for (const auto* t : texts) {
    lengths.push_back(std::max<int64_t>(1, static_cast<int64_t>(t->size())));
    T = std::max<int64_t>(T, lengths.back());
  }
  const int64_t B = static_cast<int64_t>(texts.size()), V = v.size();
  rnn::Tensor x({T, B, V});
  for (int64_t b = 0; b < B; ++b) {
    const auto& t = *texts[static_cast<size_t>(b)];
    if (t.empty()) x[b * V] = 1.0f;
    for (size_t s = 0; s < t.size(); ++s) x[(static_cast<int64_t>(s) * B + b) * V + index_or_unknown(v, t[s])] = 1.0f;
  }
  return x;
}

// A task model's shape: --hidden, --layers and --bidirectional, `inputs`
// inputs and a head of `outputs`.
inline rnn::ModelConfig model_config(const TrainArgs& a, int64_t inputs, int64_t outputs) {
  rnn::ModelConfig cfg;
  cfg.input_size = inputs;
  cfg.hidden_size = a.hidden;
  cfg.num_layers = a.layers;
  cfg.bidirectional = a.bidirectional;
  cfg.output_size = outputs;
  return cfg;
}

// A task command's learner settings: the optimizer its flags gave
// (training::optimizer_options, checked before the data is read), --clip,
// and the device.
inline rnn::LearnOptions learn_options(const rnn::OptimizerOptions& optimizer, double clip, rnn::Device device) {
  rnn::LearnOptions lo;
  lo.optimizer = optimizer;
  lo.clip = clip;
  lo.device = device;
  return lo;
}

// Refuses (naming --hidden) a run whose host memory would not fit: one copy
// of each model and, on the CPU, a step on --batch of the n examples (at
// most) of up to `longest` steps.
inline void check_memory(const std::vector<rnn::ModelConfig>& configs, size_t longest, const TrainArgs& a, size_t n,
                         rnn::Device device) {
  // Two copies: the model made and the learner's own (rnn::Learner).
  training::check_memory(configs, static_cast<int64_t>(longest), std::min<int64_t>(a.batch, n), 2,
                         device == rnn::Device::Cuda, "--hidden");
}

// Indices of n examples in shuffled epochs of batches.
class Batches {
 public:
  Batches(size_t n, size_t batch, uint64_t seed) : order_(n), batch_(std::min(n, batch)), gen_(seed) {
    std::iota(order_.begin(), order_.end(), 0);
  }
  std::vector<size_t> next() {
    if (at_ + batch_ > order_.size()) {
      std::shuffle(order_.begin(), order_.end(), gen_);  // a new epoch
      at_ = 0;
    }
    std::vector<size_t> out(order_.begin() + static_cast<long>(at_), order_.begin() + static_cast<long>(at_ + batch_));
    at_ += batch_;
    return out;
  }

 private:
  std::vector<size_t> order_;
  size_t batch_, at_ = SIZE_MAX / 2;
  std::mt19937_64 gen_;
};

// Progress on stderr: every step on a terminal, 20 lines otherwise.
class Progress {
 public:
  explicit Progress(int64_t steps) : steps_(steps), tty_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}
  void step(int64_t step, double loss, const std::string& extra = "") {
    smooth_ = smooth_ < 0 ? loss : 0.98 * smooth_ + 0.02 * loss;
    if (!(tty_ || step == steps_ || step % std::max<int64_t>(1, steps_ / 20) == 0)) return;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f%s  %.0fs left%s", tty_ ? "\r" : "", static_cast<long long>(step),
                 static_cast<long long>(steps_), smooth_, extra.c_str(), el / step * (steps_ - step), tty_ ? "   " : "\n");
    std::fflush(stderr);
  }
  ~Progress() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  int64_t steps_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  double smooth_ = -1;
};

// Every line of stdin as code points (a trailing CR dropped); invalid UTF-8
// is an error naming the line.
inline std::vector<std::vector<char32_t>> read_stdin_lines() {
  std::vector<std::vector<char32_t>> lines;
  std::string line;
  int64_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(rnn::decode_utf8(line, "stdin: line " + std::to_string(n)));
  }
  return lines;
}

// After a training loop cut short by a signal (the model already saved to
// `out`): says so on stdout and gives the exit code, 128 + the signal.
inline int interrupted(const training::Interrupts& interrupts, int64_t done, int64_t steps, const std::string& out) {
  std::printf("interrupted (%s) after %lld of %lld steps; saved %s\n", interrupts.signal_name(),
              static_cast<long long>(done), static_cast<long long>(steps), out.c_str());
  return interrupts.exit_code();
}

// One update of a task command's training loop: its loss, and what the
// progress line shows after it.
struct Update {
  double loss;
  std::string extra;
};

// The loop the task commands share: --steps updates, update(indices)
// making each on a shuffled batch of the n examples, with progress on
// stderr; save() every --save-every updates and at the end, also when a
// signal ends the run after the current update. Returns 0, or after a
// signal its exit code (the message on stdout, naming `out`).
template <class UpdateFn, class SaveFn>
int train_loop(const TrainArgs& a, size_t n, const std::string& out, UpdateFn update, SaveFn save) {
  training::Interrupts interrupts;
  int64_t done = 0;
  Batches batches(n, static_cast<size_t>(a.batch), a.seed);
  {
    Progress progress(a.steps);
    for (int64_t step = 1; step <= a.steps && !interrupts.requested(); ++step) {
      done = step;
      const Update u = update(batches.next());
      progress.step(step, u.loss, u.extra);
      if (a.save_every > 0 && step % a.save_every == 0 && step < a.steps) save();
    }
  }
  save();
  if (interrupts.requested()) return interrupted(interrupts, done, a.steps, out);
  return 0;
}

// What inference does with a character outside the model's vocabulary
// (--unknown): refuse the input naming it (error, the default), or drop it
// (skip). A line left empty is refused either way by the commands that need
// a character to read (classify, translate); tag answers it with an empty line.
enum class Unknown { Error, Skip };
inline Unknown parse_unknown(const std::string& s) {
  if (s == "error") return Unknown::Error;
  if (s == "skip") return Unknown::Skip;
  throw rnn::Error("--unknown", "unknown choice '" + s + "' (expected error or skip)");
}
// The lines with every character checked against `v` (or dropped, with
// skip); `empty_ok` false refuses a line with no character left.
inline std::vector<std::vector<char32_t>> known_characters(std::vector<std::vector<char32_t>> lines, const Vocab& v,
                                                           Unknown unknown, bool empty_ok) {
  for (size_t n = 0; n < lines.size(); ++n) {
    std::vector<char32_t>& line = lines[n];
    const std::string where = "stdin: line " + std::to_string(n + 1);
    std::vector<char32_t> kept;
    for (size_t i = 0; i < line.size(); ++i) {
      if (v.index(line[i]) >= 1) {
        kept.push_back(line[i]);
        continue;
      }
      if (unknown == Unknown::Skip) continue;
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(line[i]));
      throw rnn::Error(where, "character '" + rnn::encode_utf8({line[i]}) + "' (" + code + ") at position " +
                                  std::to_string(i) +
                                  " is not in the model's vocabulary (--unknown skip drops such characters)");
    }
    if (kept.empty() && !empty_ok)
      throw rnn::Error(where, line.empty() ? "empty: nothing to read"
                                           : "no character of it is in the model's vocabulary: nothing to read");
    line = std::move(kept);
  }
  return lines;
}

// The lines of s (a classifier's "labels" metadata, one per line).
inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The index of the largest of n values (the first of equals).
inline int64_t argmax(const float* z, int64_t n) { return std::max_element(z, z + n) - z; }

}  // namespace tasks
