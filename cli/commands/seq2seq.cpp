// cli/commands/seq2seq.cpp: rnn train-seq2seq and rnn translate.
//
// Characters in, characters out. Source vocabulary: index 0 for characters
// not seen in training, then the source characters. Target vocabulary:
// index 0 is the boundary symbol (the decoder's first input, and the
// end-of-sequence it learns to emit), then the target characters. The file
// holds encoder.* and decoder.* (nn.RNN names) and fc.* (the decoder's
// head), with metadata task=seq2seq, source_vocab, target_vocab,
// reverse_source and decoder_context (true: the decoder's input is the
// target symbol followed by the encoder's final top-layer state).
#include "seq2seq.hpp"


#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <utility>

#include "tasks_common.hpp"
#include "rnn/rnn.hpp"
#include "training.hpp"

namespace seq2seq_cmd {

namespace {

using tasks::Vocab;
using tasks::vocab_from;

struct Pair {
  std::vector<char32_t> source, target;
};

std::vector<Pair> read_pairs(const std::string& path) {
  std::vector<Pair> out;
  for (tasks::Row& r : tasks::read_tsv(path, "source<TAB>target")) out.push_back({std::move(r.first), std::move(r.second)});
  return out;
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
  for (char32_t c : s) ids.push_back(tasks::index_or_unknown(v, c));
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
    out.push_back(tgt.character(k));
  return out;
}

// The source and target vocabularies of the training pairs (index 0: the
// unknown character; the boundary symbol).
std::pair<Vocab, Vocab> vocabs_of(const std::vector<Pair>& train) {
  std::vector<char32_t> sc, tc;
  for (const Pair& p : train) {
    sc.insert(sc.end(), p.source.begin(), p.source.end());
    tc.insert(tc.end(), p.target.begin(), p.target.end());
  }
  return {vocab_from(sc), vocab_from(tc)};
}

// A random encoder and decoder (with the head) for the vocabularies, their
// host memory checked first.
rnn::Seq2SeqModel make_model(const TrainArgs& a, const std::vector<Pair>& train, const Vocab& src, const Vocab& tgt,
                             rnn::Device device) {
  rnn::ModelConfig ec, dc;
  ec.input_size = src.size();
  ec.hidden_size = dc.hidden_size = a.hidden;
  ec.num_layers = dc.num_layers = a.layers;
  dc.output_size = tgt.size();
  dc.input_size = tgt.size() + (a.context ? a.hidden : 0);
  size_t longest = 1;
  for (const Pair& p : train) longest = std::max({longest, p.source.size(), p.target.size() + 1});
  tasks::check_memory({ec, dc}, longest, a, train.size(), device);
  return {rnn::Model::random(ec, a.seed), rnn::Model::random(dc, a.seed + 1), a.context};
}

// A training batch of the pairs `pick`: the sources x, and with teacher
// forcing the decoder's inputs y_in and targets (-1 past a target's end).
struct Batch {
  rnn::Tensor x, y_in;
  std::vector<int64_t> s_len, t_len, targets;
};

Batch batch(const std::vector<Pair>& train, const std::vector<size_t>& pick, const Vocab& src, const Vocab& tgt,
            bool reverse) {
  std::vector<std::vector<int64_t>> s_ids, d_in, d_out;
  for (size_t k : pick) {
    const Pair& p = train[k];
    s_ids.push_back(source_ids(p.source, src, reverse));
    // Teacher forcing: in = [boundary, t1, ..., tn], out = [t1, ..., tn, boundary].
    std::vector<int64_t> in = {0}, out;
    for (char32_t c : p.target) {
      in.push_back(tasks::index_or_unknown(tgt, c));
      out.push_back(tasks::index_or_unknown(tgt, c));
    }
    out.push_back(0);
    d_in.push_back(in);
    d_out.push_back(out);
  }
  Batch b;
  b.x = one_hot_seq(s_ids, src.size(), b.s_len);
  b.y_in = one_hot_seq(d_in, tgt.size(), b.t_len);
  const int64_t T = b.y_in.dim(0), B = b.y_in.dim(1);
  b.targets.assign(static_cast<size_t>(T * B), -1);
  for (int64_t i = 0; i < B; ++i)
    for (size_t t = 0; t < d_out[static_cast<size_t>(i)].size(); ++t)
      b.targets[static_cast<size_t>(static_cast<int64_t>(t) * B + i)] = d_out[static_cast<size_t>(i)][t];
  return b;
}

// The model file's bytes: encoder.*, decoder.* and fc.*, with the
// vocabularies and the flags translate needs in the metadata.
std::vector<uint8_t> file_bytes(const rnn::Seq2SeqModel& m, const Vocab& src, const Vocab& tgt, const TrainArgs& a,
                                const std::string& path) {
  rnn::TensorFile f;
  for (const auto& [name, t] : m.encoder.parameters()) f.tensors.emplace_back("encoder." + name, *t);
  for (const auto& [name, t] : m.decoder.parameters())
    f.tensors.emplace_back(name.rfind("fc.", 0) == 0 ? name : "decoder." + name, *t);
  f.metadata["task"] = "seq2seq";
  f.metadata["nonlinearity"] = "tanh";
  src.store(f.metadata, "source_vocab");
  tgt.store(f.metadata, "target_vocab");
  f.metadata["reverse_source"] = a.reverse_source ? "true" : "false";
  f.metadata["decoder_context"] = a.context ? "true" : "false";
  return rnn::safetensors_bytes(f, path);
}

}  // namespace

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
  m.context = f.metadata.count("decoder_context") && f.metadata.at("decoder_context") == "true";
  src = tasks::read_task_vocab(f.metadata, "source_vocab", path);
  tgt = tasks::read_task_vocab(f.metadata, "target_vocab", path);
  const int64_t context_width = m.context ? m.decoder.config().hidden_size : 0;
  if (m.encoder.config().hidden_size != m.decoder.config().hidden_size ||
      m.encoder.config().num_layers != m.decoder.config().num_layers)
    throw rnn::Error(path, "encoder and decoder differ in hidden size or layers");
  if (src.size() != m.encoder.config().input_size || tgt.size() + context_width != m.decoder.config().input_size ||
      tgt.size() != m.decoder.config().output_size)
    throw rnn::Error(path, "vocabularies do not match the models' sizes");
  return m;
}

int train(const TrainArgs& a) {
  training::check_sizes(a.hidden, a.layers, a.batch, a.steps, a.save_every);
  training::at_least("--max-length", a.max_length, 1);
  const rnn::OptimizerOptions oo = training::optimizer_options(a.optimizer, a.lr, a.momentum);
  tasks::check_sources(a.train, a.test);
  const std::vector<Pair> train = read_pairs(a.train), test = read_pairs(a.test);
  const std::string save_to = training::output_path(a.out, a.train, "model");
  const std::pair<Vocab, Vocab> vocabs = vocabs_of(train);
  const Vocab &src = vocabs.first, &tgt = vocabs.second;
  const rnn::Device device = rnn::resolve_device(rnn::parse_device(a.device, "--device"));
  rnn::Seq2SeqLearner learner(make_model(a, train, src, tgt, device), tasks::learn_options(oo, a.clip, device));
  std::fprintf(stderr,
               "rnn train-seq2seq: %zu train, %zu test pairs; vocabularies %lld -> %lld; H=%lld L=%lld; %s; %lld updates "
               "on %s\n",
               train.size(), test.size(), static_cast<long long>(src.size()), static_cast<long long>(tgt.size()),
               static_cast<long long>(a.hidden), static_cast<long long>(a.layers),
               a.context ? "context in every decoder step" : "no context", static_cast<long long>(a.steps),
               rnn::device_name(device));

  auto update = [&](const std::vector<size_t>& pick) {
    const Batch b = batch(train, pick, src, tgt, a.reverse_source);
    return tasks::Update{learner.step(b.x, b.s_len, b.y_in, b.t_len, b.targets).loss, ""};
  };
  auto save = [&] { training::save_bytes(file_bytes(learner.model(), src, tgt, a, save_to), save_to); };
  if (const int code = tasks::train_loop(a, train.size(), save_to, update, save)) return code;
  const rnn::Seq2SeqModel m = learner.model();
  int64_t exact = 0;
  for (const Pair& p : test) exact += decode(m, src, tgt, a.reverse_source, p.source, a.max_length) == p.target;
  std::printf("saved %s\n", save_to.c_str());
  std::printf("test_exact_match=%.4f\n", static_cast<double>(exact) / static_cast<double>(test.size()));
  return 0;
}

int translate(const std::string& model_path, int64_t max_length, double temperature, uint64_t seed,
              const std::string& unknown) {
  const tasks::Unknown policy = tasks::parse_unknown(unknown);
  if (!(temperature >= 0.0)) throw rnn::Error("--temperature", "must be 0 (greedy) or more");
  Vocab src, tgt;
  bool reverse = false;
  const rnn::Seq2SeqModel m = load_pair(model_path, src, tgt, reverse);
  uint64_t n = 0;
  for (const std::vector<char32_t>& line : tasks::known_characters(tasks::read_stdin_lines(), src, policy, false)) {
    const auto out = decode(m, src, tgt, reverse, line, max_length, temperature, seed + ++n);
    const std::string text = rnn::encode_utf8(out) + "\n";  // written whole: NUL included
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

}  // namespace seq2seq_cmd
