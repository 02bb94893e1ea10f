// cli/errors.hpp: the program's errors, each one line on stderr
// "rnn: error: <file or flag>: <what is wrong>" (cli/main.cpp): its own,
// CLI11's parse errors, and unknown commands, flags and stray arguments.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

namespace errors {

constexpr int kExitError = 1;  // bad input or failure while running
constexpr int kExitUsage = 2;  // bad command line

// s on one line: line breaks as spaces, trailing spaces dropped.
inline std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Prints "rnn: error: <subject>: <message>" (the message alone when no
// subject) on stderr; returns `code`.
inline int fail(const std::string& subject, const std::string& message, int code) {
  std::cerr << "rnn: error: " << one_line(subject.empty() ? message : subject + ": " + message) << std::endl;
  return code;
}

// Turns a CLI11 parse error into "subject: message" naming the flag.
inline int usage_error(const CLI::ParseError& e) {
  std::string msg = one_line(e.what());
  const std::string extras = " not expected: ";  // "The following argument(s) was/were not expected: "
  if (e.get_name() == "ExtrasError" && msg.find(extras) != std::string::npos) {
    const std::string args = msg.substr(msg.find(extras) + extras.size());
    return fail(args, std::string("unknown argument") + (args.find(' ') != std::string::npos ? "s" : "") +
                          " (see rnn --help)", kExitUsage);
  }
  if (e.get_name() == "RequiredError") {
    if (msg.find("subcommand") != std::string::npos)
      return fail("command", "missing: expected a command (see rnn --help)", kExitUsage);
    const std::string suffix = " is required";
    const size_t at = msg.find(suffix);
    if (at != std::string::npos) return fail(msg.substr(0, at), "is required", kExitUsage);
  }
  if (e.get_name() == "ArgumentMismatch") {
    const size_t colon = msg.find(": ");
    if (colon != std::string::npos) {
      const bool no_value = msg.find("missing") != std::string::npos;
      return fail(msg.substr(0, colon), no_value ? "needs a value" : msg.substr(colon + 2), kExitUsage);
    }
  }
  return fail("arguments", msg, kExitUsage);
}

// Before CLI11 parses (and reports a missing required flag first), names
// the first unknown command, flag or stray argument. Returns 0 when none.
inline int check_words(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) return 0;
  const std::string first = argv[1];
  if (first.empty() || first[0] == '-') return 0;  // --help, --version, or CLI11's own error
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
    if (s->get_name() == first) sub = s;
  if (!sub) return fail(first, "unknown command (see rnn --help)", kExitUsage);
  if (sub->get_prefix_command()) return 0;  // bench: its own program checks its arguments
  for (int i = 2; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0 && word != "-h") {
      return fail(word, "unexpected argument (see rnn " + first + " --help)", kExitUsage);
    }
    const bool inline_value = word.find('=') != std::string::npos;
    word = word.substr(0, word.find('='));
    const CLI::Option* opt = sub->get_option_no_throw(word);
    if (!opt) return fail(word, "unknown argument (see rnn " + first + " --help)", kExitUsage);
    if (opt->get_expected_min() > 0 && !inline_value) ++i;  // skip the option's value
  }
  return 0;
}

}  // namespace errors
