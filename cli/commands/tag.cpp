// cli/commands/tag.cpp: rnn train-tag and rnn tag.
//
// Characters in (one-hot, index 0 for characters not seen in training), a
// head on every step's output (both directions when bidirectional), softmax
// cross-entropy against the tag of each character. The model is saved as
// rnn.* and fc.* with metadata task=tag, vocab and tags (the tag characters
// in index order).
#include "tag.hpp"


#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <utility>

#include "tasks_common.hpp"
#include "rnn/rnn.hpp"
#include "training.hpp"

namespace tag_cmd {

namespace {

struct Example {
  std::vector<char32_t> text, tags;
};

std::vector<Example> read_examples(const std::string& path) {
  std::vector<Example> out;
  for (tasks::Row& r : tasks::read_tsv(path, "text<TAB>tags")) {
    if (r.first.size() != r.second.size())
      throw rnn::Error(path, "line " + std::to_string(r.line) + ": " + std::to_string(r.first.size()) +
                                 " characters but " + std::to_string(r.second.size()) + " tags");
    out.push_back({std::move(r.first), std::move(r.second)});
  }
  return out;
}

// The argmax tag index of every character of every text.
std::vector<std::vector<int64_t>> predict(const rnn::Model& m, const rnn::Vocab& chars,
                                          const std::vector<const std::vector<char32_t>*>& texts, rnn::Device dev) {
  std::vector<std::vector<int64_t>> out;
  const int64_t O = m.config().output_size;
  rnn::ForwardOptions fo;
  fo.device = dev;
  for (size_t at = 0; at < texts.size(); at += 256) {
    std::vector<const std::vector<char32_t>*> chunk(texts.begin() + at,
                                                    texts.begin() + std::min(texts.size(), at + 256));
    std::vector<int64_t> lengths;
    const rnn::Tensor x = tasks::one_hot_texts(chunk, chars, lengths);
    const rnn::ForwardResult r = rnn::forward(m, x, nullptr, &lengths, fo);
    const rnn::Tensor z = rnn::apply_head(m, r.y);  // [T, B, O]
    const int64_t B = static_cast<int64_t>(chunk.size());
    for (int64_t b = 0; b < B; ++b) {
      std::vector<int64_t> tags;
      for (size_t s = 0; s < chunk[static_cast<size_t>(b)]->size(); ++s) {
        tags.push_back(tasks::argmax(z.data() + (static_cast<int64_t>(s) * B + b) * O, O));
      }
      out.push_back(std::move(tags));
    }
  }
  return out;
}

// The characters' and the tags' vocabularies of the training lines:
// characters with index 0 the unknown one; tags with index k the k-th (sorted).
std::pair<rnn::Vocab, rnn::Vocab> vocabs_of(const std::vector<Example>& train) {
  std::vector<char32_t> chars, tags;
  for (const Example& e : train) {
    chars.insert(chars.end(), e.text.begin(), e.text.end());
    tags.insert(tags.end(), e.tags.begin(), e.tags.end());
  }
  return {rnn::Vocab(chars, 1), rnn::Vocab(tags, 0)};
}

// A random tagger for the vocabulary and tags (in the metadata), its host
// memory checked first.
rnn::Model make_model(const TrainArgs& a, const std::vector<Example>& train, const rnn::Vocab& char_index,
                      const rnn::Vocab& tag_index, rnn::Device device) {
  const rnn::ModelConfig cfg = tasks::model_config(a, char_index.size(), tag_index.size());
  size_t longest = 1;
  for (const Example& e : train) longest = std::max(longest, e.text.size());
  tasks::check_memory({cfg}, longest, a, train.size(), device);
  rnn::Model model = rnn::Model::random(cfg, a.seed);
  char_index.store(model);
  model.metadata["task"] = "tag";
  model.metadata["tags"] = rnn::encode_utf8(tag_index.chars());
  return model;
}

// The targets [T, B] of a batch of `B` lines `pick` of `T` steps at most:
// each character's tag index, -1 past a line's end.
std::vector<int64_t> batch_targets(const std::vector<Example>& train, const std::vector<size_t>& pick,
                                   const rnn::Vocab& tag_index, int64_t T, int64_t B) {
  std::vector<int64_t> targets(static_cast<size_t>(T * B), -1);
  for (int64_t b = 0; b < B; ++b) {
    const Example& e = train[pick[static_cast<size_t>(b)]];
    for (size_t s = 0; s < e.tags.size(); ++s)
      targets[static_cast<size_t>(static_cast<int64_t>(s) * B + b)] = tag_index.index(e.tags[s]);
  }
  return targets;
}

// The trained model on the test lines: each tag's F1 score and the
// accuracy over all characters, on stdout after the file it was saved to.
int report_test(const rnn::Model& model, const rnn::Vocab& char_index, const rnn::Vocab& tag_index,
                const std::vector<Example>& test, rnn::Device device, const std::string& out) {
  const std::vector<char32_t>& tags = tag_index.chars();
  const int64_t O = static_cast<int64_t>(tags.size());
  std::vector<const std::vector<char32_t>*> texts;
  for (const Example& e : test) texts.push_back(&e.text);
  const auto pred = predict(model, char_index, texts, device);
  std::vector<int64_t> tp(static_cast<size_t>(O)), fp(static_cast<size_t>(O)), fn(static_cast<size_t>(O));
  int64_t correct = 0, total = 0;
  for (size_t i = 0; i < test.size(); ++i)
    for (size_t s = 0; s < test[i].tags.size(); ++s) {
      const int64_t want = tag_index.index(test[i].tags[s]), got = pred[i][s];
      ++total;
      if (want == got) ++correct, ++tp[static_cast<size_t>(want)];
      else ++fp[static_cast<size_t>(got)], ++fn[static_cast<size_t>(want)];
    }
  std::printf("saved %s\n", out.c_str());
  for (int64_t k = 0; k < O; ++k) {
    const double p = tp[k] + fp[k] ? static_cast<double>(tp[k]) / static_cast<double>(tp[k] + fp[k]) : 0.0;
    const double r = tp[k] + fn[k] ? static_cast<double>(tp[k]) / static_cast<double>(tp[k] + fn[k]) : 0.0;
    std::printf("f1[%s]=%.4f  (precision %.4f, recall %.4f)\n", rnn::encode_utf8({tags[k]}).c_str(),
                p + r > 0 ? 2 * p * r / (p + r) : 0.0, p, r);
  }
  std::printf("test_token_accuracy=%.4f\n", static_cast<double>(correct) / static_cast<double>(total));
  return 0;
}

}  // namespace

int train(const TrainArgs& a) {
  training::check_sizes(a.hidden, a.layers, a.batch, a.steps, a.save_every);
  const rnn::OptimizerOptions oo = training::optimizer_options(a.optimizer, a.lr, a.momentum);
  const rnn::Device device = rnn::resolve_device(rnn::parse_device(a.device, "--device"));

  tasks::check_sources(a.train, a.test);
  const std::vector<Example> train = read_examples(a.train), test = read_examples(a.test);
  const std::string out = training::output_path(a.out, a.train, "model");
  const std::pair<rnn::Vocab, rnn::Vocab> vocabs = vocabs_of(train);
  const rnn::Vocab &char_index = vocabs.first, &tag_index = vocabs.second;
  for (const Example& e : test)
    for (char32_t t : e.tags)
      if (tag_index.index(t) < 0)
        throw rnn::Error(a.test, "tag '" + rnn::encode_utf8({t}) + "' does not occur in " + a.train);

  rnn::Learner learner(make_model(a, train, char_index, tag_index, device), tasks::learn_options(oo, a.clip, device));
  std::fprintf(stderr,
               "rnn train-tag: %zu train, %zu test lines; vocabulary %lld, %lld tags; H=%lld L=%lld%s; %lld updates on "
               "%s\n",
               train.size(), test.size(), static_cast<long long>(char_index.size()),
               static_cast<long long>(tag_index.size()), static_cast<long long>(a.hidden),
               static_cast<long long>(a.layers), a.bidirectional ? " bidirectional" : "",
               static_cast<long long>(a.steps), rnn::device_name(device));

  auto update = [&](const std::vector<size_t>& pick) {
    std::vector<const std::vector<char32_t>*> texts;
    for (size_t k : pick) texts.push_back(&train[k].text);
    std::vector<int64_t> lengths;
    const rnn::Tensor x = tasks::one_hot_texts(texts, char_index, lengths);
    const std::vector<int64_t> targets = batch_targets(train, pick, tag_index, x.dim(0), x.dim(1));
    return tasks::Update{learner.step(x, &lengths, targets).loss, ""};
  };
  if (const int code = tasks::train_loop(a, train.size(), out, update, [&] { training::save(learner.model(), out); }))
    return code;
  return report_test(learner.model(), char_index, tag_index, test, device, out);
}

int tag(const std::string& model_path, const std::string& device, const std::string& unknown) {
  const tasks::Unknown policy = tasks::parse_unknown(unknown);
  const rnn::Device dev = rnn::resolve_device(rnn::parse_device(device, "--device"));
  const rnn::Model model = rnn::load_model(model_path);
  auto task = model.metadata.find("task");
  auto tags_it = model.metadata.find("tags");
  if (task == model.metadata.end() || task->second != "tag" || tags_it == model.metadata.end())
    throw rnn::Error(model_path, "is not a tagger from rnn train-tag (no task=tag metadata)");
  const std::vector<char32_t> tags = rnn::decode_utf8(tags_it->second, model_path + ": tags");
  const rnn::Vocab char_index = tasks::read_task_vocab(model, model_path);
  if (static_cast<int64_t>(tags.size()) != model.config().output_size ||
      char_index.size() != model.config().input_size)
    throw rnn::Error(model_path, "tags or vocab do not match the model's sizes");
  // Tags stay one per character: with skip an unknown character is read as
  // the vocabulary's unknown symbol (index 0) rather than dropped.
  std::vector<std::vector<char32_t>> lines = tasks::read_stdin_lines();
  if (policy == tasks::Unknown::Error) lines = tasks::known_characters(std::move(lines), char_index, policy, true);
  std::vector<const std::vector<char32_t>*> texts;
  for (const auto& l : lines) texts.push_back(&l);
  if (texts.empty()) return 0;
  for (const auto& p : predict(model, char_index, texts, dev)) {
    std::vector<char32_t> out;
    for (int64_t k : p) out.push_back(tags[static_cast<size_t>(k)]);
    std::printf("%s\n", rnn::encode_utf8(out).c_str());
  }
  return 0;
}

}  // namespace tag_cmd
