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
#include "seq2seq.hpp"
#include "tasks_common.hpp"

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

namespace {

// A metadata value on one line: newlines and tabs escaped, long values cut.
std::string one_line(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (out.size() >= 160) return out + "... (" + std::to_string(v.size()) + " bytes)";
    out += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
  }
  return out;
}

// A vocabulary: its size in characters and the characters themselves (the
// reserved index shown as <0>).
void print_vocab(const char* what, const rnn::Vocab& v) {
  std::string shown = v.reserved() ? "<0>" : "";
  for (char32_t c : v.chars()) {
    if (shown.size() > 120) {
      shown += "...";
      break;
    }
    shown += c == U'\n' ? std::string("\\n") : c == U'\t' ? std::string("\\t") : c == 0 ? std::string("\\0")
                                                                                        : rnn::encode_utf8({c});
  }
  std::printf("  %s: %lld symbols%s: %s\n", what, static_cast<long long>(v.size()),
              v.reserved() ? " (index 0 reserved: unknown or boundary)" : "", shown.c_str());
}

void print_rnn(const rnn::Model& m, const std::string& indent) {
  const rnn::ModelConfig& c = m.config();
  const char* in = indent.c_str();
  std::printf("%slayers: %lld\n%sdirections: %lld (%s)\n", in, static_cast<long long>(c.num_layers), in,
              static_cast<long long>(c.num_directions()), c.bidirectional ? "bidirectional" : "unidirectional");
  if (m.has_embedding())
    std::printf("%sembedding: %lld tokens of %lld\n", in, static_cast<long long>(m.embedding.dim(0)),
                static_cast<long long>(m.embedding.dim(1)));
  std::printf("%sinput size: %lld\n%shidden size: %lld\n", in, static_cast<long long>(c.input_size), in,
              static_cast<long long>(c.hidden_size));
  std::printf("%snonlinearity: %s\n%sbias: %s\n", in, rnn::nonlinearity_name(c.nonlinearity), in,
              c.bias ? "yes" : "no");
  if (c.output_size > 0)
    std::printf("%shead: %lld outputs%s\n", in, static_cast<long long>(c.output_size),
                c.output_bias ? " with bias" : ", no bias");
  else
    std::printf("%shead: none\n", in);
  std::printf("%sparameters: %lld\n", in, static_cast<long long>(m.parameter_count() + m.embedding.numel()));
}

}  // namespace

int info(const std::string& path, const rnn::LoadOptions& options) {
  const rnn::TensorFile file = rnn::read_safetensors(path);
  const auto task = file.metadata.find("task");
  const std::string kind = task == file.metadata.end() ? "" : task->second;
  std::printf("model: %s\n", path.c_str());
  if (kind == "seq2seq") {
    rnn::Vocab src, tgt;
    bool reverse = false;
    const rnn::Seq2SeqModel m = seq2seq_cmd::load_pair(path, src, tgt, reverse);
    std::printf("  kind: encoder-decoder (rnn train-seq2seq; rnn translate reads it)\n");
    print_vocab("source vocabulary", src);
    print_vocab("target vocabulary", tgt);
    std::printf("  source read %s; decoder input: %s\n", reverse ? "reversed" : "in order",
                m.context ? "previous symbol + the encoder's final state" : "previous symbol");
    std::printf("  encoder (encoder.*):\n");
    print_rnn(m.encoder, "    ");
    std::printf("  decoder (decoder.*, head fc.*):\n");
    print_rnn(m.decoder, "    ");
    return 0;
  }
  const rnn::LoadOptions names = rnn::module_names(file, path, options);
  const rnn::Model m = rnn::model_from_tensors(file, path, options);
  const rnn::ModelConfig& c = m.config();
  const bool reserved = m.metadata.count("vocab_reserved") ? m.metadata.at("vocab_reserved") == "1" : kind != "";
  if (kind == "classify") {
    std::printf("  kind: classifier (rnn train-classify; rnn classify reads it)\n");
    std::string labels;
    for (const std::string& l : tasks::split_lines(m.metadata.count("labels") ? m.metadata.at("labels") : ""))
      labels += (labels.empty() ? "" : ", ") + l;
    std::printf("  labels: %lld: %s\n", static_cast<long long>(c.output_size), labels.c_str());
  } else if (kind == "tag") {
    std::printf("  kind: tagger (rnn train-tag; rnn tag reads it)\n");
    std::printf("  tags: %s\n", one_line(m.metadata.count("tags") ? m.metadata.at("tags") : "").c_str());
  } else if (!m.vocab.empty() && !reserved) {
    std::printf("  kind: character language model (rnn train-char; rnn sample reads it)\n");
  } else {
    std::printf("  kind: %s\n", c.output_size > 0 ? "RNN with a head" : "RNN");
  }
  if (!m.vocab.empty()) print_vocab("vocabulary", rnn::Vocab::read(m, reserved ? 1 : 0, path));
  std::printf("  tensors: rnn %s, head %s, embedding %s\n",
              names.rnn_prefix == "." ? "(bare names)" : (names.rnn_prefix + ".*").c_str(),
              names.head_prefix.empty() ? "none" : (names.head_prefix + ".*").c_str(),
              names.embedding_prefix.empty() ? "none" : (names.embedding_prefix + ".weight").c_str());
  print_rnn(m, "  ");
  for (const auto& [k, v] : m.metadata)
    if (k != "labels" && k != "tags" && k != "task" && k != "vocab_reserved")
      std::printf("  metadata %s: %s\n", k.c_str(), one_line(v).c_str());
  const int64_t W = c.num_directions() * c.hidden_size;
  std::printf("  shapes: %s -> %s, h0/h_n [%lld, B, %lld]\n",
              m.has_embedding() ? "token ids [T, B]" : ("x [T, B, " + std::to_string(c.input_size) + "]").c_str(),
              c.output_size > 0 ? ("logits [T, B, " + std::to_string(c.output_size) + "] (y [T, B, " +
                                   std::to_string(W) + "])").c_str()
                                : ("y [T, B, " + std::to_string(W) + "]").c_str(),
              static_cast<long long>(c.num_layers * c.num_directions()), static_cast<long long>(c.hidden_size));
  return 0;
}

}  // namespace info_cmd
