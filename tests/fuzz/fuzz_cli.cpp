// tests/fuzz/fuzz_cli.cpp: the command line's argument handling on
// arbitrary argument lists. The input is split at NUL bytes into at most
// 64 arguments after "rnn"; cli::main parses them in ParseOnly mode (no
// command runs, no file is touched). Every list must be accepted or refused
// with exit code 2 and one error line; a crash, a sanitizer report, an
// escaped exception or any other exit code is a finding.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Arguments args = fuzz::split_arguments(data, size, "rnn");

  // The messages go to a buffer: at most one error line may come out.
  std::ostringstream out, err;
  std::streambuf* const cout = std::cout.rdbuf(out.rdbuf());
  std::streambuf* const cerr = std::cerr.rdbuf(err.rdbuf());
  const int code = cli::main(args.argc(), args.argv.data(), cli::Mode::ParseOnly);
  std::cout.rdbuf(cout);
  std::cerr.rdbuf(cerr);
  if (code != 0 && code != 2) std::abort();
  const std::string e = err.str();
  if (code == 2 && (e.rfind("rnn: error: ", 0) != 0 || e.find('\n') != e.size() - 1)) std::abort();
  return 0;
}
