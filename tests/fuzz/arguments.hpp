// tests/fuzz/arguments.hpp: the command-line fuzz targets' input as an
// argument list: split at NUL bytes into at most 64 arguments after
// `program`, and the argv that points into them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fuzz {

struct Arguments {
  std::vector<std::string> words;
  std::vector<char*> argv;  // into words, null-terminated
  int argc() const { return static_cast<int>(words.size()); }
};

inline Arguments split_arguments(const uint8_t* data, size_t size, const std::string& program) {
  Arguments a;
  a.words = {program};
  std::string word;
  for (size_t i = 0; i < size && a.words.size() <= 64; ++i) {
    if (data[i] == 0) {
      a.words.push_back(word);
      word.clear();
    } else {
      word.push_back(static_cast<char>(data[i]));
    }
  }
  if (!word.empty() && a.words.size() <= 64) a.words.push_back(word);
  for (std::string& w : a.words) a.argv.push_back(w.data());
  a.argv.push_back(nullptr);
  return a;
}

}  // namespace fuzz
