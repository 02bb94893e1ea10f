// rnn/error.hpp: the one error type of the library.
//
// Every function of the library reports failure by throwing rnn::Error. An
// Error names its subject (a file path, an argument such as "x", "h0",
// "lengths", or a flag) and says what is wrong with it. what() is
// "<subject>: <message>". The library never prints and never exits.
#pragma once

#include <stdexcept>
#include <string>

namespace rnn {

class Error : public std::runtime_error {
 public:
  Error(std::string subject, std::string message)
      : std::runtime_error(subject.empty() ? message : subject + ": " + message),
        subject_(std::move(subject)),
        message_(std::move(message)) {}

  // The file, argument or flag the error is about ("" when there is none).
  const std::string& subject() const noexcept { return subject_; }
  // What is wrong, without the subject.
  const std::string& message() const noexcept { return message_; }

 private:
  std::string subject_;
  std::string message_;
};

}  // namespace rnn
