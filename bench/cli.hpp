// bench/cli.hpp: rnn-bench's command line, as a function: the program
// (bench/main.cpp) and the argument fuzzer (tests/fuzz/fuzz_bench.cpp) call it.
#pragma once

namespace rnn::bench {

// Parses argv (argv[0] is the program's name) and runs the benchmark it
// asks for. Exit status: 0 on success, 1 on bad input or a failure, 2 on a
// bad command line, 3 when an engine's output disagrees with ours; errors
// are one line on stderr. With parse_only, the arguments are parsed and
// checked (the grid built, its host memory checked) and nothing runs: no
// device is used beyond asking whether one is present, no file is read or
// written, and help prints nothing.
int cli_main(int argc, char** argv, bool parse_only = false);

}  // namespace rnn::bench
