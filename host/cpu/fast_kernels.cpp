// host/cpu/fast_kernels.cpp: the fast CPU backend's building blocks
// (fast_kernels.hpp): BLAS calls, the choice of the small-batch step kernel
// (step_kernels.cpp), tanh, threads.
#include "cpu/fast_kernels.hpp"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "cpu/fast.hpp"
#include "cpu/step_kernels.hpp"
#include "cpu/team.hpp"

// The CBLAS entry points used here (OpenBLAS exports them; its cblas.h sits
// in a variant-specific folder, so they are declared rather than included).
extern "C" {
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void cblas_sgemv(int order, int trans, int m, int n, float alpha, const float* a, int lda, const float* x, int incx,
                 float beta, float* y, int incy);
// OpenBLAS's thread control; weak, so another BLAS links too.
void openblas_set_num_threads(int n) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace rnn::cpu::fast {

namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

// The cores this process may use: its affinity mask, capped by a cgroup v2
// CPU quota (cpu.max).
int usable_cores() {
  int cores = 1;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = std::max(1, CPU_COUNT(&set));
  std::ifstream f("/sys/fs/cgroup/cpu.max");
  std::string quota, period;
  if (f >> quota >> period && quota != "max") {
    const double q = std::atof(quota.c_str()), p = std::atof(period.c_str());
    if (q > 0 && p > 0) cores = std::max(1, std::min(cores, static_cast<int>(std::ceil(q / p))));
  }
  return cores;
}

int configured_threads() {
  if (const char* s = std::getenv("RNN_NUM_THREADS")) {
    const int n = std::atoi(s);
    if (n >= 1) return n;
  }
  return usable_cores();
}

// The packed kernel's panel width: 16 where the CPU has AVX-512F (unless
// RNN_CPU_ISA=avx2), else 8.
int choose_panel_width() {
  const char* isa = std::getenv("RNN_CPU_ISA");
  const bool avx2_only = isa && std::string(isa) == "avx2";
  return !avx2_only && __builtin_cpu_supports("avx512f") ? 16 : 8;
}

}  // namespace

namespace {

// Below this many multiply-adds a product runs on one thread.
constexpr int64_t kParallelWork = int64_t{1} << 21;

void blas_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta C (BLAS may leave C alone)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  if (m == 1 && !trans_a && trans_b) {  // a GEMV: c = B a
    cblas_sgemv(kRowMajor, kNoTrans, static_cast<int>(n), static_cast<int>(k), 1.0f, b, static_cast<int>(ldb), a, 1,
                beta, c, 1);
    return;
  }
  cblas_sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  // Split across the team along C's longer side: rows of C are rows of
  // op(A), columns of C columns of op(B); each value's sum is unchanged.
  const bool rows = m >= n;
  run_team(m * n * k >= kParallelWork, [&](int t, int nt, Barrier&) {
    int64_t lo = 0, hi = 0;
    if (rows) {
      share(m, t, nt, lo, hi);
      blas_gemm(trans_a, trans_b, hi - lo, n, k, a + (trans_a ? lo : lo * lda), lda, b, ldb, beta, c + lo * ldc, ldc);
    } else {
      share(n, t, nt, lo, hi);
      blas_gemm(trans_a, trans_b, m, hi - lo, k, a, lda, b + (trans_b ? lo * ldb : lo), ldb, beta, c + lo, ldc);
    }
  });
}

void gemm_nt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
             float* c, int64_t ldc) {
  gemm(false, true, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

// ---- small-batch steps: C[M, N] += A[M, K] W^T, M <= kPackedRows ----------
// BLAS packs both operands on every call, which at a step's few rows costs
// more than the product. Here W is packed once per layer in panels of PW
// columns and each step streams it once, in order: every PW values loaded
// serve all M rows (AVX-512 with PW = 16, or AVX2 + FMA with PW = 8, chosen
// at run time; elsewhere BLAS).

int panel_width() {
  static const int w = choose_panel_width();
  return w;
}

// W [N, K] packed in panels of PW columns: panel p holds W[PW p + j, k] at
// p * K * PW + k * PW + j (columns past N zero), so a step reads it in order.
void pack_panels(const float* w, int64_t n, int64_t k, Packed& out) {
  const int64_t pw = panel_width(), panels = (n + pw - 1) / pw;
  if (have_avx2_fma() && (pw - 1) * k <= INT32_MAX) {  // every value written: no zeroing first
    out.resize(static_cast<size_t>(panels * k * pw));
    if (pw == 16) return pack_panels_avx512(w, n, k, out.data());
    return pack_panels_avx2(w, n, k, out.data());
  }
  out.assign(static_cast<size_t>(panels * k * pw), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t kk = 0; kk < k; ++kk) out[static_cast<size_t>((i / pw) * k * pw + kk * pw + i % pw)] = w[i * k + kk];
}

void pack_panels_transposed(const float* w, int64_t k, int64_t n, Packed& out) {
  const int64_t pw = panel_width(), panels = (n + pw - 1) / pw;
  out.assign(static_cast<size_t>(panels * k * pw), 0.0f);
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t width = std::min<int64_t>(pw, n - pw * p);
    for (int64_t kk = 0; kk < k; ++kk)
      std::copy_n(w + kk * n + pw * p, width, out.data() + (p * k + kk) * pw);
  }
}

bool have_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

void step_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w, const float* packed,
               float* c, int64_t ldc) {
  step_gemm_columns(m, n, k, a, lda, w, packed, c, ldc, 0, n);
}

void step_gemm_columns(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w,
                       const float* packed, float* c, int64_t ldc, int64_t n0, int64_t n1) {
  if (n1 <= n0 || m == 0) return;
  if (packed && m <= kPackedRows) {
    if (panel_width() == 16) return packed_gemm_avx512(m, n, k, a, lda, packed, c, ldc, n0 / 16, (n1 + 15) / 16);
    return packed_gemm_avx2(m, n, k, a, lda, packed, c, ldc, n0 / 8, (n1 + 7) / 8);
  }
  blas_gemm(false, true, m, n1 - n0, k, a, lda, w + n0 * k, k, 1.0f, c + n0, ldc);
}

void step_columns(int64_t n, int t, int nt, int64_t& n0, int64_t& n1) {
  const int64_t pw = panel_width(), panels = (n + pw - 1) / pw;
  share(panels, t, nt, n0, n1);
  n0 *= pw;
  n1 = std::min(n, n1 * pw);
}

RNN_FAST_LOOP void add_to(float* __restrict to, const float* __restrict from, int64_t n) {
  for (int64_t k = 0; k < n; ++k) to[k] += from[k];
}

void activate(float* v, int64_t n, Nonlinearity act) {
  if (act == Nonlinearity::Tanh) {
    tanh_inplace(v, n);
  } else {
    for (int64_t i = 0; i < n; ++i) v[i] = v[i] < 0.0f ? 0.0f : v[i];  // NaN stays NaN, as in PyTorch
  }
}

namespace {

// tanh(x) = x p(x^2) / q(x^2) on [-7.9, 7.9] (beyond, tanh is 1 in float).
constexpr float kClamp = 7.90531110763549805f;
constexpr float a1 = 4.89352455891786e-03f, a3 = 6.37261928875436e-04f, a5 = 1.48572235717979e-05f,
                a7 = 5.12229709037114e-08f, a9 = -8.60467152213735e-11f, a11 = 2.00018790482477e-13f,
                a13 = -2.76076847742355e-16f;
constexpr float b0 = 4.89352518554385e-03f, b2 = 2.26843463243900e-03f, b4 = 1.18534705686654e-04f,
                b6 = 1.19825839466702e-06f;

inline float tanh_one(float x) {
  x = x > kClamp ? kClamp : x;  // NaN stays NaN
  x = x < -kClamp ? -kClamp : x;
  const float x2 = x * x;
  float p = a13;
  p = p * x2 + a11;
  p = p * x2 + a9;
  p = p * x2 + a7;
  p = p * x2 + a5;
  p = p * x2 + a3;
  p = p * x2 + a1;
  float q = b6;
  q = q * x2 + b4;
  q = q * x2 + b2;
  q = q * x2 + b0;
  return x * p / q;
}

// Eight at a time; the same formula, its products fused.
__attribute__((target("avx2,fma"))) int64_t tanh_avx2(float* v, int64_t n) {
  const __m256 hi = _mm256_set1_ps(kClamp), lo = _mm256_set1_ps(-kClamp);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(v + i);
    x = _mm256_max_ps(lo, _mm256_min_ps(hi, x));  // operands in this order keep NaN
    const __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(a13), x2, _mm256_set1_ps(a11));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a9));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a7));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a3));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a1));
    __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(b6), x2, _mm256_set1_ps(b4));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(b2));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(b0));
    _mm256_storeu_ps(v + i, _mm256_div_ps(_mm256_mul_ps(x, p), q));
  }
  return i;
}

}  // namespace

void tanh_inplace(float* v, int64_t n) noexcept {
  const int64_t done = have_avx2_fma() ? tanh_avx2(v, n) : 0;
  for (int64_t i = done; i < n; ++i) v[i] = tanh_one(v[i]);
}

namespace {
std::atomic<int> chosen_threads{0};     // 0: not yet read
std::atomic<bool> threads_fixed{false};  // a pass has run: the team is made
}  // namespace

int threads() noexcept {
  int n = chosen_threads.load(std::memory_order_acquire);
  if (n == 0) {
    int expected = 0;
    chosen_threads.compare_exchange_strong(expected, configured_threads(), std::memory_order_acq_rel);
    n = chosen_threads.load(std::memory_order_acquire);
  }
  return n;
}

bool set_threads(int n) noexcept {
  if (n < 1) return false;
  if (threads_fixed.load(std::memory_order_acquire)) return threads() == n;
  chosen_threads.store(n, std::memory_order_release);
  return true;
}

void init_threads() { threads_fixed.store(true, std::memory_order_release); }

namespace {
thread_local int blas_guard_depth = 0;
thread_local int blas_saved_threads = 0;
}  // namespace

BlasOneThread::BlasOneThread() {
  init_threads();
  if (blas_guard_depth++ == 0 && openblas_set_num_threads && openblas_get_num_threads) {
    blas_saved_threads = openblas_get_num_threads();
    if (blas_saved_threads != 1) openblas_set_num_threads(1);  // the team's threads are the only ones
  }
}

BlasOneThread::~BlasOneThread() {
  if (--blas_guard_depth == 0 && openblas_set_num_threads && blas_saved_threads > 1)
    openblas_set_num_threads(blas_saved_threads);  // as the program had it (PyTorch's, in a Python process)
}

}  // namespace rnn::cpu::fast
