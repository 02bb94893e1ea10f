// bench/main.cpp: rnn-bench, the benchmark program (`rnn bench` runs it);
// its command line is bench/cli.cpp.
#include "cli.hpp"

int main(int argc, char** argv) { return rnn::bench::cli_main(argc, argv); }
