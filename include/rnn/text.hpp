// rnn/text.hpp: text for the character models: UTF-8 <-> Unicode code
// points. Every text input of the CLI (train-char texts, the task TSVs,
// stdin lines) and every vocabulary stored in a model's metadata goes
// through these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rnn/model.hpp"

namespace rnn {

// The code points of UTF-8 text. Only valid, shortest-form UTF-8 of Unicode
// scalar values is accepted; anything else throws rnn::Error(subject, "not
// valid UTF-8 at byte N").
std::vector<char32_t> decode_utf8(const std::string& text, const std::string& subject);
// The UTF-8 encoding of code points (each a Unicode scalar value); the
// inverse of decode_utf8.
std::string encode_utf8(const std::vector<char32_t>& code_points);

// A character vocabulary: each character's index in a model's one-hot
// input (and, for generation, output). The first `reserved` indices (0 or
// 1) stand for no character: with 1, index 0 is the unknown character or a
// boundary symbol (the task commands: train-classify, train-tag,
// train-seq2seq); train-char reserves none (character k is index k).
//
// In a model file the characters are stored in index order as UTF-8 under a
// metadata key ("vocab" for Model::vocab, "source_vocab"/"target_vocab" for
// seq2seq) and the convention beside it, under the same key with
// "_reserved" ("vocab_reserved": "0" or "1"). Files written before that key
// existed are read by the rule of the command that wrote them: train-char
// reserved none, the task commands reserved index 0 (`legacy_reserved`).
class Vocab {
 public:
  Vocab() = default;
  // The distinct characters of `chars`, sorted by code point, after
  // `reserved` (0 or 1) indices.
  Vocab(std::vector<char32_t> chars, int64_t reserved);
  // The characters in the order given (index reserved + k is chars[k]);
  // rnn::Error(subject, ...) when one repeats.
  static Vocab in_order(const std::vector<char32_t>& chars, int64_t reserved, const std::string& subject);

  int64_t size() const noexcept { return reserved_ + static_cast<int64_t>(chars_.size()); }
  int64_t reserved() const noexcept { return reserved_; }
  const std::vector<char32_t>& chars() const noexcept { return chars_; }
  // The index of c, or -1 when c is not in the vocabulary.
  int64_t index(char32_t c) const;
  // The character of a non-reserved index; rnn::Error("index", ...) otherwise.
  char32_t character(int64_t index) const;

  // Stores the characters (UTF-8) under `key` and the convention under
  // key + "_reserved" in `metadata`.
  void store(std::map<std::string, std::string>& metadata, const std::string& key) const;
  // Model::vocab and metadata "vocab_reserved".
  void store(Model& model) const;
  // Reads what store() wrote; a file without key + "_reserved" is read with
  // `legacy_reserved`. Throws rnn::Error(subject, ...) when the key is
  // missing, the text is not UTF-8, a character repeats, or the convention
  // is not "0" or "1".
  static Vocab read(const std::map<std::string, std::string>& metadata, const std::string& key,
                    int64_t legacy_reserved, const std::string& subject);
  static Vocab read(const Model& model, int64_t legacy_reserved, const std::string& subject);

 private:
  std::vector<char32_t> chars_;  // index reserved_ + k is chars_[k]
  std::map<char32_t, int64_t> index_;
  int64_t reserved_ = 0;
};

}  // namespace rnn

