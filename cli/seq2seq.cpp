// cli/seq2seq.cpp: rnn train-seq2seq and rnn translate.
//
// Characters in, characters out. Source vocabulary: index 0 for characters
// not seen in training, then the source characters. Target vocabulary:
// index 0 is the boundary symbol (the decoder's first input, and the
// end-of-sequence it learns to emit), then the target characters. The file
// holds encoder.* and decoder.* (nn.RNN names) and fc.* (the decoder's
// head), with metadata task=seq2seq, source_vocab, target_vocab.
#include "seq2seq.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include "charlm.hpp"
#include "rnn/rnn.hpp"

namespace seq2seq_cmd {

namespace {

struct Pair {
  std::vector<char32_t> source, target;
};

std::vector<Pair> read_tsv(const std::string& path) {
  const std::vector<uint8_t> bytes = rnn::read_file(path);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::vector<Pair> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size())
      throw rnn::Error(path, "line " + std::to_string(n) + ": expected source<TAB>target");
    const std::string where = path + ": line " + std::to_string(n);
    out.push_back({charlm::decode_utf8(line.substr(0, tab), where), charlm::decode_utf8(line.substr(tab + 1), where)});
  }
  if (out.empty()) throw rnn::Error(path, "holds no examples");
  return out;
}

struct Vocab {
  std::vector<char32_t> chars;  // index k + 1 is chars[k]; index 0 is reserved
  std::map<char32_t, int64_t> index;
  int64_t size() const { return static_cast<int64_t>(chars.size()) + 1; }
  int64_t of(char32_t c) const {
    auto it = index.find(c);
    return it == index.end() ? 0 : it->second;
  }
};

Vocab vocab_from(std::vector<char32_t> chars) {
  std::sort(chars.begin(), chars.end());
  chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
  Vocab v;
  v.chars = chars;
  for (size_t i = 0; i < chars.size(); ++i) v.index[chars[i]] = static_cast<int64_t>(i) + 1;
  return v;
}

rnn::Tensor one_hot_seq(const std::vector<std::vector<int64_t>>& ids, int64_t V, std::vector<int64_t>& lengths) {
  int64_t T = 1;
  lengths.clear();
  for (const auto& s : ids) {
    lengths.push_back(static_cast<int64_t>(s.size()));
    T = std::max<int64_t>(T, lengths.back());
  }
  const int64_t B = static_cast<int64_t>(ids.size());
  rnn::Tensor x({T, B, V});
  for (int64_t b = 0; b < B; ++b)
    for (size_t t = 0; t < ids[static_cast<size_t>(b)].size(); ++t)
      x[(static_cast<int64_t>(t) * B + b) * V + ids[static_cast<size_t>(b)][t]] = 1.0f;
  return x;
}

std::vector<int64_t> source_ids(const std::vector<char32_t>& s, const Vocab& v, bool reverse) {
  std::vector<int64_t> ids;
  for (char32_t c : s) ids.push_back(v.of(c));
  if (reverse) std::reverse(ids.begin(), ids.end());
  if (ids.empty()) ids.push_back(0);
  return ids;
}

std::vector<char32_t> decode(const rnn::Seq2SeqModel& m, const Vocab& src, const Vocab& tgt, bool reverse,
                             const std::vector<char32_t>& source, int64_t max_length, double temperature = 0.0,
                             uint64_t seed = 0) {
  std::vector<int64_t> len;
  const rnn::Tensor x = one_hot_seq({source_ids(source, src, reverse)}, src.size(), len);
  std::vector<char32_t> out;
  for (int64_t k : rnn::seq2seq_sample(m, x, 0, 0, max_length, temperature, seed))
    out.push_back(tgt.chars[static_cast<size_t>(k - 1)]);
  return out;
}

// Splits a seq2seq file into its encoder and decoder.
rnn::Seq2SeqModel load_pair(const std::string& path, Vocab& src, Vocab& tgt, bool& reverse) {
  const rnn::TensorFile f = rnn::read_safetensors(path);
  auto task = f.metadata.find("task");
  if (task == f.metadata.end() || task->second != "seq2seq")
    throw rnn::Error(path, "is not a model from rnn train-seq2seq (no task=seq2seq metadata)");
  rnn::TensorFile enc, dec;
  for (auto* part : {&enc, &dec}) {
    auto nl = f.metadata.find("nonlinearity");
    if (nl != f.metadata.end()) part->metadata["nonlinearity"] = nl->second;
  }
  for (const auto& [name, t] : f.tensors) {
    if (name.rfind("encoder.", 0) == 0) enc.tensors.emplace_back(name.substr(8), t);
    else if (name.rfind("decoder.", 0) == 0) dec.tensors.emplace_back(name.substr(8), t);
    else if (name.rfind("fc.", 0) == 0) dec.tensors.emplace_back(name, t);
    else throw rnn::Error(path, "unexpected tensor '" + name + "' in a seq2seq model");
  }
  rnn::Seq2SeqModel m{rnn::model_from_tensors(enc, path + " (encoder)"), rnn::model_from_tensors(dec, path + " (decoder)")};
  reverse = f.metadata.count("reverse_source") && f.metadata.at("reverse_source") == "true";
  src = vocab_from(charlm::decode_utf8(f.metadata.count("source_vocab") ? f.metadata.at("source_vocab") : "", path));
  tgt = vocab_from(charlm::decode_utf8(f.metadata.count("target_vocab") ? f.metadata.at("target_vocab") : "", path));
  if (src.size() != m.encoder.config().input_size || tgt.size() != m.decoder.config().input_size ||
      tgt.size() != m.decoder.config().output_size)
    throw rnn::Error(path, "vocabularies do not match the models' sizes");
  return m;
}

}  // namespace

int train(const TrainArgs& a) {
  if (a.hidden < 1 || a.layers < 1 || a.batch < 1 || a.steps < 0 || a.max_length < 1)
    throw rnn::Error("--hidden/--layers/--batch/--steps/--max-length", "must be positive");
  rnn::OptimizerOptions oo;
  if (a.optimizer == "adam") oo.kind = rnn::OptimizerKind::Adam;
  else if (a.optimizer == "sgd") oo.kind = rnn::OptimizerKind::Sgd, oo.momentum = a.momentum;
  else throw rnn::Error("--optimizer", "unknown optimizer '" + a.optimizer + "' (expected adam or sgd)");
  oo.lr = a.lr;
  const std::vector<Pair> train = read_tsv(a.train), test = read_tsv(a.test);
  std::vector<char32_t> sc, tc;
  for (const Pair& p : train) {
    sc.insert(sc.end(), p.source.begin(), p.source.end());
    tc.insert(tc.end(), p.target.begin(), p.target.end());
  }
  const Vocab src = vocab_from(sc), tgt = vocab_from(tc);
  rnn::ModelConfig ec, dc;
  ec.input_size = src.size();
  ec.hidden_size = dc.hidden_size = a.hidden;
  ec.num_layers = dc.num_layers = a.layers;
  dc.input_size = dc.output_size = tgt.size();
  rnn::Seq2SeqModel m{rnn::Model::random(ec, a.seed), rnn::Model::random(dc, a.seed + 1)};
  rnn::Optimizer eo(m.encoder, oo), dopt(m.decoder, oo);
  std::fprintf(stderr, "rnn train-seq2seq: %zu train, %zu test pairs; vocabularies %lld -> %lld; H=%lld L=%lld; %lld updates\n",
               train.size(), test.size(), static_cast<long long>(src.size()), static_cast<long long>(tgt.size()),
               static_cast<long long>(a.hidden), static_cast<long long>(a.layers), static_cast<long long>(a.steps));

  std::mt19937_64 gen(a.seed);
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  size_t at = order.size();
  const bool tty = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  double smooth = -1;
  for (int64_t step = 1; step <= a.steps; ++step) {
    if (at + static_cast<size_t>(a.batch) > order.size()) {
      std::shuffle(order.begin(), order.end(), gen);
      at = 0;
    }
    const size_t n = std::min(order.size(), static_cast<size_t>(a.batch));
    std::vector<std::vector<int64_t>> s_ids, d_in;
    std::vector<std::vector<int64_t>> d_out;
    for (size_t k = 0; k < n; ++k) {
      const Pair& p = train[order[at + k]];
      s_ids.push_back(source_ids(p.source, src, a.reverse_source));
      // Teacher forcing: in = [boundary, t1, ..., tn], out = [t1, ..., tn, boundary].
      std::vector<int64_t> in = {0}, out;
      for (char32_t c : p.target) {
        in.push_back(tgt.of(c));
        out.push_back(tgt.of(c));
      }
      out.push_back(0);
      d_in.push_back(in);
      d_out.push_back(out);
    }
    at += n;
    std::vector<int64_t> s_len, t_len;
    const rnn::Tensor x = one_hot_seq(s_ids, src.size(), s_len);
    const rnn::Tensor y_in = one_hot_seq(d_in, tgt.size(), t_len);
    const int64_t T = y_in.dim(0), B = y_in.dim(1);
    std::vector<int64_t> targets(static_cast<size_t>(T * B), -1);
    for (int64_t b = 0; b < B; ++b)
      for (size_t t = 0; t < d_out[static_cast<size_t>(b)].size(); ++t)
        targets[static_cast<size_t>(static_cast<int64_t>(t) * B + b)] = d_out[static_cast<size_t>(b)][t];
    const rnn::Seq2SeqStepResult r = rnn::seq2seq_step(m, eo, dopt, x, s_len, y_in, t_len, targets, a.clip);
    smooth = smooth < 0 ? r.loss : 0.98 * smooth + 0.02 * r.loss;
    if (tty || step == a.steps || step % std::max<int64_t>(1, a.steps / 20) == 0) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f  %.0fs left%s", tty ? "\r" : "", static_cast<long long>(step),
                   static_cast<long long>(a.steps), smooth, el / step * (a.steps - step), tty ? "   " : "\n");
      std::fflush(stderr);
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  if (!a.out.empty()) {
    rnn::TensorFile f;
    for (const auto& [name, t] : m.encoder.parameters()) f.tensors.emplace_back("encoder." + name, *t);
    for (const auto& [name, t] : m.decoder.parameters())
      f.tensors.emplace_back(name.rfind("fc.", 0) == 0 ? name : "decoder." + name, *t);
    f.metadata["task"] = "seq2seq";
    f.metadata["nonlinearity"] = "tanh";
    f.metadata["source_vocab"] = charlm::encode_utf8(src.chars);
    f.metadata["target_vocab"] = charlm::encode_utf8(tgt.chars);
    f.metadata["reverse_source"] = a.reverse_source ? "true" : "false";
    rnn::write_safetensors(a.out, f);
  }
  int64_t exact = 0;
  for (const Pair& p : test) exact += decode(m, src, tgt, a.reverse_source, p.source, a.max_length) == p.target;
  std::printf("saved %s\n", a.out.empty() ? "nothing (no --out)" : a.out.c_str());
  std::printf("test_exact_match=%.4f\n", static_cast<double>(exact) / static_cast<double>(test.size()));
  return 0;
}

int translate(const std::string& model_path, int64_t max_length, double temperature, uint64_t seed) {
  if (!(temperature >= 0.0)) throw rnn::Error("--temperature", "must be 0 (greedy) or more");
  Vocab src, tgt;
  bool reverse = false;
  const rnn::Seq2SeqModel m = load_pair(model_path, src, tgt, reverse);
  std::string line;
  int64_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto out = decode(m, src, tgt, reverse, charlm::decode_utf8(line, "stdin: line " + std::to_string(n)), max_length,
                            temperature, seed + static_cast<uint64_t>(n));
    std::printf("%s\n", charlm::encode_utf8(out).c_str());
  }
  return 0;
}

}  // namespace seq2seq_cmd
