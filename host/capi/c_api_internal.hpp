// host/capi/c_api_internal.hpp: what the C interface's files share: the
// error capture every entry point goes through and the config conversion.
#pragma once

#include <new>
#include <string>

#include "rnn/c_api.h"
#include "rnn/error.hpp"
#include "rnn/limits.hpp"
#include "rnn/model.hpp"

namespace rnn::capi {

// This thread's last failure, for rnn_last_error() (host/capi/c_api.cpp).
extern thread_local std::string last_error;

// Runs f; 0 when it returned, -1 with its message kept when it threw.
template <class F>
int guard(F&& f) noexcept {
  try {
    f();
    last_error.clear();
    return 0;
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown error";
  }
  return -1;
}

inline void need(const void* p, const char* what) {
  if (!p) throw Error(what, "is a null pointer");
}

// The config, validated, its weights within the memory there is.
inline ModelConfig model_config(const rnn_config* c) {
  need(c, "config");
  ModelConfig m;
  m.input_size = c->input_size;
  m.hidden_size = c->hidden_size;
  m.num_layers = c->num_layers;
  m.bidirectional = c->bidirectional != 0;
  m.bias = c->bias != 0;
  m.nonlinearity = c->relu ? Nonlinearity::Relu : Nonlinearity::Tanh;
  m.output_size = c->output_size;
  m.output_bias = c->output_bias != 0;
  m.validate();
  check_host_bytes(checked_mul(m.parameter_count(), sizeof(float), "config"), "config",
                   [] { return std::string("the model's weights"); });
  return m;
}

}  // namespace rnn::capi
