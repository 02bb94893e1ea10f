// rnn/classify.hpp: many-to-one: a sequence in, one label out.
//
// The label is read from the final states of the top layer: the forward
// direction's state after each sequence's last step and, when
// bidirectional, the reverse direction's state after step 0, concatenated
// ([B, D*H]), through the model's head to O label logits.
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/forward.hpp"
#include "rnn/model.hpp"
#include "rnn/tensor.hpp"
#include "rnn/train.hpp"

namespace rnn {

// h_n [L*D, B, H] -> the top layer's final states [B, D*H].
Tensor final_features(const Model& model, const Tensor& h_n);

// Label logits [B, O] for x [T, B, I] with lengths [B] (the model needs a
// head of O = number of labels).
Tensor classify_logits(const Model& model, const Tensor& x, const std::vector<int64_t>& lengths,
                       const ForwardOptions& options = {});

struct ClassifyStepResult {
  double loss = 0.0;       // mean NLL (nats) over the batch
  int64_t correct = 0;     // argmax == label, before the update
  double grad_norm = 0.0;  // before clipping
};

// One update on a batch: forward, head on the final states, softmax
// cross-entropy against labels [B], backward (dL/dh_n into the top layer),
// clipping (<= 0: none), the optimizer. Runs the RNN on options.device.
ClassifyStepResult classify_step(Model& model, Optimizer& optimizer, const Tensor& x,
                                 const std::vector<int64_t>& lengths, const std::vector<int64_t>& labels, double clip,
                                 const ForwardOptions& options = {});

}  // namespace rnn
