// host/cpu/fast_kernels.hpp: the fast CPU backend's building blocks, shared
// by its forward pass (fast.cpp), backward pass (fast_backward.cpp) and
// training step (fast_train.cpp). Row-major throughout; sizes are int64_t
// and the callers keep them within BLAS's 32-bit int.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "rnn/model.hpp"

// Element-wise loops compiled twice, for AVX2 and for the baseline, the
// copy chosen at load time by the CPU (never -march=native).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RNN_FAST_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define RNN_FAST_LOOP
#endif

namespace rnn::cpu::fast {

// Fixes the team's thread count (threads(): set_threads() fails after).
void init_threads();

// For the life of a pass: the BLAS at one thread (the team, team.hpp,
// splits the work, so no BLAS thread competes with it), its count restored
// afterwards so that a program sharing the BLAS (PyTorch, in a Python
// process) keeps its own. Nests; fixes the team's count (init_threads()).
class BlasOneThread {
 public:
  BlasOneThread();
  ~BlasOneThread();
  BlasOneThread(const BlasOneThread&) = delete;
  BlasOneThread& operator=(const BlasOneThread&) = delete;
};

// C[m, n] = op(A) op(B) + beta C, op = transpose where asked (SGEMM); k = 0
// gives C = beta C. Large products are split across the team by rows or
// columns of C (each value computed as on one thread).
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc);
// C[m, n] = A[m, k] B[n, k]^T + beta C (a GEMV at m = 1).
void gemm_nt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
             float* c, int64_t ldc);

// Memory aligned to a cache line (64 bytes). The packed kernel's loads are
// a whole vector of a panel each (64 bytes with AVX-512): on memory only
// 16-byte aligned (std::vector's) every other one straddles two lines, and
// a step streaming W_hh from L2 runs at half the speed.
template <class T>
struct LineAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  LineAligned() = default;
  template <class U>
  LineAligned(const LineAligned<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const LineAligned<U>&) const noexcept {
    return true;
  }
};
// W packed for the step kernel (pack_panels), each panel on whole lines.
using Packed = std::vector<float, LineAligned<float>>;

// True when the CPU has AVX2 and FMA (the packed step kernel runs).
bool have_avx2_fma();
// Steps of 1 to kPackedRows rows use the packed step kernel (W_hh packed
// once per pass, where BLAS packs it again on every call); more rows BLAS.
// At one row the kernel is a GEMV streaming W_hh in order from aligned
// panels, about twice as fast as BLAS's (which reads W_hh's rows as they
// lie, unaligned).
constexpr int64_t kPackedRows = 64;
// True when a pass whose fewest rows at a step are `fewest` has steps for
// the packed kernel (so W_hh is worth packing).
inline bool wants_packed(int64_t fewest) { return have_avx2_fma() && fewest <= kPackedRows; }
// The packed kernel's panel width PW: 16 where the CPU has AVX-512F (the
// AVX-512 kernel), else 8 (AVX2); RNN_CPU_ISA=avx2 in the environment keeps
// 8 and AVX2 (the two give the same bits).
int panel_width();
// W [n, k] packed for the small-batch kernel: panels of PW columns, panel p
// holding W[PW p + j, kk] at p * k * PW + kk * PW + j (columns past n zero).
void pack_panels(const float* w, int64_t n, int64_t k, Packed& out);
// The same for W = w^T, w being [k, n] row-major: a panel's rows are
// contiguous runs of w, so no transposed copy is made.
void pack_panels_transposed(const float* w, int64_t k, int64_t n, Packed& out);
// One step: C[m, n] += A[m, k] W[n, k]^T; `packed` is W packed by
// pack_panels (or null: BLAS).
void step_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w, const float* packed,
               float* c, int64_t ldc);
// The same for C's columns n0..n1-1 only (n0 a multiple of PW), on this
// thread: a team's thread computes its share of a step.
void step_gemm_columns(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w,
                       const float* packed, float* c, int64_t ldc, int64_t n0, int64_t n1);
// Thread t of nt's share [n0, n1) of a step's n columns: whole panels of PW.
void step_columns(int64_t n, int t, int nt, int64_t& n0, int64_t& n1);
// True when a step of m x n x k multiply-adds is worth splitting across
// the team (a barrier a step costs about a microsecond).
inline bool parallel_step(int64_t m, int64_t n, int64_t k) { return m * n * k >= (int64_t{1} << 17); }

// to[0..n) += from[0..n) (the buffers do not overlap).
void add_to(float* __restrict to, const float* __restrict from, int64_t n);

// The activation in place: tanh (tanh_inplace) or relu (NaN kept).
void activate(float* v, int64_t n, Nonlinearity act);

}  // namespace rnn::cpu::fast
