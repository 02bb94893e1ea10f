// tests/fuzz/fuzz_text.cpp: the UTF-8 decoder (rnn/text.hpp) every text input goes
// through (train-char texts, the task TSVs, the vocabularies stored in
// model metadata) on arbitrary bytes. Every input must decode or be refused
// with rnn::Error; what decodes must encode back to the same bytes (only
// valid, shortest-form UTF-8 is accepted), and every code point must be a
// Unicode scalar value.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rnn/error.hpp"
#include "rnn/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::vector<char32_t> text;
  try {
    text = rnn::decode_utf8(bytes, "fuzz.txt");
  } catch (const rnn::Error&) {
    return 0;
  }
  for (char32_t c : text)
    if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) std::abort();
  if (rnn::encode_utf8(text) != bytes) std::abort();
  return 0;
}
