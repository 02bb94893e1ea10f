// cli/commands/training.hpp: what every training command does around its
// loop so that finished work is never lost: the output path (derived from
// the input when --out is not given) checked writable before the first
// step; checkpoints every --save-every updates; SIGINT and SIGTERM ending
// the run after the current update with the model saved (exit 128 + the
// signal: 130 for Ctrl-C); saves that no signal can cut short, so no
// temporary file is ever left behind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnn/model.hpp"
#include "rnn/device.hpp"
#include "rnn/train.hpp"

namespace training {

// Refuses a flag's value below `least`: "<flag>: must be at least <least>".
void at_least(const std::string& flag, int64_t value, int64_t least);

// The model file a training command writes: `out`, or when empty the name
// of `input` without its folder and extension + ".safetensors", in the
// current folder ("fallback" + ".safetensors" when `input` is empty).
// Checked writable (rnn::check_writable) before it is returned.
std::string output_path(const std::string& out, const std::string& input, const std::string& fallback);

// While one exists, SIGINT and SIGTERM are caught: the first sets a flag the
// training loop reads between updates; another one over a second later
// (a second Ctrl-C) outside a save ends the process at once (nothing is
// being written then); one arriving during a save (save() below) waits
// until the file is in place. (`timeout` sends its signal twice, to the
// process and to its group: the copy is not a second Ctrl-C.) The previous
// handlers come back when it is destroyed. One at a time per process.
class Interrupts {
 public:
  Interrupts();
  ~Interrupts();
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  bool requested() const noexcept;
  const char* signal_name() const noexcept;  // "SIGINT", "SIGTERM"; "" if none came
  int exit_code() const noexcept;            // 128 + the signal; 0 if none came
};

// Refuses, before any of it is made, a training run whose host memory
// would not fit: `copies` models of each config held at once (the model,
// a trainer's copy, ...) and one CPU training step of T x B for each
// (on the GPU the step's working memory is on the device). Throws
// rnn::Error(flag, "training ... needs N GiB ...").
void check_memory(const std::vector<rnn::ModelConfig>& configs, int64_t T, int64_t B, int64_t copies, bool on_gpu,
                  const std::string& flag);

// Writes the model atomically (rnn.* + fc.* names), signals held off until
// the file is in place.
void save(const rnn::Model& model, const std::string& path);
// The same for a file's bytes.
void save_bytes(const std::vector<uint8_t>& bytes, const std::string& path);

// --optimizer adam|sgd with --lr and (SGD) --momentum; the name checked
// before the rate.
rnn::OptimizerOptions optimizer_options(const std::string& name, double lr, double momentum);

// The supervised task commands' shared checks: --hidden, --layers, --batch,
// --steps at least 1, --save-every at least 0, each named alone.
void check_sizes(int64_t hidden, int64_t layers, int64_t batch, int64_t steps, int64_t save_every);

}  // namespace training
