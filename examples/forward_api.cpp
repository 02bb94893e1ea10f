// examples/forward_api.cpp: the library API in one page (README's example).
//
// Builds a 2-layer bidirectional model (or loads one given as argv[1]), runs
// a padded batch with per-sequence lengths, then the same sequences through
// the convenience call that pads for you.
#include <rnn/rnn.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  try {
    rnn::Model model;
    if (argc > 1) {
      model = rnn::load_model(argv[1]);  // PyTorch nn.RNN state_dict as .safetensors
    } else {
      rnn::ModelConfig cfg;
      cfg.input_size = 8;
      cfg.hidden_size = 16;
      cfg.num_layers = 2;
      cfg.bidirectional = true;
      model = rnn::Model::random(cfg, /*seed=*/42);  // PyTorch-style uniform init
    }
    const int64_t I = model.config().input_size;

    // A batch of 3 sequences, time-major x [T=5, B=3, I], lengths in any order.
    rnn::Tensor x({5, 3, I});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = 0.25f * static_cast<float>(i % 9) - 1.0f;
    const std::vector<int64_t> lengths = {5, 2, 4};
    rnn::ForwardResult r = rnn::forward(model, x, /*h0=*/nullptr, &lengths);
    // r.y [5, 3, D*H] is 0 past each length; r.h_n [L*D, 3, H].
    std::printf("forward on %s: x %s -> y %s, h_n %s\n", rnn::device_name(r.device),
                rnn::shape_string(x.shape()).c_str(), rnn::shape_string(r.y.shape()).c_str(),
                rnn::shape_string(r.h_n.shape()).c_str());

    // The same sequences, unpadded: sequences[b] is [T_b, I].
    std::vector<rnn::Tensor> sequences;
    for (int64_t b = 0; b < 3; ++b) {
      rnn::Tensor s({lengths[b], I});
      for (int64_t t = 0; t < lengths[b]; ++t)
        for (int64_t i = 0; i < I; ++i) s[t * I + i] = x[(t * 3 + b) * I + i];
      sequences.push_back(s);
    }
    rnn::SequencesResult s = rnn::forward_sequences(model, sequences);
    std::printf("forward_sequences: outputs %s %s %s\n", rnn::shape_string(s.outputs[0].shape()).c_str(),
                rnn::shape_string(s.outputs[1].shape()).c_str(), rnn::shape_string(s.outputs[2].shape()).c_str());
    return s.h_n.values() == r.h_n.values() ? 0 : 1;  // both paths compute the same states
  } catch (const rnn::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
