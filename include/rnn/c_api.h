/* rnn/c_api.h: the library's C interface (librnn_c), for languages that
 * call C: the Python package (python/rnn, through ctypes) uses it.
 *
 * Tensors cross it as raw pointers to contiguous float32 (int64 for
 * lengths) in the caller's memory, so it depends on no tensor library's ABI:
 * one build serves any PyTorch or NumPy version. Pointers are host memory.
 *
 * Shapes (T steps, B sequences, I inputs, H hidden, L layers, D = 2 when
 * bidirectional else 1), as torch.nn.RNN's:
 *   x    [T, B, I], or [B, T, I] when batch_first
 *   y    [T, B, D*H], or [B, T, D*H] when batch_first; 0 at padded steps
 *   h0   [L*D, B, H] (NULL: zeros);  h_n [L*D, B, H]
 *   lengths [B], each in [1, T] (NULL: every sequence T steps), any order
 * Parameters are given in torch.nn.RNN's state_dict order: for each layer
 * l and direction d, weight_ih [H, I or D*H], weight_hh [H, H], then (with
 * bias) bias_ih [H], bias_hh [H]; the reverse direction after the forward.
 *
 * Every function returning int returns 0 on success and -1 on failure,
 * when rnn_last_error() gives the message (naming the argument or file and
 * what is wrong). Nothing is written to an output on failure except where
 * said. Thread-safe: the calls share no state but the thread count.
 */
#ifndef RNN_C_API_H
#define RNN_C_API_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RNN_C_API_VERSION 1

#if defined(__GNUC__)
#define RNN_C_EXPORT __attribute__((visibility("default")))
#else
#define RNN_C_EXPORT
#endif

enum { RNN_DEVICE_AUTO = 0, RNN_DEVICE_CPU = 1, RNN_DEVICE_CUDA = 2, RNN_DEVICE_REFERENCE = 3 };

typedef struct rnn_config {
  int64_t input_size;  /* I >= 1 */
  int64_t hidden_size; /* H >= 1 */
  int64_t num_layers;  /* L >= 1 */
  int32_t bidirectional;
  int32_t bias;
  int32_t relu;        /* 0: tanh */
  int64_t output_size; /* O: a linear head of O outputs, 0 for none */
  int32_t output_bias;
} rnn_config;

/* One forward pass's inputs. */
typedef struct rnn_inputs {
  const float* x;
  int64_t seq_len; /* T */
  int64_t batch;   /* B */
  int32_t batch_first;
  const int64_t* lengths; /* [B] or NULL */
  const float* h0;        /* [L*D, B, H] or NULL */
  int32_t device;         /* RNN_DEVICE_* */
} rnn_inputs;

typedef struct rnn_model rnn_model;
typedef struct rnn_pass rnn_pass;

RNN_C_EXPORT int rnn_c_api_version(void);
RNN_C_EXPORT const char* rnn_version(void);
/* The message of this thread's last failed call ("" if none). */
RNN_C_EXPORT const char* rnn_last_error(void);

/* The fast CPU backend's thread count, and a choice of it made before the
 * first pass (afterwards it fails unless n is the count in use). */
RNN_C_EXPORT int rnn_num_threads(void);
RNN_C_EXPORT int rnn_set_num_threads(int n);
/* CUDA devices this build can use (0 without the CUDA backend or a GPU). */
RNN_C_EXPORT int rnn_cuda_device_count(void);

/* ---- models (weights held by the library) ---- */
RNN_C_EXPORT int rnn_model_new(const rnn_config* config, uint64_t seed, int32_t random, rnn_model** out);
RNN_C_EXPORT int rnn_model_load(const char* path, rnn_model** out);
/* prefix: "" for bare nn.RNN names, "rnn." for a module with .rnn and .fc */
RNN_C_EXPORT int rnn_model_save(const rnn_model* model, const char* path, const char* prefix);
RNN_C_EXPORT void rnn_model_free(rnn_model* model);
RNN_C_EXPORT int rnn_model_config(const rnn_model* model, rnn_config* out);
/* The model's parameters, state_dict order (the head's last as fc.*). */
RNN_C_EXPORT int rnn_model_num_tensors(const rnn_model* model);
/* Tensor `index`: its name, rank (1 or 2), shape and data (writable; valid
 * while the model lives). */
RNN_C_EXPORT int rnn_model_tensor(rnn_model* model, int index, const char** name, int* rank, int64_t shape[2], float** data);
/* The characters of a character-level model, UTF-8 ("" if none). */
RNN_C_EXPORT const char* rnn_model_vocab(const rnn_model* model);
/* The RNN's forward pass: y (states, x's layout) and h_n. */
RNN_C_EXPORT int rnn_model_forward(const rnn_model* model, const rnn_inputs* in, float* y, float* h_n);
/* The head: logits [rows, O] = y [rows, D*H] W^T + b. */
RNN_C_EXPORT int rnn_model_apply_head(const rnn_model* model, const float* y, int64_t rows, float* logits);

/* ---- passes over caller-held weights (a PyTorch module's parameters) ----
 * config without a head (output_size 0); params as above. Writes y and
 * h_n. With `pass` not NULL the pass keeps what its backward pass needs
 * (copies of the weights and inputs: the caller's may change afterwards)
 * and *pass receives it; with NULL nothing is kept. */
RNN_C_EXPORT int rnn_pass_forward(const rnn_config* config, const float* const* params, const rnn_inputs* in, float* y,
                     float* h_n, rnn_pass** pass);
/* The backward pass, once per pass: dy like y and dh_n like h_n (each NULL:
 * zeros) -> dx like x (NULL: not computed), dh0 [L*D, B, H] (NULL: not
 * wanted), and grads[i] for params[i]. */
RNN_C_EXPORT int rnn_pass_backward(rnn_pass* pass, const float* dy, const float* dh_n, float* dx, float* dh0,
                      float* const* grads);
RNN_C_EXPORT void rnn_pass_free(rnn_pass* pass);

/* ---- CUDA plans over device memory (builds with the CUDA backend) ----
 * Every pointer below is device memory of the plan's device, which must be
 * current on the calling thread; work is enqueued on `stream` (a
 * cudaStream_t; NULL: the legacy default stream) and nothing waits for it.
 * A plan serves one stream at a time. Without the CUDA backend these fail,
 * saying so. */
typedef struct rnn_cuda_plan rnn_cuda_plan;

typedef struct rnn_cuda_args {
  int64_t steps;          /* T, 1..max_steps */
  int64_t batch;          /* B, 1..max_batch */
  const float* x;         /* [T, B, I] ([B, T, I] batch-first) */
  const float* h0;        /* [L*D, B, H] or NULL (zeros) */
  const int32_t* lengths; /* [B], each in 1..T (not checked on the device), or NULL */
  float* y;               /* [T, B, D*H] ([B, T, D*H] batch-first), 0 past each length */
  float* h_n;             /* [L*D, B, H] or NULL */
} rnn_cuda_args;

/* A plan for T <= max_steps, B <= max_batch, its weights zero until
 * rnn_cuda_plan_load_weights(); on the current device. */
RNN_C_EXPORT int rnn_cuda_plan_new(const rnn_config* config, int64_t max_steps, int64_t max_batch,
                                   int32_t batch_first, rnn_cuda_plan** out);
RNN_C_EXPORT void rnn_cuda_plan_free(rnn_cuda_plan* plan);
/* Bytes of workspace a forward pass needs, bytes a pass kept for its
 * backward pass needs (it holds every layer's outputs), and the floats of
 * the flat weight and gradient buffers. */
RNN_C_EXPORT int rnn_cuda_plan_sizes(const rnn_cuda_plan* plan, uint64_t* forward_workspace,
                                     uint64_t* backward_workspace, uint64_t* parameter_count);
/* The weights from `flat` (parameter_count floats: the parameters in
 * state_dict order, each row-major, concatenated). */
RNN_C_EXPORT int rnn_cuda_plan_load_weights(rnn_cuda_plan* plan, const float* flat, void* stream);
/* The forward pass; with keep != 0 the workspace (backward_workspace bytes)
 * keeps what rnn_cuda_plan_backward needs: give it the same args and
 * workspace, unchanged, and the same weights. */
RNN_C_EXPORT int rnn_cuda_plan_forward(rnn_cuda_plan* plan, const rnn_cuda_args* args, void* workspace,
                                       int32_t keep, void* stream);
/* The backward pass of a kept forward pass: dy like y (required), dh_n or
 * NULL; dx (like x) and dh0 or NULL (not computed); grads: parameter_count
 * floats, laid out as the flat weights. */
RNN_C_EXPORT int rnn_cuda_plan_backward(rnn_cuda_plan* plan, const rnn_cuda_args* args, const float* dy,
                                        const float* dh_n, float* dx, float* dh0, float* grads, void* workspace,
                                        void* stream);

#ifdef __cplusplus
}
#endif

#endif /* RNN_C_API_H */
