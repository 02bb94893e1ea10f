// cli/charlm.cpp: rnn train-char and rnn sample.
//
// The model is the classic char-rnn: one-hot characters in (I = V), an
// Elman RNN, a linear head to V logits, softmax cross-entropy on the next
// character. Training cuts the text into B contiguous streams and walks them
// seq_len characters at a time, carrying the hidden state from chunk to
// chunk (truncated BPTT); at the end of a pass the state starts again from
// zero. The vocabulary (code points in index order) is saved as the model's
// "vocab" metadata; the tensors are saved as rnn.* and fc.*, the names of a
// PyTorch module holding nn.RNN `rnn` and nn.Linear `fc`.
#include "charlm.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "rnn/rnn.hpp"

#ifdef RNN_CLI_CUDA
#include <cuda_runtime.h>

#include <memory>

#include "rnn/cuda.hpp"
#endif

namespace charlm {

std::vector<char32_t> decode_utf8(const std::string& s, const std::string& subject) {
  std::vector<char32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) throw rnn::Error(subject, "not valid UTF-8 at byte " + std::to_string(i));
    char32_t cp = n == 1 ? c : (c & (0x7f >> n));
    for (int k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) throw rnn::Error(subject, "not valid UTF-8 at byte " + std::to_string(i + k));
      cp = (cp << 6) | (cc & 0x3f);
    }
    const char32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw rnn::Error(subject, "not valid UTF-8 at byte " + std::to_string(i));
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string encode_utf8(const std::vector<char32_t>& cps) {
  std::string s;
  for (char32_t cp : cps) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return s;
}

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

// One training step on the CPU (rnn::train_step) or the GPU (rnn::cuda::Trainer),
// carrying the hidden state from chunk to chunk.
class Learner {
 public:
  Learner(rnn::Model& model, const rnn::OptimizerOptions& o, double clip, rnn::Device device, int64_t T, int64_t B)
      : model_(model), opt_(model, o), clip_(clip) {
#ifdef RNN_CLI_CUDA
    if (device == rnn::Device::Cuda) {
      rnn::cuda::TrainerOptions to;
      to.max_steps = T;
      to.max_batch = B;
      to.optimizer = o;
      to.clip = clip;
      trainer_ = std::make_unique<rnn::cuda::Trainer>(model, to);
      const rnn::ModelConfig& c = model.config();
      const size_t x = static_cast<size_t>(T * B * c.input_size), h = static_cast<size_t>(c.num_layers * B * c.hidden_size);
      check(cudaMalloc(&x_, x * sizeof(float)));
      check(cudaMalloc(&h_[0], h * sizeof(float)));
      check(cudaMalloc(&h_[1], h * sizeof(float)));
    }
#else
    (void)device;
    (void)T;
    (void)B;
#endif
  }
  ~Learner() {
#ifdef RNN_CLI_CUDA
    cudaFree(x_);
    cudaFree(h_[0]);
    cudaFree(h_[1]);
#endif
  }
  Learner(const Learner&) = delete;
  Learner& operator=(const Learner&) = delete;

  // Mean NLL of the chunk; `fresh` starts from a zero state.
  double step(const rnn::Tensor& x, const std::vector<int64_t>& targets, bool fresh) {
#ifdef RNN_CLI_CUDA
    if (trainer_) {
      check(cudaMemcpy(x_, x.data(), x.values().size() * sizeof(float), cudaMemcpyHostToDevice));
      const float* h0 = fresh ? nullptr : h_[cur_];
      cur_ ^= 1;
      return trainer_->step(x_, x.dim(0), x.dim(1), targets, h0, h_[cur_], nullptr).loss;
    }
#endif
    if (fresh) h_cpu_ = rnn::Tensor();
    const rnn::TrainStepResult r =
        rnn::train_step(model_, opt_, x, h_cpu_.empty() ? nullptr : &h_cpu_, targets, clip_);
    h_cpu_ = r.h_n;
    return r.loss;
  }

  // The trained weights.
  rnn::Model model() const {
#ifdef RNN_CLI_CUDA
    if (trainer_) {
      rnn::Model m = trainer_->model();
      m.vocab = model_.vocab;
      m.metadata = model_.metadata;
      return m;
    }
#endif
    return model_;
  }

 private:
#ifdef RNN_CLI_CUDA
  static void check(cudaError_t e) {
    if (e != cudaSuccess) throw rnn::Error("cuda", cudaGetErrorString(e));
  }
  std::unique_ptr<rnn::cuda::Trainer> trainer_;
  float* x_ = nullptr;
  float* h_[2] = {nullptr, nullptr};
  int cur_ = 0;
#endif
  rnn::Model& model_;
  rnn::Optimizer opt_;
  double clip_;
  rnn::Tensor h_cpu_;
};

std::string duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

}  // namespace

int train(const TrainArgs& a) {
  // ---- arguments and data ----
  if (a.text.empty() == a.string.empty()) throw rnn::Error("--text/--string", "give exactly one of them");
  if (a.hidden < 1 || a.layers < 1 || a.seq_len < 1 || a.batch < 1 || a.steps < 0)
    throw rnn::Error("--hidden/--layers/--seq-len/--batch/--steps", "must be positive");
  if (!(a.lr > 0)) throw rnn::Error("--lr", "must be positive");
  rnn::OptimizerOptions oo;
  if (a.optimizer == "adam") oo.kind = rnn::OptimizerKind::Adam;
  else if (a.optimizer == "sgd") oo.kind = rnn::OptimizerKind::Sgd, oo.momentum = a.momentum;
  else throw rnn::Error("--optimizer", "unknown optimizer '" + a.optimizer + "' (expected adam or sgd)");
  oo.lr = a.lr;
  const rnn::Device device = rnn::resolve_device(rnn::parse_device(a.device, "--device"));

  std::string raw;
  const std::string source = a.text.empty() ? "--string" : a.text;
  if (!a.text.empty()) {
    const std::vector<uint8_t> bytes = rnn::read_file(a.text);
    raw.assign(bytes.begin(), bytes.end());
  } else {
    raw = a.string;
  }
  const std::vector<char32_t> text = decode_utf8(raw, source);
  if (text.size() < 2) throw rnn::Error(source, "needs at least 2 characters to learn from");
  std::vector<char32_t> vocab(text.begin(), text.end());
  std::sort(vocab.begin(), vocab.end());
  vocab.erase(std::unique(vocab.begin(), vocab.end()), vocab.end());
  std::map<char32_t, int64_t> index;
  for (size_t i = 0; i < vocab.size(); ++i) index[vocab[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> ids;
  for (char32_t c : text) ids.push_back(index[c]);
  const int64_t V = static_cast<int64_t>(vocab.size());

  // The last 10% is held out when the text is long enough to spare it.
  const bool split = ids.size() >= 2000;
  const size_t n_train = split ? ids.size() * 9 / 10 : ids.size();
  const std::vector<int64_t> train_ids(ids.begin(), ids.begin() + static_cast<long>(n_train));
  const std::vector<int64_t> val_ids(ids.begin() + static_cast<long>(n_train), ids.end());

  // ---- model, optimizer, streams ----
  rnn::ModelConfig cfg;
  cfg.input_size = V;
  cfg.hidden_size = a.hidden;
  cfg.num_layers = a.layers;
  cfg.output_size = V;
  rnn::Model model = rnn::Model::random(cfg, a.seed);
  model.vocab = encode_utf8(vocab);

  const int64_t usable = static_cast<int64_t>(n_train) - 1;  // positions that have a next character
  const int64_t seq = std::min<int64_t>(a.seq_len, usable);
  const int64_t B = std::max<int64_t>(1, std::min<int64_t>(a.batch, usable / seq));
  const int64_t S = usable / B;  // positions per stream
  std::fprintf(stderr,
               "rnn train-char: %zu characters (%lld train, %lld validation), vocabulary %lld; model H=%lld L=%lld "
               "(%lld parameters); %lld streams x %lld steps, %s lr %g, clip %g, %lld updates\n",
               text.size(), static_cast<long long>(n_train), static_cast<long long>(val_ids.size()),
               static_cast<long long>(V), static_cast<long long>(a.hidden), static_cast<long long>(a.layers),
               static_cast<long long>(model.parameter_count()), static_cast<long long>(B),
               static_cast<long long>(seq), a.optimizer.c_str(), a.lr, a.clip, static_cast<long long>(a.steps));

  // ---- training ----
  const bool tty = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  Learner learner(model, oo, a.clip, device, seq, B);
  std::fprintf(stderr, "training on %s\n", rnn::device_name(device));
  int64_t pos = 0, tokens = 0;
  double smooth = -1.0;
  for (int64_t step = 1; step <= a.steps; ++step) {
    const bool fresh = pos >= S;  // a new pass starts from a zero state
    if (fresh) pos = 0;
    const int64_t T = std::min<int64_t>(seq, S - pos);
    std::vector<int64_t> in(static_cast<size_t>(T * B)), target(static_cast<size_t>(T * B));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < B; ++b) {
        const int64_t at = b * S + pos + t;
        in[static_cast<size_t>(t * B + b)] = train_ids[static_cast<size_t>(at)];
        target[static_cast<size_t>(t * B + b)] = train_ids[static_cast<size_t>(at + 1)];
      }
    const double loss = learner.step(one_hot(in, T, B, V), target, fresh || step == 1);
    pos += T;
    tokens += T * B;
    smooth = smooth < 0 ? loss : 0.95 * smooth + 0.05 * loss;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool report = tty || step == a.steps || step % std::max<int64_t>(1, a.steps / 20) == 0;
    if (report) {
      std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f (%.3f bpc)  %.0f tok/s  %s left%s", tty ? "\r" : "",
                   static_cast<long long>(step), static_cast<long long>(a.steps), smooth, smooth / kLn2,
                   tokens / std::max(elapsed, 1e-9), duration(elapsed / step * (a.steps - step)).c_str(),
                   tty ? "   " : "\n");
      std::fflush(stderr);
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  model = learner.model();

  rnn::SaveOptions so;
  so.prefix = "rnn.";
  if (!a.out.empty()) rnn::save_model(model, a.out, so);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained %lld steps in %s; saved %s\n", static_cast<long long>(a.steps), duration(seconds).c_str(),
              a.out.empty() ? "nothing (no --out)" : a.out.c_str());
  if (split) {
    std::printf("bigram_val_bpc=%.4f\n", bigram_bits_per_char(train_ids, val_ids, V));
    std::printf("val_bpc=%.4f\n", bits_per_char(model, val_ids));
  } else {
    std::printf("train_bpc=%.4f\n", bits_per_char(model, train_ids));
  }
  return 0;
}

int sample(const SampleArgs& a) {
  if (a.length < 0) throw rnn::Error("--length", "must be 0 or more");
  if (!(a.temperature >= 0.0)) throw rnn::Error("--temperature", "must be 0 (greedy) or more");
  const rnn::Device device = rnn::resolve_device(rnn::parse_device(a.device, "--device"));
  const rnn::Model model = rnn::load_model(a.model);
  if (model.vocab.empty()) throw rnn::Error(a.model, "has no vocab in its metadata: not a character model");
  const std::vector<char32_t> vocab = decode_utf8(model.vocab, a.model + ": vocab");
  const rnn::ModelConfig& c = model.config();
  if (static_cast<int64_t>(vocab.size()) != c.input_size || c.output_size != c.input_size)
    throw rnn::Error(a.model, "vocab of " + std::to_string(vocab.size()) + " characters does not match input " +
                                  std::to_string(c.input_size) + " and output " + std::to_string(c.output_size));
  std::map<char32_t, int64_t> index;
  for (size_t i = 0; i < vocab.size(); ++i) index[vocab[i]] = static_cast<int64_t>(i);
  const std::vector<char32_t> prime = decode_utf8(a.prime, "--prime");
  if (prime.empty()) throw rnn::Error("--prime", "needs at least one character");
  for (char32_t ch : prime)
    if (!index.count(ch))
      throw rnn::Error("--prime", "character '" + encode_utf8({ch}) + "' is not in the model's vocabulary");

#ifdef RNN_CLI_CUDA
  if (device == rnn::Device::Cuda) {
    // The GPU step API: each step is one launch that also picks the next
    // character, which stays on the device as the next input; the host only
    // reads it back to print it.
    rnn::cuda::Stepper gpu(model, 1);
    int32_t* d_idx = nullptr;
    auto check = [](cudaError_t e) {
      if (e != cudaSuccess) throw rnn::Error("cuda", cudaGetErrorString(e));
    };
    check(cudaMalloc(&d_idx, sizeof(int32_t)));
    std::unique_ptr<int32_t, decltype(&cudaFree)> owner(d_idx, &cudaFree);
    std::vector<char32_t> out = prime;
    for (size_t k = 0; k + 1 < prime.size(); ++k) {
      const int32_t i = static_cast<int32_t>(index[prime[k]]);
      check(cudaMemcpy(d_idx, &i, sizeof i, cudaMemcpyHostToDevice));
      gpu.step_one_hot(d_idx, nullptr);
    }
    const int32_t last = static_cast<int32_t>(index[prime.back()]);
    check(cudaMemcpy(d_idx, &last, sizeof last, cudaMemcpyHostToDevice));
    const int32_t* next = d_idx;
    for (int64_t n = 0; n < a.length; ++n) {
      next = gpu.step_and_sample(next, static_cast<float>(a.temperature), a.seed, nullptr);
      int32_t pick = 0;
      check(cudaMemcpy(&pick, next, sizeof pick, cudaMemcpyDeviceToHost));
      out.push_back(vocab[static_cast<size_t>(pick)]);
    }
    std::printf("%s\n", encode_utf8(out).c_str());
    return 0;
  }
#else
  (void)device;
#endif
  rnn::Stepper stepper(model, 1, rnn::Device::Cpu);
  for (char32_t ch : prime) stepper.step_one_hot({index[ch]});
  std::mt19937_64 gen(a.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<char32_t> out = prime;
  std::vector<double> p(vocab.size());
  for (int64_t n = 0; n < a.length; ++n) {
    const rnn::Tensor z = stepper.logits();
    int64_t pick = 0;
    if (a.temperature == 0.0) {
      for (int64_t k = 1; k < z.numel(); ++k)
        if (z[k] > z[pick]) pick = k;
    } else {
      double zmax = z[0], sum = 0.0;
      for (int64_t k = 1; k < z.numel(); ++k) zmax = std::max(zmax, static_cast<double>(z[k]));
      for (int64_t k = 0; k < z.numel(); ++k) sum += (p[k] = std::exp((z[k] - zmax) / a.temperature));
      double r = u(gen) * sum;
      pick = z.numel() - 1;
      for (int64_t k = 0; k < z.numel(); ++k) {
        if (r < p[k]) {
          pick = k;
          break;
        }
        r -= p[k];
      }
    }
    out.push_back(vocab[static_cast<size_t>(pick)]);
    stepper.step_one_hot({pick});
  }
  std::printf("%s\n", encode_utf8(out).c_str());
  return 0;
}

}  // namespace charlm
