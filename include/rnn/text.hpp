// rnn/text.hpp: text for the character models: UTF-8 <-> Unicode code
// points. Every text input of the CLI (train-char texts, the task TSVs,
// stdin lines) and every vocabulary stored in a model's metadata goes
// through these.
#pragma once

#include <string>
#include <vector>

namespace rnn {

// The code points of UTF-8 text. Only valid, shortest-form UTF-8 of Unicode
// scalar values is accepted; anything else throws rnn::Error(subject, "not
// valid UTF-8 at byte N").
std::vector<char32_t> decode_utf8(const std::string& text, const std::string& subject);
// The UTF-8 encoding of code points (each a Unicode scalar value); the
// inverse of decode_utf8.
std::string encode_utf8(const std::vector<char32_t>& code_points);

}  // namespace rnn
