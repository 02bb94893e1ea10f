// bench/cli.cpp: rnn-bench's command line (bench/cli.hpp; the program is
// bench/main.cpp, and `rnn bench` runs it).
//
//   rnn-bench [--shapes default|target|quick] [--quick] [--batch 1,8] [--hidden 256,512]
//             [--input I] [--steps T] [--layers L] [--bidirectional] [--varlen] [--warmup N]
//             [--runs N] [--device auto|cpu|cuda] [--json F [--append]] [--csv F]
//
// A program of its own, so that `rnn` links neither cuDNN nor the runner.
// Exit status: 0 on success, 1 on bad input or a failure, 2 on a bad
// command line, 3 when an engine's output disagrees with ours; errors are
// one line on stderr, "rnn: error: <flag or file>: <what is wrong>", as the
// rest of the CLI.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench.hpp"
#include "cli.hpp"
#include "rnn/rnn.hpp"

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitMismatch = 3;  // an engine's output disagreed with ours

int fail(const std::string& subject, const std::string& message, int code) {
  std::string line = subject.empty() ? message : subject + ": " + message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "rnn: error: " << line << std::endl;
  return code;
}

struct BenchArgs {
  bool quick = false, bidirectional = false, varlen = false, append = false;
  std::string shapes, batch, hidden, device = "auto", json, csv;
  int64_t input = 0, steps = 0, layers = 1;
  int warmup = 3, runs = 20, reference_runs = 3;
};

// "1,8,64" -> {1, 8, 64}; every entry >= 1.
std::vector<int64_t> parse_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 1)
      throw rnn::Error(flag, "'" + item + "' is not a positive integer (expected a list like 1,8,64)");
    out.push_back(v);
  }
  if (out.empty()) throw rnn::Error(flag, "empty list");
  return out;
}

// The shapes the flags name: --shapes' grid, the grid of --batch x
// --hidden (and the other shape flags), or the quick or default grid.
std::vector<rnn::bench::Shape> shapes_of(const BenchArgs& a, bool gpu, bool parse_only) {
  const bool custom = !a.batch.empty() || !a.hidden.empty() || a.input || a.steps || a.layers != 1 ||
                      a.bidirectional || a.varlen;
  if (!a.shapes.empty() && (custom || a.quick))
    throw rnn::Error("--shapes", "names a whole grid; it cannot be combined with --quick or the shape flags");
  if (!a.shapes.empty()) return rnn::bench::named_grid(a.shapes, gpu);
  if (!custom) {
    if (a.quick || !gpu) {
      if (!a.quick && !parse_only) std::fprintf(stderr, "rnn bench: no GPU in use: running the quick grid on the CPU (the fast backend beside the reference)\n");
      return rnn::bench::quick_grid(gpu);
    }
    return rnn::bench::default_grid();
  }
  std::vector<rnn::bench::Shape> out;
  const auto batches = parse_list(a.batch.empty() ? (a.quick ? "1,8" : "1,8,64,256") : a.batch, "--batch");
  const auto hiddens = parse_list(a.hidden.empty() ? (a.quick ? "256,512" : "256,512,1024,2048") : a.hidden, "--hidden");
  for (int64_t H : hiddens)
    for (int64_t B : batches) {
      rnn::bench::Shape s;
      s.B = B;
      s.H = H;
      s.I = a.input ? a.input : H;
      s.T = a.steps ? a.steps : (a.quick ? 64 : 256);
      s.L = a.layers;
      s.bidirectional = a.bidirectional;
      s.varlen = a.varlen;
      out.push_back(s);
    }
  return out;
}

int cmd_bench(const BenchArgs& a, bool parse_only) {
  rnn::bench::Options o;
  o.device = rnn::parse_device(a.device, "--device");
  if (a.warmup < 0) throw rnn::Error("--warmup", "must be 0 or more");
  if (a.reference_runs < 0) throw rnn::Error("--reference-runs", "must be 0 or more");
  if (a.runs < 1) throw rnn::Error("--runs", "must be at least 1");
  if (a.input < 0 || a.steps < 0 || a.layers < 1) throw rnn::Error("--input/--steps/--layers", "must be positive");
  o.warmup = a.warmup;
  o.reference_runs = a.reference_runs;
  o.runs = a.runs;
  const bool gpu = rnn::resolve_device(o.device) == rnn::Device::Cuda;
  o.shapes = shapes_of(a, gpu, parse_only);
  if (a.append && a.json.empty()) throw rnn::Error("--append", "needs --json (the file whose rows it extends)");
  // A grid that cannot even hold its inputs is a bad argument, refused up
  // front; failures while running become rows of the report instead.
  for (const rnn::bench::Shape& s : o.shapes) rnn::bench::check_host_fits(s);
  if (parse_only) return 0;
  // --append: the rows already in the JSON file are kept and their shapes skipped.
  rnn::bench::Report resume;
  const bool resuming = a.append && std::ifstream(a.json).good();
  if (resuming) resume = rnn::bench::read_json(a.json);
  // The files are rewritten (atomically) before the first shape and after
  // every shape: a run cut short leaves complete files with the rows so far.
  const auto write = [&a](const rnn::bench::Report& r) {
    if (!a.json.empty()) rnn::bench::write_json(r, a.json);
    if (!a.csv.empty()) rnn::bench::write_csv(r, a.csv);
  };
  const rnn::bench::Report report = rnn::bench::run(o, std::cerr, write, resuming ? &resume : nullptr);
  rnn::bench::print_table(report, std::cout);
  if (report.mismatch) {
    std::cerr << "rnn: error: bench: an engine's output disagrees with ours beyond 1e-5" << std::endl;
    return kExitMismatch;
  }
  return 0;
}

}  // namespace

namespace rnn::bench {

int cli_main(int argc, char** argv, bool parse_only) {
  CLI::App app("Time our kernels against cuDNN (or, without a GPU, the fast CPU backend against the reference)",
               "rnn bench");
  BenchArgs a;
    app.add_option("--shapes", a.shapes,
                         "a named grid: default (B 1..256 x H 256..2048 and more), target (B 1,8,64,256 x H "
                         "256,1024,2048, T 256) or quick");
  app.add_flag("--quick", a.quick, "a small grid");
  app.add_option("--batch", a.batch, "batch sizes, e.g. 1,8,64,256");
  app.add_option("--hidden", a.hidden, "hidden sizes, e.g. 256,512,1024,2048");
  app.add_option("--input", a.input, "input size (default: = hidden size)");
  app.add_option("--steps", a.steps, "T (default 256; 64 with --quick)");
  app.add_option("--layers", a.layers, "layers (default 1)");
  app.add_flag("--bidirectional", a.bidirectional, "two directions");
  app.add_flag("--varlen", a.varlen, "per-sequence lengths drawn in [T/2, T]");
  app.add_option("--warmup", a.warmup, "untimed runs first (default 3)");
  app.add_option("--reference-runs", a.reference_runs,
                 "--device cpu: timed runs of the CPU reference beside the fast backend, whose check is against it "
                 "(default 3; 0: the fast backend alone, unchecked)");
  app.add_option("--runs", a.runs, "timed runs; the median is reported (default 20)");
  app.add_option(
      "--device", a.device,
      "auto (default), cuda, cpu (the fast CPU backend and the reference side by side) or reference (alone)");
  app.add_option("--json", a.json, "write the rows as JSON (rewritten after every shape)");
  app.add_flag("--append", a.append,
                      "keep the rows already in the --json file and skip their shapes (to extend a run)");
  app.add_option("--csv", a.csv, "write the rows as CSV (rewritten after every shape)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return parse_only ? 0 : app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    return fail("arguments", what + " (see rnn bench --help)", kExitUsage);
  }
  try {
    return cmd_bench(a, parse_only);
  } catch (const rnn::Error& e) {
    return fail(e.subject(), e.message(), kExitError);
  } catch (const std::bad_alloc&) {
    return fail("", "out of memory", kExitError);
  } catch (const std::exception& e) {
    return fail("", e.what(), kExitError);
  }
}

}  // namespace rnn::bench
