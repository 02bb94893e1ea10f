// host/engine/check_model.hpp: a model's own consistency (Model::validate:
// every tensor's shape against the config) as the entry points report it,
// under the subject "model" whichever tensor is wrong.
#pragma once

#include "rnn/error.hpp"
#include "rnn/model.hpp"

namespace rnn::detail {

inline void check_model(const Model& model) {
  try {
    model.validate();
  } catch (const Error& e) {
    throw Error("model", e.what());
  }
}

}  // namespace rnn::detail
