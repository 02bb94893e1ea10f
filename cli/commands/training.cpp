// cli/commands/training.cpp: output paths, interrupts and saves for the
// training commands (training.hpp).
#include "training.hpp"

#include <signal.h>
#include <time.h>

#include <atomic>
#include <filesystem>

#include "rnn/error.hpp"
#include "rnn/io.hpp"
#include "rnn/limits.hpp"
#include "rnn/train.hpp"

namespace training {

namespace {

volatile sig_atomic_t g_signal = 0;  // the first signal received
volatile sig_atomic_t g_first_at = 0;  // when, in CLOCK_MONOTONIC seconds
volatile sig_atomic_t g_saving = 0;  // a save is in progress: hold signals off
std::atomic<bool> g_active{false};
struct sigaction g_old_int, g_old_term;

sig_atomic_t now_seconds() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<sig_atomic_t>(ts.tv_sec);
}

void on_signal(int sig) {
  const sig_atomic_t now = now_seconds();
  // A second signal over a second after the first (a second Ctrl-C, not
  // the copy `timeout` sends to the process group as well): stop now, as
  // nothing is being written.
  if (g_signal != 0 && !g_saving && now - g_first_at >= 2) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  if (g_signal == 0) {
    g_signal = sig;
    g_first_at = now;
  }
}

}  // namespace

void at_least(const std::string& flag, int64_t value, int64_t least) {
  if (value < least) throw rnn::Error(flag, "must be at least " + std::to_string(least) + " (got " +
                                                std::to_string(value) + ")");
}

std::string output_path(const std::string& out, const std::string& input, const std::string& fallback) {
  std::string path = out;
  if (path.empty()) {
    const std::string stem = input.empty() ? "" : input == "-" ? "stdin" : std::filesystem::path(input).stem().string();
    path = (stem.empty() || stem == "." || stem == "..") ? fallback : stem;
    path += ".safetensors";
  }
  rnn::check_writable(path);
  return path;
}

Interrupts::Interrupts() {
  if (g_active.exchange(true)) throw rnn::Error("interrupts", "already being caught");
  g_signal = 0;
  g_saving = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

Interrupts::~Interrupts() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_active = false;
}

bool Interrupts::requested() const noexcept { return g_signal != 0; }

const char* Interrupts::signal_name() const noexcept {
  return g_signal == SIGINT ? "SIGINT" : g_signal == SIGTERM ? "SIGTERM" : "";
}

int Interrupts::exit_code() const noexcept { return g_signal == 0 ? 0 : 128 + g_signal; }

void check_memory(const std::vector<rnn::ModelConfig>& configs, int64_t T, int64_t B, int64_t copies, bool on_gpu,
                  const std::string& flag) {
  uint64_t bytes = 0, parameters = 0;
  for (const rnn::ModelConfig& c : configs) {
    c.validate();
    parameters += c.parameter_count();
    uint64_t one = rnn::checked_mul(c.parameter_count(), sizeof(float) * static_cast<uint64_t>(copies), flag);
    if (!on_gpu) one += rnn::train_step_bytes(c, T, B, flag);
    bytes += one;
  }
  rnn::check_host_bytes(bytes, flag, [&] {
    return "training a model of " + std::to_string(parameters) + " parameters (H=" +
           std::to_string(configs.front().hidden_size) + ") on batches of " + std::to_string(T) + " x " +
           std::to_string(B);
  });
}

void save_bytes(const std::vector<uint8_t>& bytes, const std::string& path) {
  g_saving = 1;
  try {
    rnn::write_file_atomic(path, bytes);
  } catch (...) {
    g_saving = 0;
    throw;
  }
  g_saving = 0;
}

void save(const rnn::Model& model, const std::string& path) {
  rnn::SaveOptions so;
  so.prefix = "rnn.";
  save_bytes(rnn::model_bytes(model, so, path), path);
}

rnn::OptimizerOptions optimizer_options(const std::string& name, double lr, double momentum) {
  rnn::OptimizerOptions o;
  if (name == "adam") o.kind = rnn::OptimizerKind::Adam;
  else if (name == "sgd") o.kind = rnn::OptimizerKind::Sgd, o.momentum = momentum;
  else throw rnn::Error("--optimizer", "unknown optimizer '" + name + "' (expected adam or sgd)");
  if (!(lr > 0)) throw rnn::Error("--lr", "must be positive");
  o.lr = lr;
  return o;
}

void check_sizes(int64_t hidden, int64_t layers, int64_t batch, int64_t steps, int64_t save_every) {
  at_least("--hidden", hidden, 1);
  at_least("--layers", layers, 1);
  at_least("--batch", batch, 1);
  at_least("--steps", steps, 1);
  at_least("--save-every", save_every, 0);
}

}  // namespace training
