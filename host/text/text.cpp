// host/text/text.cpp: UTF-8 <-> code points (rnn/text.hpp).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "rnn/error.hpp"
#include "rnn/text.hpp"

namespace rnn {

std::vector<char32_t> decode_utf8(const std::string& s, const std::string& subject) {
  std::vector<char32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) throw rnn::Error(subject, "not valid UTF-8 at byte " + std::to_string(i));
    char32_t cp = n == 1 ? c : (c & (0x7f >> n));
    for (int k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) throw rnn::Error(subject, "not valid UTF-8 at byte " + std::to_string(i + k));
      cp = (cp << 6) | (cc & 0x3f);
    }
    const char32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw rnn::Error(subject, "not valid UTF-8 at byte " + std::to_string(i));
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string encode_utf8(const std::vector<char32_t>& cps) {
  std::string s;
  for (char32_t cp : cps) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return s;
}

Vocab::Vocab(std::vector<char32_t> chars, int64_t reserved) {
  std::sort(chars.begin(), chars.end());
  chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
  *this = in_order(chars, reserved, "vocab");
}

Vocab Vocab::in_order(const std::vector<char32_t>& chars, int64_t reserved, const std::string& subject) {
  if (reserved != 0 && reserved != 1)
    throw Error(subject, "reserves " + std::to_string(reserved) + " indices (expected 0 or 1)");
  Vocab v;
  v.reserved_ = reserved;
  v.chars_ = chars;
  for (size_t k = 0; k < chars.size(); ++k)
    if (!v.index_.emplace(chars[k], reserved + static_cast<int64_t>(k)).second)
      throw Error(subject, "repeats the character '" + encode_utf8({chars[k]}) + "'");
  return v;
}

int64_t Vocab::index(char32_t c) const {
  const auto it = index_.find(c);
  return it == index_.end() ? -1 : it->second;
}

char32_t Vocab::character(int64_t index) const {
  if (index < reserved_ || index >= size())
    throw Error("index", std::to_string(index) + " is not a character's index (characters are " +
                             std::to_string(reserved_) + " to " + std::to_string(size() - 1) + ")");
  return chars_[static_cast<size_t>(index - reserved_)];
}

void Vocab::store(std::map<std::string, std::string>& metadata, const std::string& key) const {
  metadata[key] = encode_utf8(chars_);
  metadata[key + "_reserved"] = std::to_string(reserved_);
}

void Vocab::store(Model& model) const {
  model.vocab = encode_utf8(chars_);
  model.metadata["vocab_reserved"] = std::to_string(reserved_);
}

namespace {

Vocab read_vocab(const std::string* text, const std::string* convention, const std::string& key,
                 int64_t legacy_reserved, const std::string& subject) {
  if (!text) throw Error(subject, "has no '" + key + "' metadata (the characters of a character model)");
  int64_t reserved = legacy_reserved;
  if (convention) {
    if (*convention != "0" && *convention != "1")
      throw Error(subject, "'" + key + "_reserved' is '" + *convention + "' (expected 0 or 1)");
    reserved = *convention == "1" ? 1 : 0;
  }
  return Vocab::in_order(decode_utf8(*text, subject + ": " + key), reserved, subject + ": " + key);
}

const std::string* find(const std::map<std::string, std::string>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace

Vocab Vocab::read(const std::map<std::string, std::string>& metadata, const std::string& key, int64_t legacy_reserved,
                  const std::string& subject) {
  return read_vocab(find(metadata, key), find(metadata, key + "_reserved"), key, legacy_reserved, subject);
}

Vocab Vocab::read(const Model& model, int64_t legacy_reserved, const std::string& subject) {
  return read_vocab(model.vocab.empty() ? nullptr : &model.vocab, find(model.metadata, "vocab_reserved"), "vocab",
                    legacy_reserved, subject);
}

}  // namespace rnn
