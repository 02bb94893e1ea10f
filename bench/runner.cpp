// bench/runner.cpp: the benchmark runner: grids, the CPU path, floors and
// the table. The GPU half is bench/gpu.cpp; the JSON and CSV outputs,
// bench/report_io.cpp.
#include <algorithm>
#include <cmath>
#include <chrono>
#include <initializer_list>
#include <iomanip>
#include <limits>
#include <random>
#include <sstream>

#include "bench.hpp"
#include "gpu.hpp"
#include "rnn/rnn.hpp"

namespace rnn::bench {

std::string Shape::label() const {
  std::ostringstream s;
  s << "B=" << B << " H=" << H << " I=" << I << " T=" << T << " L=" << L << " D=" << directions()
    << (varlen ? " varlen" : "");
  return s.str();
}

double Shape::flops(double tokens) const {
  double per_token = 0;
  for (int64_t l = 0; l < L; ++l) {
    const double in = l == 0 ? static_cast<double>(I) : static_cast<double>(directions() * H);
    per_token += directions() * 2.0 * H * (in + H);
  }
  return per_token * tokens;
}

namespace {

// One layer, one direction, I = H, T = 256, for every H x B (H outer).
std::vector<Shape> square_grid(std::initializer_list<int64_t> hs, std::initializer_list<int64_t> bs) {
  std::vector<Shape> g;
  for (int64_t H : hs)
    for (int64_t B : bs) {
      Shape s;
      s.B = B;
      s.H = H;
      s.I = H;
      g.push_back(s);
    }
  return g;
}

}  // namespace

std::vector<Shape> default_grid() {
  std::vector<Shape> g = square_grid({256, 512, 1024, 2048}, {1, 8, 64, 256});
  Shape two_layers;
  two_layers.B = 64, two_layers.H = 1024, two_layers.I = 1024, two_layers.L = 2;
  Shape bidir = two_layers;
  bidir.L = 1, bidir.bidirectional = true;
  Shape varlen = two_layers;
  varlen.L = 1, varlen.varlen = true;
  Shape mixed;
  mixed.B = 8, mixed.H = 512, mixed.I = 512, mixed.L = 2, mixed.bidirectional = true, mixed.varlen = true;
  g.insert(g.end(), {two_layers, bidir, varlen, mixed});
  return g;
}

std::vector<Shape> target_grid() { return square_grid({256, 1024, 2048}, {1, 8, 64, 256}); }

std::vector<Shape> named_grid(const std::string& name, bool gpu) {
  if (name == "default") return default_grid();
  if (name == "target") return target_grid();
  if (name == "quick") return quick_grid(gpu);
  throw Error("--shapes", "'" + name + "' is not a grid (expected default, target or quick)");
}

std::vector<Shape> quick_grid(bool gpu) {
  std::vector<Shape> g;
  const std::vector<int64_t> hs = gpu ? std::vector<int64_t>{256, 512} : std::vector<int64_t>{64, 128};
  for (int64_t H : hs)
    for (int64_t B : {1, 8}) {
      Shape s;
      s.B = B;
      s.H = H;
      s.I = H;
      s.T = gpu ? 64 : 32;
      g.push_back(s);
    }
  Shape mixed = g.back();
  mixed.L = 2, mixed.bidirectional = true, mixed.varlen = true;
  g.push_back(mixed);
  return g;
}

void check_host_fits(const Shape& s) {
  const std::vector<int64_t> shape = {s.T, s.B, s.I};
  const int64_t n = checked_numel(shape, "tensor");
  if (static_cast<uint64_t>(n) > std::numeric_limits<uint64_t>::max() / sizeof(float))
    throw Error("tensor", "shape " + shape_string(shape) + " is too large");
  check_host_bytes(static_cast<uint64_t>(n) * sizeof(float), "tensor",
                   [&] { return "a tensor of shape " + shape_string(shape); });
}

namespace detail {

std::vector<int64_t> bench_lengths(const Shape& s, uint64_t seed) {
  std::vector<int64_t> len(static_cast<size_t>(s.B), s.T);
  if (!s.varlen) return len;
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> u(std::max<int64_t>(1, s.T / 2), s.T);
  for (auto& l : len) l = u(gen);
  len[static_cast<size_t>(s.B / 2)] = s.T;
  return len;
}

double floor_ms(const Shape& s, double tokens, const DeviceInfo& info, std::string* kind) {
  const double D = static_cast<double>(s.directions()), H = static_cast<double>(s.H);
  const double compute = s.flops(tokens) / (info.peak_fp32_tflops * 1e12) * 1e3;
  double bytes = 4.0 * (static_cast<double>(s.T * s.B) * (s.I + D * H));  // x in, y out
  for (int64_t l = 0; l < s.L; ++l) bytes += 4.0 * D * H * ((l == 0 ? s.I : D * H) + H);  // weights once
  bytes += 4.0 * 2.0 * static_cast<double>(s.L - 1) * s.T * s.B * D * H;  // inner layers out and back in
  const double memory = bytes / (info.bandwidth_gbs * 1e9) * 1e3;
  const double barrier = info.barrier_us * 1e-3 * static_cast<double>(s.T * s.L);
  double best = compute;
  *kind = "compute";
  if (memory > best) best = memory, *kind = "memory";
  if (barrier > best) best = barrier, *kind = "barrier";
  return best;
}

}  // namespace detail

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The fast CPU backend ("cpu", o.runs timed runs) and the double reference
// ("cpu reference", o.reference_runs, at most 3: it is slow; 0: none) on one
// shape, the same inputs; the fast row's check is its y's relative error
// against the reference's. --device reference: the reference's row alone.
std::vector<Row> run_cpu_shape(const Shape& s, const Options& o, bool fast_too) {
  ModelConfig cfg;
  cfg.input_size = s.I;
  cfg.hidden_size = s.H;
  cfg.num_layers = s.L;
  cfg.bidirectional = s.bidirectional;
  std::random_device fresh;
  const Model model = Model::random(cfg, fresh());
  Tensor x({s.T, s.B, s.I});
  std::mt19937_64 gen(fresh());
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = u(gen);
  const std::vector<int64_t> lengths = detail::bench_lengths(s, fresh());
  double tokens = 0;
  for (int64_t l : lengths) tokens += static_cast<double>(l);
  std::vector<Row> rows;
  Tensor y_ref, y_fast;
  const bool reference = !fast_too || o.reference_runs > 0;
  for (const Device d : {Device::Cpu, Device::Reference}) {
    if (d == Device::Cpu && !fast_too) continue;
    if (d == Device::Reference && !reference) continue;
    ForwardOptions fo;
    fo.device = d;
    std::vector<double> times;
    const int runs = d == Device::Reference ? std::max(1, std::min({o.runs, o.reference_runs, 3})) : std::max(1, o.runs);
    const int warmup = d == Device::Reference ? 1 : std::max(1, o.warmup);
    for (int r = 0; r < runs + warmup; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      ForwardResult out = forward(model, x, nullptr, s.varlen ? &lengths : nullptr, fo);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r >= warmup) times.push_back(ms);
      if (r == 0) (d == Device::Cpu ? y_fast : y_ref) = std::move(out.y);
    }
    Row row;
    row.shape = s;
    row.engine = d == Device::Cpu ? "cpu" : "cpu reference";
    row.status = "ok (CPU, not a GPU figure)";
    row.ms = median(times);
    row.us_per_step = row.ms * 1e3 / static_cast<double>(s.T);
    row.tflops = s.flops(tokens) / (row.ms * 1e-3) / 1e12;
    rows.push_back(row);
  }
  if (!fast_too) return rows;
  if (!reference) {
    rows[0].status = "ok (CPU, not a GPU figure; not checked: --reference-runs 0)";
    return rows;
  }
  double num = 0, den = 0;
  for (int64_t i = 0; i < y_ref.numel(); ++i) {
    const double dlt = static_cast<double>(y_fast[i]) - y_ref[i];
    num += dlt * dlt;
    den += static_cast<double>(y_ref[i]) * y_ref[i];
  }
  rows[0].check = std::sqrt(num / std::max(den, 1e-300));
  if (!(rows[0].check <= 1e-5)) rows[0].status = "MISMATCH: y differs from the reference's by " + std::to_string(rows[0].check);
  return rows;
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

}  // namespace

Report run(const Options& o, std::ostream& log, const Progress& progress, const Report* resume) {
  Report report;
  const Device device = resolve_device(o.device);
  if (device != Device::Cuda) {
    report.device.name = "cpu";
    log << "rnn bench: no GPU in use: timing the fast CPU backend and the CPU reference (these are not GPU "
           "figures)\n";
  } else {
#ifdef RNN_BENCH_CUDA
    report.device = detail::gpu_info();
    log << "rnn bench: " << report.device.name << ", FP32 peak " << fixed(report.device.peak_fp32_tflops, 1)
        << " TFLOP/s, " << fixed(report.device.bandwidth_gbs, 0) << " GB/s, grid barrier "
        << fixed(report.device.barrier_us, 2) << " us"
        << (report.device.cudnn_version.empty() ? ", no cuDNN" : ", cuDNN " + report.device.cudnn_version) << "\n";
#else
    throw Error("device", "cuda: this build has no CUDA backend");
#endif
  }
  if (resume) {
    if (resume->device.name != report.device.name)
      throw Error("resume", "its rows were measured on '" + resume->device.name + "', this run is on '" +
                                report.device.name + "'");
    report.rows = resume->rows;
    report.mismatch = resume->mismatch;
  }
  if (progress) progress(report);
  for (const Shape& s : o.shapes) {
    const std::string label = s.label();
    const bool done = std::any_of(report.rows.begin(), report.rows.end(),
                                  [&](const Row& r) { return r.shape.label() == label; });
    if (done) {
      log << "  " << label << ": already measured (kept)\n";
      continue;
    }
    log << "  " << label << " ...\n";
    std::vector<Row> rows;
    try {
      if (device != Device::Cuda) {
        rows = run_cpu_shape(s, o, device == Device::Cpu);
      } else {
#ifdef RNN_BENCH_CUDA
        rows = detail::run_gpu_shape(s, o, report.device, log);
#endif
      }
    } catch (const std::exception& e) {  // the shape's own setup failed; its row says why, the grid goes on
      Row r;
      r.shape = s;
      r.engine = "(shape setup)";
      r.status = std::string("failed: ") + e.what();
      log << "    " << r.status << "\n";
      rows.push_back(r);
    }
    for (Row& r : rows) {
      if (r.status.rfind("MISMATCH", 0) == 0) report.mismatch = true;
      report.rows.push_back(std::move(r));
    }
    if (progress) progress(report);
  }
  return report;
}

namespace {

// The time split of one shape and kernel: the full row and its variants.
struct Split {
  const Row* full = nullptr;
  double saves[3] = {0, 0, 0};  // staging, epilogue, barrier (0: not measured)
  bool any = false;
};

// The parts of a step a timing variant leaves out, in the split's order.
const char* const kParts[3] = {"staging", "epilogue", "barrier"};

// The device line and the table's column heads.
void print_heading(const Report& report, std::ostream& out) {
  out << "device: " << report.device.name;
  if (report.device.gpu)
    out << " (FP32 peak " << fixed(report.device.peak_fp32_tflops, 1) << " TFLOP/s, "
        << fixed(report.device.bandwidth_gbs, 0) << " GB/s, grid barrier " << fixed(report.device.barrier_us, 2)
        << " us)";
  else
    out << " (" << rnn::cpu_threads() << " thread(s) for the fast CPU backend; CPU figures, not GPU ones)";
  out << "\n";
  out << std::left << std::setw(40) << "shape" << std::setw(26) << "engine" << std::right << std::setw(10) << "ms"
      << std::setw(10) << "us/step" << std::setw(9) << "TFLOP/s" << std::setw(9) << "/cuDNN" << std::setw(10)
      << "floor ms" << std::setw(9) << "bound" << std::setw(10) << "check"
      << "  status\n";
}

// One row of the table ("-" where there is no figure).
void print_row(const Row& r, std::ostream& out) {
  const bool timed = r.ms > 0;
  out << std::left << std::setw(40) << r.shape.label() << std::setw(26) << r.engine << std::right << std::setw(10)
      << (timed ? fixed(r.ms, 3) : "-") << std::setw(10) << (timed ? fixed(r.us_per_step, 2) : "-") << std::setw(9)
      << (timed ? fixed(r.tflops, 3) : "-") << std::setw(9) << (r.vs_cudnn > 0 ? fixed(r.vs_cudnn, 2) : "-")
      << std::setw(10) << (r.floor_ms > 0 ? fixed(r.floor_ms, 3) : "-") << std::setw(9)
      << (r.floor_kind.empty() ? "-" : r.floor_kind) << std::setw(10);
  if (r.check >= 0) {
    std::ostringstream c;
    c << std::scientific << std::setprecision(1) << r.check;
    out << c.str();
  } else {
    out << "-";
  }
  out << "  " << r.status << "\n";
}

// The time splits of the report: one per timed full row with timed variants,
// in the order of the variants' rows.
std::vector<Split> time_splits(const Report& report) {
  std::vector<Split> splits;
  for (const Row& r : report.rows) {
    if (r.timing_skip.empty() || r.ms <= 0) continue;
    auto it = std::find_if(splits.begin(), splits.end(), [&](const Split& s) {
      return s.full->engine == r.variant_of && s.full->shape.label() == r.shape.label();
    });
    if (it == splits.end()) {
      const auto full = std::find_if(report.rows.begin(), report.rows.end(), [&](const Row& f) {
        return f.engine == r.variant_of && f.shape.label() == r.shape.label() && f.ms > 0;
      });
      if (full == report.rows.end()) continue;
      splits.push_back(Split{&*full, {0, 0, 0}, false});
      it = splits.end() - 1;
    }
    for (int k = 0; k < 3; ++k)
      if (r.timing_skip == kParts[k]) it->saves[k] = r.saves_us_per_step, it->any = true;
  }
  return splits;
}

// The time split table: what leaving each part out saved ("-": not measured).
void print_splits(const Report& report, const std::vector<Split>& splits, std::ostream& out) {
  out << "\ntime split, us per step (what leaving each part out saved; rest = the dot products, launch and what "
         "overlaps):\n";
  out << std::left << std::setw(40) << "shape" << std::setw(18) << "engine" << std::right << std::setw(10) << "step"
      << std::setw(10) << "staging" << std::setw(10) << "epilogue" << std::setw(10) << "barrier" << std::setw(10)
      << "rest\n";
  for (const Split& s : splits) {
    double rest = s.full->us_per_step;
    out << std::left << std::setw(40) << s.full->shape.label() << std::setw(18) << s.full->engine << std::right
        << std::setw(10) << fixed(s.full->us_per_step, 2);
    for (int k = 0; k < 3; ++k) {
      const bool measured = std::any_of(report.rows.begin(), report.rows.end(), [&](const Row& r) {
        return r.variant_of == s.full->engine && r.timing_skip == kParts[k] && r.ms > 0 &&
               r.shape.label() == s.full->shape.label();
      });
      out << std::setw(10) << (measured ? fixed(s.saves[k], 2) : "-");
      rest -= s.saves[k];
    }
    out << std::setw(10) << fixed(rest, 2) << "\n";
  }
}

}  // namespace

void print_table(const Report& report, std::ostream& out) {
  print_heading(report, out);
  for (const Row& r : report.rows) print_row(r, out);
  if (report.mismatch) out << "WARNING: some engine's output disagrees with ours beyond 1e-5 (see check and status)\n";

  // Where a step's time goes: what leaving each part out saved.
  const std::vector<Split> splits = time_splits(report);
  if (splits.empty()) return;
  print_splits(report, splits, out);
}

}  // namespace rnn::bench
