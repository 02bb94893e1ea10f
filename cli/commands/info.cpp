// cli/commands/info.cpp: rnn info and rnn bench (see info.hpp).
#include "info.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "rnn/rnn.hpp"

namespace info_cmd {

int exec_bench(const std::vector<std::string>& args, const char* argv0) {
  std::string self(4096, '\0');
  const ssize_t n = readlink("/proc/self/exe", &self[0], self.size() - 1);
  self = n > 0 ? self.substr(0, static_cast<size_t>(n)) : std::string(argv0);
  const std::string path = self.substr(0, self.rfind('/') + 1) + "rnn-bench";
  std::vector<char*> argv{const_cast<char*>(path.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::cout.flush();
  execv(path.c_str(), argv.data());
  const int err = errno;
  throw rnn::Error("bench", "cannot run " + path + ": " + std::strerror(err) +
                               " (rnn-bench is built and installed beside rnn)");
}

int info(const std::string& path) {
  const rnn::Model m = rnn::load_model(path);
  const rnn::ModelConfig& c = m.config();
  std::printf("model: %s\n", path.c_str());
  std::printf("  layers: %lld\n  directions: %lld (%s)\n", static_cast<long long>(c.num_layers),
              static_cast<long long>(c.num_directions()), c.bidirectional ? "bidirectional" : "unidirectional");
  std::printf("  input size: %lld\n  hidden size: %lld\n", static_cast<long long>(c.input_size),
              static_cast<long long>(c.hidden_size));
  std::printf("  nonlinearity: %s\n  bias: %s\n", rnn::nonlinearity_name(c.nonlinearity), c.bias ? "yes" : "no");
  if (c.output_size > 0)
    std::printf("  head: fc, %lld outputs%s\n", static_cast<long long>(c.output_size),
                c.output_bias ? " with bias" : ", no bias");
  else
    std::printf("  head: none\n");
  if (!m.vocab.empty()) std::printf("  vocab: %zu bytes\n", m.vocab.size());
  for (const auto& [k, v] : m.metadata) std::printf("  metadata %s: %s\n", k.c_str(), v.c_str());
  std::printf("  parameters: %lld\n", static_cast<long long>(m.parameter_count()));
  std::printf("  shapes: x [T, B, %lld] -> y [T, B, %lld], h0/h_n [%lld, B, %lld]\n",
              static_cast<long long>(c.input_size), static_cast<long long>(c.num_directions() * c.hidden_size),
              static_cast<long long>(c.num_layers * c.num_directions()), static_cast<long long>(c.hidden_size));
  return 0;
}

}  // namespace info_cmd
