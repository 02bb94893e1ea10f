// cli/rnn.cpp: the `rnn` program.
#include "cli.hpp"

int main(int argc, char** argv) { return cli::main(argc, argv); }
