// cli/cli.hpp: the command line as a function, so that the program's
// main() (cli/rnn.cpp) and the argument fuzzer (tests/fuzz/fuzz_cli.cpp)
// share it.
#pragma once

namespace cli {

enum class Mode {
  Run,        // parse, then run the command
  ParseOnly,  // parse and report usage errors; run nothing, touch no file
};

// Returns the process's exit code; on an error prints exactly one line
// "rnn: error: <file or flag>: <what is wrong>" on stderr.
int main(int argc, char** argv, Mode mode = Mode::Run);

}  // namespace cli
