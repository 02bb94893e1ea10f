// tests/fuzz/fuzz_bench.cpp: rnn-bench's argument handling (`rnn bench`
// passes its arguments through untouched) on arbitrary argument lists. The
// input is split at NUL bytes into at most 64 arguments after "rnn-bench";
// rnn::bench::cli_main parses and checks them in parse-only mode (the grid
// is built and its host memory checked; nothing runs, no file is touched).
// Every list must be accepted (0) or refused with exit code 2 (a bad
// command line) or 1 (a bad value) and exactly one "rnn: error: " line; a
// crash, a sanitizer report, an escaped exception or any other exit code
// is a finding.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Arguments args = fuzz::split_arguments(data, size, "rnn-bench");

  std::ostringstream out, err;
  std::streambuf* const cout = std::cout.rdbuf(out.rdbuf());
  std::streambuf* const cerr = std::cerr.rdbuf(err.rdbuf());
  const int code = rnn::bench::cli_main(args.argc(), args.argv.data(), true);
  std::cout.rdbuf(cout);
  std::cerr.rdbuf(cerr);
  if (code != 0 && code != 1 && code != 2) std::abort();
  const std::string e = err.str();
  if (code != 0 && (e.rfind("rnn: error: ", 0) != 0 || e.find('\n') != e.size() - 1)) std::abort();
  return 0;
}
