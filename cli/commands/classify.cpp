// cli/commands/classify.cpp: rnn train-classify and rnn classify.
//
// Characters in (one-hot, index 0 for characters not seen in training),
// the RNN's final states (both directions when bidirectional) through a head
// to a softmax over the labels. The model is saved as rnn.* and fc.* with
// metadata task=classify, vocab (the characters of indices 1..) and labels
// (one per line, in index order).
#include "classify.hpp"


#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "tasks_common.hpp"
#include "rnn/rnn.hpp"
#include "training.hpp"

namespace classify_cmd {

namespace {

using tasks::Vocab;
using tasks::vocab_from;

struct Example {
  std::string label;
  std::vector<char32_t> text;
};

std::vector<Example> read_examples(const std::string& path) {
  std::vector<Example> out;
  for (tasks::Row& r : tasks::read_tsv(path, "label<TAB>text")) out.push_back({rnn::encode_utf8(r.first), std::move(r.second)});
  return out;
}

// The index of the label the model gives each text.
std::vector<int64_t> predict(const rnn::Model& m, const Vocab& v, const std::vector<const std::vector<char32_t>*>& texts,
                             rnn::Device device) {
  std::vector<int64_t> out;
  rnn::ForwardOptions fo;
  fo.device = device;
  const int64_t O = m.config().output_size;
  for (size_t at = 0; at < texts.size(); at += 256) {
    std::vector<const std::vector<char32_t>*> chunk(texts.begin() + at,
                                                    texts.begin() + std::min(texts.size(), at + 256));
    std::vector<int64_t> lengths;
    const rnn::Tensor x = tasks::one_hot_texts(chunk, v, lengths);
    const rnn::Tensor z = rnn::classify_logits(m, x, lengths, fo);
    for (int64_t b = 0; b < z.dim(0); ++b) out.push_back(tasks::argmax(z.data() + b * O, O));
  }
  return out;
}

// The labels of the training examples, sorted, each once.
std::vector<std::string> labels_of(const std::vector<Example>& train) {
  std::vector<std::string> labels;
  for (const Example& e : train) labels.push_back(e.label);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

// The vocabulary of the training texts (index 0: characters not in them).
Vocab vocab_of(const std::vector<Example>& train) {
  std::vector<char32_t> chars;
  for (const Example& e : train) chars.insert(chars.end(), e.text.begin(), e.text.end());
  return vocab_from(chars);
}

// A random classifier for the vocabulary and labels (in the metadata), its
// host memory checked first.
rnn::Model make_model(const TrainArgs& a, const std::vector<Example>& train, const Vocab& vocab,
                      const std::vector<std::string>& labels, rnn::Device device) {
  const rnn::ModelConfig cfg = tasks::model_config(a, vocab.size(), static_cast<int64_t>(labels.size()));
  size_t longest = 1;
  for (const Example& e : train) longest = std::max(longest, e.text.size());
  tasks::check_memory({cfg}, longest, a, train.size(), device);
  rnn::Model model = rnn::Model::random(cfg, a.seed);
  vocab.store(model);
  model.metadata["task"] = "classify";
  std::string joined;
  for (const auto& l : labels) joined += l + "\n";
  model.metadata["labels"] = joined;
  return model;
}

// The trained model on the test examples: its accuracy and the majority
// label's, on stdout after the file it was saved to.
int report_test(const rnn::Model& model, const Vocab& vocab, const std::vector<std::string>& labels,
                const std::vector<Example>& test, rnn::Device device, const std::string& out) {
  std::vector<const std::vector<char32_t>*> texts;
  std::map<std::string, int64_t> freq;
  for (const Example& e : test) {
    texts.push_back(&e.text);
    ++freq[e.label];
  }
  const std::vector<int64_t> pred = predict(model, vocab, texts, device);
  int64_t correct = 0, majority = 0;
  for (size_t i = 0; i < test.size(); ++i) correct += labels[static_cast<size_t>(pred[i])] == test[i].label;
  for (const auto& [label, count] : freq) majority = std::max(majority, count);
  std::printf("saved %s\n", out.c_str());
  std::printf("majority_baseline=%.4f\n", static_cast<double>(majority) / static_cast<double>(test.size()));
  std::printf("test_accuracy=%.4f\n", static_cast<double>(correct) / static_cast<double>(test.size()));
  return 0;
}

}  // namespace

int train(const TrainArgs& a) {
  if (a.train.empty() || a.test.empty()) throw rnn::Error("--train/--test", "both are required");
  training::check_sizes(a.hidden, a.layers, a.batch, a.steps, a.save_every);
  const rnn::OptimizerOptions oo = training::optimizer_options(a.optimizer, a.lr, a.momentum);
  rnn::ForwardOptions fo;
  fo.device = rnn::resolve_device(rnn::parse_device(a.device, "--device"));

  tasks::check_sources(a.train, a.test);
  const std::vector<Example> train = read_examples(a.train), test = read_examples(a.test);
  const std::string out = training::output_path(a.out, a.train, "model");
  const std::vector<std::string> labels = labels_of(train);
  std::map<std::string, int64_t> label_index;
  for (size_t i = 0; i < labels.size(); ++i) label_index[labels[i]] = static_cast<int64_t>(i);
  for (const Example& e : test)
    if (!label_index.count(e.label)) throw rnn::Error(a.test, "label '" + e.label + "' does not occur in " + a.train);
  const Vocab vocab = vocab_of(train);

  rnn::Learner learner(make_model(a, train, vocab, labels, fo.device), tasks::learn_options(oo, a.clip, fo.device));
  std::fprintf(stderr,
               "rnn train-classify: %zu train, %zu test examples, %zu labels, vocabulary %lld; H=%lld L=%lld%s; %s on "
               "%s, %lld updates of %lld\n",
               train.size(), test.size(), labels.size(), static_cast<long long>(vocab.size()),
               static_cast<long long>(a.hidden), static_cast<long long>(a.layers),
               a.bidirectional ? " bidirectional" : "", a.optimizer.c_str(), rnn::device_name(fo.device),
               static_cast<long long>(a.steps), static_cast<long long>(a.batch));

  double acc_smooth = -1;
  auto update = [&](const std::vector<size_t>& pick) {
    std::vector<const std::vector<char32_t>*> texts;
    std::vector<int64_t> y;
    for (size_t k : pick) {
      texts.push_back(&train[k].text);
      y.push_back(label_index[train[k].label]);
    }
    std::vector<int64_t> lengths;
    const rnn::Tensor x = tasks::one_hot_texts(texts, vocab, lengths);
    const rnn::StepStats r = learner.classify(x, lengths, y);
    const double acc = static_cast<double>(r.correct) / static_cast<double>(texts.size());
    acc_smooth = acc_smooth < 0 ? acc : 0.98 * acc_smooth + 0.02 * acc;
    char extra[48];
    std::snprintf(extra, sizeof extra, "  train accuracy %.3f", acc_smooth);
    return tasks::Update{r.loss, extra};
  };
  if (const int code = tasks::train_loop(a, train.size(), out, update, [&] { training::save(learner.model(), out); }))
    return code;
  return report_test(learner.model(), vocab, labels, test, fo.device, out);
}

int classify(const std::string& model_path, const std::string& device, const std::string& unknown) {
  const tasks::Unknown policy = tasks::parse_unknown(unknown);
  const rnn::Device dev = rnn::resolve_device(rnn::parse_device(device, "--device"));
  const rnn::Model model = rnn::load_model(model_path);
  auto task = model.metadata.find("task");
  auto labels_it = model.metadata.find("labels");
  if (task == model.metadata.end() || task->second != "classify" || labels_it == model.metadata.end())
    throw rnn::Error(model_path, "is not a classifier from rnn train-classify (no task=classify metadata)");
  const std::vector<std::string> labels = tasks::split_lines(labels_it->second);
  const Vocab vocab = tasks::read_task_vocab(model, model_path);
  if (static_cast<int64_t>(labels.size()) != model.config().output_size || vocab.size() != model.config().input_size)
    throw rnn::Error(model_path, "labels or vocab do not match the model's sizes");
  const std::vector<std::vector<char32_t>> lines =
      tasks::known_characters(tasks::read_stdin_lines(), vocab, policy, false);
  std::vector<const std::vector<char32_t>*> texts;
  for (const auto& l : lines) texts.push_back(&l);
  if (texts.empty()) return 0;
  for (int64_t p : predict(model, vocab, texts, dev)) std::printf("%s\n", labels[static_cast<size_t>(p)].c_str());
  return 0;
}

}  // namespace classify_cmd
