// cli/commands/charlm.cpp: rnn train-char and rnn sample.
//
// The model is the classic char-rnn: one-hot characters in (I = V), an
// Elman RNN, a linear head to V logits, softmax cross-entropy on the next
// character. Training cuts the text into B contiguous streams and walks them
// seq_len characters at a time, carrying the hidden state from chunk to
// chunk (truncated BPTT); at the end of a pass the state starts again from
// zero. The vocabulary (rnn::Vocab, no index reserved: character k is index
// k) is saved as the model's "vocab" and "vocab_reserved" = "0" metadata; the
// tensors are saved as rnn.* and fc.*, the names of a PyTorch module holding
// nn.RNN `rnn` and nn.Linear `fc`.
#include "charlm.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include "rnn/rnn.hpp"
#include "rnn/sample.hpp"
#include "training.hpp"

namespace charlm {

namespace {

constexpr double kLn2 = 0.69314718055994530942;

// x [T, B, V] one-hot from indices ids[t * B + b].
rnn::Tensor one_hot(const std::vector<int64_t>& ids, int64_t T, int64_t B, int64_t V) {
  rnn::Tensor x({T, B, V});
  for (int64_t n = 0; n < T * B; ++n) x[n * V + ids[static_cast<size_t>(n)]] = 1.0f;
  return x;
}

// Bits per character of the model on `ids`, predicting ids[i+1] from ids[0..i],
// starting from a zero state, in chunks with the state carried.
double bits_per_char(const rnn::Model& model, const std::vector<int64_t>& ids) {
  const int64_t V = model.config().input_size, chunk = 512;
  rnn::ForwardOptions fo;
  fo.device = rnn::Device::Cpu;
  rnn::Tensor h;
  double nll = 0.0;
  int64_t count = 0;
  for (size_t p = 0; p + 1 < ids.size(); p += chunk) {
    const int64_t T = std::min<int64_t>(chunk, static_cast<int64_t>(ids.size() - 1 - p));
    std::vector<int64_t> in(ids.begin() + p, ids.begin() + p + T), target(ids.begin() + p + 1, ids.begin() + p + 1 + T);
    const rnn::ForwardResult r = rnn::forward(model, one_hot(in, T, 1, V), h.empty() ? nullptr : &h, nullptr, fo);
    const rnn::LossResult l = rnn::softmax_cross_entropy(rnn::apply_head(model, r.y), target);
    nll += l.loss * static_cast<double>(l.count);
    count += l.count;
    h = r.h_n;
  }
  return nll / static_cast<double>(count) / kLn2;
}

// A character bigram model with add-one smoothing, fitted on `train`, in bits
// per character on `eval`: the baseline a language model has to beat.
double bigram_bits_per_char(const std::vector<int64_t>& train, const std::vector<int64_t>& eval, int64_t V) {
  std::vector<double> pair(static_cast<size_t>(V * V), 0.0), row(static_cast<size_t>(V), 0.0);
  for (size_t i = 0; i + 1 < train.size(); ++i) {
    pair[static_cast<size_t>(train[i] * V + train[i + 1])] += 1.0;
    row[static_cast<size_t>(train[i])] += 1.0;
  }
  double bits = 0.0;
  for (size_t i = 0; i + 1 < eval.size(); ++i)
    bits -= std::log2((pair[static_cast<size_t>(eval[i] * V + eval[i + 1])] + 1.0) /
                      (row[static_cast<size_t>(eval[i])] + static_cast<double>(V)));
  return bits / static_cast<double>(eval.size() - 1);
}

std::string duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

// Refuses bad flags, each named, before anything is read; returns the
// optimizer they ask for.
rnn::OptimizerOptions check_flags(const TrainArgs& a) {
  if (a.text.empty() == a.string.empty()) throw rnn::Error("--text/--string", "give exactly one of them");
  training::at_least("--hidden", a.hidden, 1);
  training::at_least("--layers", a.layers, 1);
  training::at_least("--seq-len", a.seq_len, 1);
  training::at_least("--batch", a.batch, 1);
  training::at_least("--steps", a.steps, 1);
  training::at_least("--save-every", a.save_every, 0);
  training::at_least("--eval-every", a.eval_every, 0);
  if (a.keep != "last" && a.keep != "best")
    throw rnn::Error("--keep", "unknown choice '" + a.keep + "' (expected best or last)");
  if (a.keep == "best" && a.eval_every == 0)
    throw rnn::Error("--keep", "best needs validation: give --eval-every N");
  if (!(a.lr > 0)) throw rnn::Error("--lr", "must be positive");  // before --optimizer, unlike the task commands
  return training::optimizer_options(a.optimizer, a.lr, a.momentum);
}

// The text to learn (--text, a file or - for stdin, or --string) as code
// points; `source` names it in errors.
std::vector<char32_t> read_text(const TrainArgs& a, const std::string& source) {
  std::string raw;
  if (a.text == "-") {
    raw.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (!a.text.empty()) {
    const std::vector<uint8_t> bytes = rnn::read_file(a.text);
    raw.assign(bytes.begin(), bytes.end());
  } else {
    raw = a.string;
  }
  std::vector<char32_t> text = rnn::decode_utf8(raw, source);
  if (text.size() < 2) throw rnn::Error(source, "needs at least 2 characters to learn from");
  return text;
}

// The text as indices into its vocabulary, the last 10% held out for
// validation when the text is long enough to spare it.
struct Corpus {
  rnn::Vocab vocab;
  std::vector<int64_t> train, val;
  bool split = false;  // val holds the last 10%; empty otherwise
};

Corpus corpus(const std::vector<char32_t>& text, int64_t eval_every) {
  Corpus c{rnn::Vocab(text, 0), {}, {}, false};  // character k is index k
  std::vector<int64_t> ids;
  for (char32_t ch : text) ids.push_back(c.vocab.index(ch));
  c.split = ids.size() >= 2000;
  if (eval_every > 0 && !c.split)
    throw rnn::Error("--eval-every", "needs a held-out part: the text has " + std::to_string(ids.size()) +
                                         " characters, fewer than the 2000 from which its last 10% is held out");
  const size_t n_train = c.split ? ids.size() * 9 / 10 : ids.size();
  c.train.assign(ids.begin(), ids.begin() + static_cast<long>(n_train));
  c.val.assign(ids.begin() + static_cast<long>(n_train), ids.end());
  return c;
}

// B parallel streams of S positions each through the training text, walked
// seq characters at a time.
struct Streams {
  int64_t seq, B, S;
};

Streams streams(const TrainArgs& a, size_t n_train) {
  const int64_t usable = static_cast<int64_t>(n_train) - 1;  // positions that have a next character
  const int64_t seq = std::min<int64_t>(a.seq_len, usable);
  const int64_t B = std::max<int64_t>(1, std::min<int64_t>(a.batch, usable / seq));
  return {seq, B, usable / B};
}

// A random model for the corpus, its vocabulary stored in it; the whole
// run's host memory (this model, the trainer's copy, a CPU step's working
// memory) checked before it is made.
rnn::Model make_model(const TrainArgs& a, const Corpus& c, const Streams& s, rnn::Device device) {
  rnn::ModelConfig cfg;
  cfg.input_size = c.vocab.size();
  cfg.hidden_size = a.hidden;
  cfg.num_layers = a.layers;
  cfg.output_size = c.vocab.size();
  training::check_memory({cfg}, s.seq, s.B, 2, device == rnn::Device::Cuda, "--hidden");
  rnn::Model model = rnn::Model::random(cfg, a.seed);
  c.vocab.store(model);
  return model;
}

// What the training loop carries from update to update.
struct Loop {
  int64_t pos = 0, tokens = 0, done = 0;  // done: updates made
  double smooth = -1.0;                   // the loss, smoothed
  rnn::Model best;                        // --keep best: the model of the lowest validation figure so far
  double best_bpc = INFINITY;
  int64_t best_step = 0;
};

// One update on the next chunk of every stream (from a zero state at the
// start of a pass); returns its loss.
double train_chunk(rnn::ChunkTrainer& learner, const Corpus& c, const Streams& s, Loop& loop, int64_t step) {
  const bool fresh = loop.pos >= s.S;  // a new pass starts from a zero state
  if (fresh) loop.pos = 0;
  const int64_t T = std::min<int64_t>(s.seq, s.S - loop.pos), B = s.B;
  std::vector<int64_t> in(static_cast<size_t>(T * B)), target(static_cast<size_t>(T * B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const int64_t at = b * s.S + loop.pos + t;
      in[static_cast<size_t>(t * B + b)] = c.train[static_cast<size_t>(at)];
      target[static_cast<size_t>(t * B + b)] = c.train[static_cast<size_t>(at + 1)];
    }
  const double loss = learner.step(one_hot(in, T, B, c.vocab.size()), target, fresh || step == 1);
  loop.done = step;
  loop.pos += T;
  loop.tokens += T * B;
  return loss;
}

// The progress line on stderr: every step on a terminal, 20 lines otherwise.
void report_progress(const Loop& loop, int64_t step, int64_t steps, double elapsed, bool tty) {
  if (!(tty || step == steps || step % std::max<int64_t>(1, steps / 20) == 0)) return;
  std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f (%.3f bpc)  %.0f tok/s  %s left%s", tty ? "\r" : "",
               static_cast<long long>(step), static_cast<long long>(steps), loop.smooth, loop.smooth / kLn2,
               loop.tokens / std::max(elapsed, 1e-9), duration(elapsed / step * (steps - step)).c_str(),
               tty ? "   " : "\n");
  std::fflush(stderr);
}

// --eval-every: the validation figure of the model now on stderr, the model
// kept when it is the best so far and --keep best.
void validate(const TrainArgs& a, const rnn::ChunkTrainer& learner, const Corpus& c, Loop& loop, int64_t step,
              bool tty) {
  rnn::Model now = learner.model();
  const double bpc = bits_per_char(now, c.val);
  const bool better = bpc < loop.best_bpc;
  if (better) loop.best_bpc = bpc, loop.best_step = step;
  if (better && a.keep == "best") loop.best = std::move(now);
  std::fprintf(stderr, "%sstep %lld: val_bpc %.4f%s\n", tty ? "\n" : "", static_cast<long long>(step), bpc,
               better ? " (best so far)" : "");
}

// What a checkpoint or the final save writes: the best so far, or the last.
rnn::Model kept(const TrainArgs& a, const rnn::ChunkTrainer& learner, const Loop& loop) {
  return a.keep == "best" && loop.best_step > 0 ? loop.best : learner.model();
}

// The updates, with progress (speed and time left counted from `start`),
// validation and checkpoints, until --steps or a signal; returns what the
// loop ended with.
Loop train_loop(const TrainArgs& a, rnn::ChunkTrainer& learner, const Corpus& c, const Streams& s,
                const std::string& out, const training::Interrupts& interrupts,
                std::chrono::steady_clock::time_point start) {
  const bool tty = isatty(STDERR_FILENO);
  Loop loop;
  for (int64_t step = 1; step <= a.steps && !interrupts.requested(); ++step) {
    const double loss = train_chunk(learner, c, s, loop, step);
    loop.smooth = loop.smooth < 0 ? loss : 0.95 * loop.smooth + 0.05 * loss;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report_progress(loop, step, a.steps, elapsed, tty);
    if (a.eval_every > 0 && (step % a.eval_every == 0 || step == a.steps)) validate(a, learner, c, loop, step, tty);
    if (a.save_every > 0 && step % a.save_every == 0 && step < a.steps) {
      training::save(kept(a, learner, loop), out);
      std::fprintf(stderr, "%scheckpoint at step %lld: %s\n", tty ? "\n" : "", static_cast<long long>(step),
                   out.c_str());
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  return loop;
}

// The end of a run, the model saved: on stdout what was trained and, unless
// a signal cut it short, the bits per character it reaches; the exit code.
int report_end(const TrainArgs& a, const rnn::Model& model, const Corpus& c, const Loop& loop, double seconds,
               const std::string& out, const training::Interrupts& interrupts) {
  if (interrupts.requested()) {
    const std::string which =
        a.keep == "best" && loop.best_step > 0 ? " (the best, from step " + std::to_string(loop.best_step) + ")" : "";
    std::printf("interrupted (%s) after %lld of %lld steps in %s; saved %s%s\n", interrupts.signal_name(),
                static_cast<long long>(loop.done), static_cast<long long>(a.steps), duration(seconds).c_str(),
                out.c_str(), which.c_str());
    return interrupts.exit_code();
  }
  std::printf("trained %lld steps in %s; saved %s", static_cast<long long>(a.steps), duration(seconds).c_str(),
              out.c_str());
  if (a.keep == "best") std::printf(" (the best, from step %lld)", static_cast<long long>(loop.best_step));
  std::printf("\n");
  if (c.split) {
    std::printf("bigram_val_bpc=%.4f\n", bigram_bits_per_char(c.train, c.val, c.vocab.size()));
    std::printf("val_bpc=%.4f\n", bits_per_char(model, c.val));
  } else {
    std::printf("train_bpc=%.4f\n", bits_per_char(model, c.train));
  }
  return 0;
}

}  // namespace

int train(const TrainArgs& a) {
  // ---- arguments, output path, data: every refusal before any training ----
  const rnn::OptimizerOptions oo = check_flags(a);
  const rnn::Device device = rnn::resolve_device(rnn::parse_device(a.device, "--device"));
  const std::string source = a.text.empty() ? "--string" : a.text == "-" ? "stdin" : a.text;
  const std::vector<char32_t> text = read_text(a, source);
  const std::string out = training::output_path(a.out, a.text, "string");
  const Corpus c = corpus(text, a.eval_every);

  // ---- model, streams, training ----
  const Streams s = streams(a, c.train.size());
  rnn::Model model = make_model(a, c, s, device);
  std::fprintf(stderr,
               "rnn train-char: %zu characters (%lld train, %lld validation), vocabulary %lld; model H=%lld L=%lld "
               "(%lld parameters); %lld streams x %lld steps, %s lr %g, clip %g, %lld updates; saving to %s\n",
               text.size(), static_cast<long long>(c.train.size()), static_cast<long long>(c.val.size()),
               static_cast<long long>(c.vocab.size()), static_cast<long long>(a.hidden),
               static_cast<long long>(a.layers), static_cast<long long>(model.parameter_count()),
               static_cast<long long>(s.B), static_cast<long long>(s.seq), a.optimizer.c_str(), a.lr, a.clip,
               static_cast<long long>(a.steps), out.c_str());
  const auto start = std::chrono::steady_clock::now();
  rnn::ChunkTrainer learner(model, oo, a.clip, device, s.seq, s.B);
  std::fprintf(stderr, "training on %s\n", rnn::device_name(device));
  training::Interrupts interrupts;
  const Loop loop = train_loop(a, learner, c, s, out, interrupts, start);
  model = kept(a, learner, loop);
  training::save(model, out);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report_end(a, model, c, loop, seconds, out, interrupts);
}

int sample(const SampleArgs& a) {
  if (a.length < 0) throw rnn::Error("--length", "must be 0 or more");
  if (!(a.temperature >= 0.0)) throw rnn::Error("--temperature", "must be 0 (greedy) or more");
  const rnn::Device device = rnn::resolve_device(rnn::parse_device(a.device, "--device"));
  const rnn::Model model = rnn::load_model(a.model);
  if (model.vocab.empty()) throw rnn::Error(a.model, "has no vocab in its metadata: not a character model");
  const rnn::Vocab vocab = rnn::Vocab::read(model, 0, a.model);  // files without vocab_reserved: train-char's 0
  if (vocab.reserved() != 0)
    throw rnn::Error(a.model, "its vocabulary reserves index 0 (a task command's model): not a character language model");
  const rnn::ModelConfig& c = model.config();
  if (vocab.size() != c.input_size || c.output_size != c.input_size)
    throw rnn::Error(a.model, "vocab of " + std::to_string(vocab.size()) + " characters does not match input " +
                                  std::to_string(c.input_size) + " and output " + std::to_string(c.output_size));
  const std::vector<char32_t> prime = rnn::decode_utf8(a.prime, "--prime");
  if (prime.empty()) throw rnn::Error("--prime", "needs at least one character");
  for (char32_t ch : prime)
    if (vocab.index(ch) < 0)
      throw rnn::Error("--prime", "character '" + rnn::encode_utf8({ch}) + "' is not in the model's vocabulary");

  std::vector<int64_t> prime_ids;
  for (char32_t ch : prime) prime_ids.push_back(vocab.index(ch));
  std::vector<char32_t> out = prime;
  for (int64_t i : rnn::generate(model, prime_ids, a.length, a.temperature, a.seed, device))
    out.push_back(vocab.character(i));
  const std::string line = rnn::encode_utf8(out) + "\n";  // written whole: a NUL character is a character too
  std::fwrite(line.data(), 1, line.size(), stdout);
  return 0;
}

}  // namespace charlm
