// kernels/workbench/recurrence.cpp: the recurrence kernel family's workbench.
//
// One program per kernel family, in the manner of llm.c's dev/cuda: the
// family's CPU twin (kernels/recurrence.cuh's definition of a layer's
// recurrence, in double), every variant of its kernels (stepwise, and
// persistent at each batch tile that fits), validation of each on fresh
// random data against the twin (relative error, norm-wise, below 1e-5; the
// registers kernel, the persistent kernel's second generation, the cluster
// kernel and the gemm kernel with its cuBLAS SGEMM per step included), and
// timing (median of CUDA-event-timed runs; the timing shapes are checked on
// their first 4 sequences, the twin costing T*H*H per sequence). One command
// on a GPU machine:
//
//   build/kernels/workbench/rnn-workbench-recurrence [--cases all|small|timing] [--runs N]
//
// Without a GPU it validates the twin itself against the library's double
// reference (rnn::forward on Device::Reference, whose input projection and
// bias it is given) and says that the kernels were not run; exit 0. A
// kernel that fails validation exits 1.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../gemm_step.cuh"
#include "../recurrence_cluster.cuh"
#include "../recurrence_persistent.cuh"
#include "../recurrence_registers.cuh"
#include "../recurrence_stepwise.cuh"
#include "rnn/rnn.hpp"
#include "workbench.hpp"

namespace {

struct Case {
  int T, B, H, D;
  bool lengths, h0, relu, batch_first;
  bool timing;  // a shape worth timing
};

std::vector<Case> cases(const std::string& which) {
  std::vector<Case> all = {
      {5, 3, 8, 1, false, false, false, false, false},   {7, 4, 33, 2, true, true, false, false, false},
      {6, 9, 64, 1, true, false, true, true, false},     {9, 17, 70, 2, true, true, false, true, false},
      {4, 1, 256, 1, false, true, false, false, false},  {3, 64, 128, 2, true, false, false, false, false},
      {256, 1, 256, 1, false, false, false, false, true}, {256, 8, 1024, 1, false, false, false, false, true},
      {256, 64, 1024, 1, false, false, false, false, true}, {256, 256, 1024, 1, false, false, false, false, true},
      {256, 8, 2048, 1, false, false, false, false, true},
      // the cluster kernel's own sizes: 16-block clusters (H = 512), batch slices
      {5, 40, 512, 2, true, true, false, false, false},  {256, 8, 512, 1, false, false, false, false, true},
      {256, 64, 512, 1, false, false, false, false, true},
  };
  std::vector<Case> out;
  for (const Case& c : all)
    if (which == "all" || (which == "timing") == c.timing) out.push_back(c);
  return out;
}

struct Problem {
  Case c;
  std::vector<float> p, bias, w_hh, w_hh_t, h0, y, h_n;
  std::vector<int32_t> len;
};

Problem make(const Case& c, uint64_t seed) {
  Problem pr;
  pr.c = c;
  std::mt19937_64 gen(seed);
  const float k = 1.0f / std::sqrt(static_cast<float>(c.H));
  auto fill = [&](std::vector<float>& v, size_t n, float scale) {
    std::uniform_real_distribution<float> u(-scale, scale);
    v.resize(n);
    for (float& x : v) {
      do x = u(gen);
      while (x == 0.0f);
    }
  };
  const size_t rows = static_cast<size_t>(c.T) * c.B, DH = static_cast<size_t>(c.D) * c.H;
  fill(pr.p, rows * DH, 1.0f);
  fill(pr.bias, DH, k);
  fill(pr.w_hh, static_cast<size_t>(c.D) * c.H * c.H, k);
  pr.w_hh_t.resize(pr.w_hh.size());
  for (int d = 0; d < c.D; ++d)
    for (int i = 0; i < c.H; ++i)
      for (int j = 0; j < c.H; ++j)
        pr.w_hh_t[(static_cast<size_t>(d) * c.H + j) * c.H + i] = pr.w_hh[(static_cast<size_t>(d) * c.H + i) * c.H + j];
  if (c.h0) fill(pr.h0, static_cast<size_t>(c.D) * c.B * c.H, 0.5f);
  pr.len.assign(static_cast<size_t>(c.B), c.T);
  if (c.lengths) {
    for (auto& l : pr.len) l = 1 + static_cast<int32_t>(gen() % static_cast<uint64_t>(c.T));
    pr.len[gen() % pr.len.size()] = c.T;
  }
  return pr;
}

// The CPU twin: kernels/recurrence.cuh's definition, in double, for the
// first `check` sequences (all by default; the timing shapes check a few:
// each sequence is independent, and the twin is T*H*H per sequence).
void twin(const Problem& pr, std::vector<double>& y, std::vector<double>& h_n, int check = -1) {
  const Case& c = pr.c;
  const int nb = check < 0 ? c.B : std::min(check, c.B);
  const int DH = c.D * c.H;
  auto row = [&](int t, int b) { return c.batch_first ? static_cast<size_t>(b) * c.T + t : static_cast<size_t>(t) * c.B + b; };
  y.assign(static_cast<size_t>(c.T) * c.B * DH, 0.0);
  h_n.assign(static_cast<size_t>(c.D) * c.B * c.H, 0.0);
  std::vector<double> prev(c.H), next(c.H);
  for (int d = 0; d < c.D; ++d)
    for (int b = 0; b < nb; ++b) {
      const int len = pr.len[b];
      for (int j = 0; j < c.H; ++j) prev[j] = c.h0 ? pr.h0[(static_cast<size_t>(d) * c.B + b) * c.H + j] : 0.0;
      for (int s = 0; s < len; ++s) {
        const int t = d == 0 ? s : len - 1 - s;
        for (int i = 0; i < c.H; ++i) {
          double acc = static_cast<double>(pr.p[row(t, b) * DH + d * c.H + i]) + pr.bias[d * c.H + i];
          const float* w = pr.w_hh.data() + (static_cast<size_t>(d) * c.H + i) * c.H;
          for (int j = 0; j < c.H; ++j) acc += static_cast<double>(w[j]) * prev[j];
          next[i] = c.relu ? std::max(acc, 0.0) : std::tanh(acc);
          y[row(t, b) * DH + d * c.H + i] = next[i];
        }
        prev.swap(next);
      }
      for (int i = 0; i < c.H; ++i) h_n[(static_cast<size_t>(d) * c.B + b) * c.H + i] = prev[i];
    }
}

double rel_err(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    const double e = a[i] - b[i];
    num += e * e;
    den += b[i] * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// The same over the elements of the first `nb` sequences only: y's rows
// (t, b) or (b, t) with b < nb, and h_n's [d][b] with b < nb.
double rel_err_y(const Case& c, const std::vector<float>& a, const std::vector<double>& b, int nb) {
  const int DH = c.D * c.H;
  double num = 0, den = 0;
  for (int t = 0; t < c.T; ++t)
    for (int s = 0; s < nb; ++s) {
      const size_t r = c.batch_first ? static_cast<size_t>(s) * c.T + t : static_cast<size_t>(t) * c.B + s;
      for (int k = 0; k < DH; ++k) {
        const double e = a[r * DH + k] - b[r * DH + k];
        num += e * e;
        den += b[r * DH + k] * b[r * DH + k];
      }
    }
  return std::sqrt(num / std::max(den, 1e-300));
}
double rel_err_hn(const Case& c, const std::vector<float>& a, const std::vector<double>& b, int nb) {
  double num = 0, den = 0;
  for (int d = 0; d < c.D; ++d)
    for (int s = 0; s < nb; ++s)
      for (int i = 0; i < c.H; ++i) {
        const size_t at = (static_cast<size_t>(d) * c.B + s) * c.H + i;
        num += (a[at] - b[at]) * (a[at] - b[at]);
        den += b[at] * b[at];
      }
  return std::sqrt(num / std::max(den, 1e-300));
}

// Sequences the twin computes for a case: every one, or 4 of a timing shape's.
int checked(const Case& c) { return c.timing ? std::min(c.B, 4) : c.B; }

// The twin against the library's reference: a one-layer model whose input
// projection is the identity (I = H, W_ih = 1) gives P = x; the bias goes
// to b_ih (b_hh = 0).
bool check_twin() {
  bool ok = true;
  for (const Case& c : cases("small")) {
    if (c.H > 128) continue;
    Problem pr = make(c, 1000 + c.H);
    rnn::ModelConfig cfg;
    cfg.input_size = c.H;
    cfg.hidden_size = c.H;
    cfg.bidirectional = c.D == 2;
    cfg.nonlinearity = c.relu ? rnn::Nonlinearity::Relu : rnn::Nonlinearity::Tanh;
    rnn::Model m(cfg);
    for (int d = 0; d < c.D; ++d) {
      rnn::CellWeights& w = m.cell(0, d);
      for (int i = 0; i < c.H; ++i) w.w_ih[static_cast<int64_t>(i) * c.H + i] = 1.0f;
      std::copy_n(pr.w_hh.data() + static_cast<size_t>(d) * c.H * c.H, c.H * c.H, w.w_hh.data());
      std::copy_n(pr.bias.data() + d * c.H, c.H, w.b_ih.data());
    }
    // x [T, B, H] (or [B, T, H]) per direction is P's slice; the twin gives
    // both directions the same x when D = 2, so P's directions are made equal.
    const int DH = c.D * c.H;
    const size_t rows = static_cast<size_t>(c.T) * c.B;
    std::vector<float> x(rows * c.H);
    for (size_t r = 0; r < rows; ++r)
      for (int i = 0; i < c.H; ++i) {
        x[r * c.H + i] = pr.p[r * DH + i];
        if (c.D == 2) pr.p[r * DH + c.H + i] = pr.p[r * DH + i];
      }
    const rnn::Tensor xt(c.batch_first ? std::vector<int64_t>{c.B, c.T, c.H} : std::vector<int64_t>{c.T, c.B, c.H}, x);
    rnn::Tensor h0;
    if (c.h0) h0 = rnn::Tensor({c.D, c.B, c.H}, pr.h0);
    std::vector<int64_t> lengths(pr.len.begin(), pr.len.end());
    rnn::ForwardOptions o;
    o.device = rnn::Device::Reference;
    o.batch_first = c.batch_first;
    const rnn::ForwardResult r = rnn::forward(m, xt, c.h0 ? &h0 : nullptr, c.lengths ? &lengths : nullptr, o);
    std::vector<double> y, h_n;
    twin(pr, y, h_n);
    const double ey = rel_err(r.y.values(), y), eh = rel_err(r.h_n.values(), h_n);
    const bool pass = ey < 1e-6 && eh < 1e-6;
    ok &= pass;
    std::printf("twin  T=%-3d B=%-3d H=%-4d D=%d  against the reference: y %.2e  h_n %.2e  %s\n", c.T, c.B, c.H, c.D, ey,
                eh, pass ? "ok" : "FAIL");
  }
  return ok;
}

// The gemm variant's run, as the plan's Kernel::Gemm does it
// (host/cuda/plan_impl.hpp): state seeded from h0 (or zeros); per step one
// cuBLAS SGEMM, Z = state W_hh^T strided over the directions in strict
// FP32, then gemm_step; h_n copied from state at the end.
class GemmRun {
 public:
  explicit GemmRun(const rnn::kernels::RecurrenceParams& rp)
      : rp_(rp), state_(static_cast<size_t>(rp.D) * rp.B * rp.H), z_(static_cast<size_t>(rp.D) * rp.B * rp.H) {
    if (cublasCreate(&handle_) != CUBLAS_STATUS_SUCCESS) handle_ = nullptr;
    if (handle_) cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH);
  }
  ~GemmRun() {
    if (handle_) cublasDestroy(handle_);
  }
  GemmRun(const GemmRun&) = delete;
  GemmRun& operator=(const GemmRun&) = delete;

  cudaError_t operator()() {
    const int B = rp_.B, H = rp_.H, D = rp_.D;
    const size_t bytes = static_cast<size_t>(D) * B * H * sizeof(float);
    if (!handle_ || !state_.p || !z_.p) return cudaErrorMemoryAllocation;
    cudaError_t e = rp_.h0 ? cudaMemcpy(state_.p, rp_.h0, bytes, cudaMemcpyDeviceToDevice)
                           : cudaMemset(state_.p, 0, bytes);
    const float one = 1.0f, zero = 0.0f;
    const long long w_stride = static_cast<long long>(H) * H, s_stride = static_cast<long long>(B) * H;
    for (int s = 0; e == cudaSuccess && s < rp_.T; ++s) {
      if (cublasSgemmStridedBatched(handle_, CUBLAS_OP_T, CUBLAS_OP_N, H, B, H, &one, rp_.w_hh, H, w_stride, state_.p,
                                    H, s_stride, &zero, z_.p, H, s_stride, D) != CUBLAS_STATUS_SUCCESS)
        return cudaErrorUnknown;
      e = rnn::kernels::launch_gemm_step(rp_, s, z_.p, state_.p, nullptr);
    }
    if (e == cudaSuccess && rp_.h_n) e = cudaMemcpy(rp_.h_n, state_.p, bytes, cudaMemcpyDeviceToDevice);
    return e;
  }

 private:
  rnn::kernels::RecurrenceParams rp_;
  workbench::Dev<float> state_, z_;
  cublasHandle_t handle_ = nullptr;
};

// Runs `variant` on the problem, validates it against the twin and times it.
bool run_variant(const Problem& pr, const std::vector<double>& y_ref, const std::vector<double>& hn_ref,
                 const std::string& variant, int tile, int runs, bool& failed) {
  const Case& c = pr.c;
  const size_t ny = y_ref.size(), nh = hn_ref.size();
  workbench::Dev<float> p(pr.p), bias(pr.bias), w(pr.w_hh), wt(pr.w_hh_t), h0(pr.h0), y(ny), hn(nh);
  workbench::Dev<int32_t> len(pr.len);
  rnn::kernels::RecurrenceParams rp;
  rp.T = c.T;
  rp.B = c.B;
  rp.H = c.H;
  rp.D = c.D;
  rp.batch_first = c.batch_first;
  rp.relu = c.relu;
  rp.p = p.p;
  rp.bias = bias.p;
  rp.w_hh = w.p;
  rp.w_hh_t = wt.p;
  rp.h0 = c.h0 ? h0.p : nullptr;
  rp.lengths = c.lengths ? len.p : nullptr;
  rp.y = y.p;
  rp.h_n = hn.p;
  rnn::kernels::PersistentShape shape;
  rnn::kernels::RegistersShape reg;
  rnn::kernels::ClusterShape cl;
  if (variant == "cluster") {
    const cudaError_t fit = rnn::kernels::cluster_shape(c.H, c.D, c.B, &cl);
    if (fit != cudaSuccess) {
      std::printf("%-12s       T=%-3d B=%-3d H=%-4d D=%d  does not fit: %s\n", variant.c_str(), c.T, c.B, c.H, c.D,
                  cudaGetErrorString(fit));
      cudaGetLastError();
      return true;
    }
  }
  if (variant == "registers") {
    const cudaError_t fit = rnn::kernels::registers_shape(c.H, c.D, c.B, &reg);
    if (fit != cudaSuccess) {
      std::printf("%-12s       T=%-3d B=%-3d H=%-4d D=%d  does not fit: %s\n", variant.c_str(), c.T, c.B, c.H, c.D,
                  cudaGetErrorString(fit));
      cudaGetLastError();
      return true;
    }
  }
  if (variant == "persistent") {
    const cudaError_t fit = rnn::kernels::persistent_shape(c.H, c.D, c.B, &shape);
    if (fit != cudaSuccess) {
      std::printf("%-12s BT=%d  T=%-3d B=%-3d H=%-4d D=%d  does not fit: %s\n", variant.c_str(), tile, c.T, c.B, c.H, c.D,
                  cudaGetErrorString(fit));
      cudaGetLastError();
      return true;
    }
    if (tile) {
      // Another tile than the plan's: only where the staged chunk holds whole
      // tiles of it (the kernel stages whole tiles); the plan's own is tile 0.
      if (tile == shape.batch_tile || shape.batch_chunk % tile != 0) return true;
      shape.batch_tile = tile;
    }
  }
  std::optional<GemmRun> gemm;
  if (variant == "gemm") gemm.emplace(rp);
  auto launch = [&]() -> cudaError_t {
    if (gemm) return (*gemm)();
    if (variant == "persistent") return rnn::kernels::launch_recurrence_persistent(rp, shape, nullptr);
    if (variant == "registers") return rnn::kernels::launch_recurrence_registers(rp, reg, nullptr);
    if (variant == "cluster") return rnn::kernels::launch_recurrence_cluster(rp, cl, nullptr);
    for (int s = 0; s < c.T; ++s) {
      const cudaError_t e = rnn::kernels::launch_recurrence_stepwise(rp, s, nullptr);
      if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
  };
  WB_CHECK(launch());
  WB_CHECK(cudaDeviceSynchronize());
  std::vector<float> yh(ny), hh(nh);
  WB_CHECK(cudaMemcpy(yh.data(), y.p, ny * sizeof(float), cudaMemcpyDeviceToHost));
  WB_CHECK(cudaMemcpy(hh.data(), hn.p, nh * sizeof(float), cudaMemcpyDeviceToHost));
  const double ey = rel_err_y(c, yh, y_ref, checked(c)), eh = rel_err_hn(c, hh, hn_ref, checked(c));
  const bool pass = ey < 1e-5 && eh < 1e-5;
  failed |= !pass;
  double ms = 0;
  if (c.timing && pass) {
    ms = workbench::median_ms(launch, runs);
    if (ms < 0) {
      std::fprintf(stderr, "workbench: a timed launch failed: %s\n", cudaGetErrorString(cudaGetLastError()));
      return false;
    }
  }
  std::printf("%-12s BT=%d  T=%-3d B=%-3d H=%-4d D=%d  y %.2e  h_n %.2e  %s", variant.c_str(),
              variant == "persistent" ? shape.batch_tile : 0, c.T, c.B, c.H, c.D, ey, eh, pass ? "ok" : "FAIL");
  if (ms > 0) std::printf("  %.3f ms (%.2f us/step)", ms, 1000.0 * ms / c.T);
  std::printf("\n");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string which;
  int runs = 0;
  if (!workbench::parse_args(argc, argv, which, runs)) return 2;
  bool failed = !check_twin();
  if (!workbench::have_device()) return failed ? 1 : 0;
  for (const Case& c : cases(which)) {
    const Problem pr = make(c, 7 + c.T * 131 + c.B * 17 + c.H);
    std::vector<double> y, h_n;
    twin(pr, y, h_n, checked(c));
    if (!run_variant(pr, y, h_n, "stepwise", 0, runs, failed)) return 1;
    for (int tile : {0, 1, 2, 4})
      if (!run_variant(pr, y, h_n, "persistent", tile, runs, failed)) return 1;
    if (!run_variant(pr, y, h_n, "registers", 0, runs, failed)) return 1;
    if (!run_variant(pr, y, h_n, "cluster", 0, runs, failed)) return 1;
    if (!run_variant(pr, y, h_n, "gemm", 0, runs, failed)) return 1;
  }
  std::printf("workbench: %s\n", failed ? "FAIL" : "every variant matches the twin");
  return failed ? 1 : 0;
}
