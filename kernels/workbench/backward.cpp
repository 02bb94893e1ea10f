// kernels/workbench/backward.cpp: the backward recurrence kernel family's
// workbench (see kernels/workbench/recurrence.cpp for the manner).
//
// The CPU twin is kernels/backward.cuh's definition in double: for every
// step s = T-1 .. -1 of direction d and sequence b, dr (min-char-rnn's
// dhraw) and dh0. On every machine the twin is checked against the
// library's double reference: a one-layer model with W_ih = identity
// (I = H) has dx = the sum of both directions' dr, and the same dh0. On a
// GPU, the stepwise kernel (steps T-1 .. -1, one launch each), the
// persistent kernel and the registers kernel (W_hh^T in registers, H <=
// 1024) are validated against the twin at 1e-5 on random data
// and timed:
//
//   build/kernels/workbench/rnn-workbench-backward [--cases all|small|timing] [--runs N]
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../backward.cuh"
#include "../backward_persistent.cuh"
#include "../backward_registers.cuh"
#include "../backward_stepwise.cuh"
#include "../recurrence_persistent.cuh"
#include "rnn/rnn.hpp"
#include "workbench.hpp"

namespace {

struct Case {
  int T, B, H, D;
  bool lengths, dh_n, relu, batch_first;
  bool timing;
};

std::vector<Case> cases(const std::string& which) {
  std::vector<Case> all = {
      {5, 3, 8, 1, false, false, false, false, false},   {7, 4, 33, 2, true, true, false, false, false},
      {6, 9, 64, 1, true, false, true, true, false},     {9, 17, 70, 2, true, true, false, true, false},
      {3, 64, 128, 2, true, true, false, false, false},
      {256, 1, 256, 1, false, true, false, false, true}, {256, 8, 1024, 1, false, true, false, false, true},
      {256, 64, 1024, 1, false, true, false, false, true}, {256, 256, 1024, 1, false, true, false, false, true},
      {3, 70, 1024, 1, true, true, false, false, false},  // registers on an H100/H200: two staging buffers, three chunks
  };
  std::vector<Case> out;
  for (const Case& c : all)
    if (which == "all" || (which == "timing") == c.timing) out.push_back(c);
  return out;
}

int checked(const Case& c) { return c.timing ? std::min(c.B, 4) : c.B; }

struct Problem {
  Case c;
  std::vector<float> y, dout, w_hh, w_hh_t, dh_n;
  std::vector<int32_t> len;
};

size_t row(const Case& c, int t, int b) {
  return c.batch_first ? static_cast<size_t>(b) * c.T + t : static_cast<size_t>(t) * c.B + b;
}

Problem make(const Case& c, uint64_t seed) {
  Problem pr;
  pr.c = c;
  std::mt19937_64 gen(seed);
  auto fill = [&](std::vector<float>& v, size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> u(lo, hi);
    v.resize(n);
    for (float& x : v) {
      do x = u(gen);
      while (x == 0.0f);
    }
  };
  const size_t rows = static_cast<size_t>(c.T) * c.B, DH = static_cast<size_t>(c.D) * c.H;
  const float k = 1.0f / std::sqrt(static_cast<float>(c.H));
  // Any y in (-1, 1) is a valid input to the backward step (for relu, any
  // y >= 0 would be; its sign is what matters).
  fill(pr.y, rows * DH, c.relu ? 0.0f : -0.99f, 0.99f);
  if (c.relu)
    for (size_t i = 0; i < pr.y.size(); i += 3) pr.y[i] = 0.0f;  // some units off
  fill(pr.dout, rows * DH, -1.0f, 1.0f);
  fill(pr.w_hh, static_cast<size_t>(c.D) * c.H * c.H, -k, k);
  pr.w_hh_t.resize(pr.w_hh.size());
  for (int d = 0; d < c.D; ++d)
    for (int i = 0; i < c.H; ++i)
      for (int j = 0; j < c.H; ++j)
        pr.w_hh_t[(static_cast<size_t>(d) * c.H + j) * c.H + i] = pr.w_hh[(static_cast<size_t>(d) * c.H + i) * c.H + j];
  if (c.dh_n) fill(pr.dh_n, static_cast<size_t>(c.D) * c.B * c.H, -1.0f, 1.0f);
  pr.len.assign(static_cast<size_t>(c.B), c.T);
  if (c.lengths) {
    for (auto& l : pr.len) l = 1 + static_cast<int32_t>(gen() % static_cast<uint64_t>(c.T));
    pr.len[gen() % pr.len.size()] = c.T;
  }
  return pr;
}

// The CPU twin: kernels/backward.cuh's definition, in double, for the first
// `nb` sequences.
void twin(const Problem& pr, int nb, std::vector<double>& dr, std::vector<double>& dh0) {
  const Case& c = pr.c;
  const int DH = c.D * c.H;
  dr.assign(static_cast<size_t>(c.T) * c.B * DH, 0.0);
  dh0.assign(static_cast<size_t>(c.D) * c.B * c.H, 0.0);
  std::vector<double> r(c.H);
  for (int d = 0; d < c.D; ++d)
    for (int b = 0; b < nb; ++b) {
      const int len = pr.len[b];
      auto time = [&](int s) { return d == 0 ? s : len - 1 - s; };
      for (int s = len - 1; s >= -1; --s) {  // s >= len: dr stays 0 (padded)
        for (int i = 0; i < c.H; ++i) {
          double v = 0.0;
          if (s + 1 < len) {
            const size_t next = row(c, time(s + 1), b) * DH + static_cast<size_t>(d) * c.H;
            for (int j = 0; j < c.H; ++j)
              v += static_cast<double>(pr.w_hh[(static_cast<size_t>(d) * c.H + j) * c.H + i]) * dr[next + j];
          } else if (c.dh_n) {
            v = pr.dh_n[(static_cast<size_t>(d) * c.B + b) * c.H + i];
          }
          r[i] = v;
        }
        if (s < 0) {
          for (int i = 0; i < c.H; ++i) dh0[(static_cast<size_t>(d) * c.B + b) * c.H + i] = r[i];
          break;
        }
        const size_t at = row(c, time(s), b) * DH + static_cast<size_t>(d) * c.H;
        for (int i = 0; i < c.H; ++i) {
          const double h = pr.y[at + i];
          const double deriv = c.relu ? (h > 0.0 ? 1.0 : 0.0) : 1.0 - h * h;
          dr[at + i] = deriv * (pr.dout[at + i] + r[i]);
        }
      }
    }
}

double rel(double num, double den) { return std::sqrt(num / std::max(den, 1e-300)); }

// Relative error over the first nb sequences: dr's rows and dh0's [d][b].
void errors(const Case& c, const std::vector<float>& dr, const std::vector<float>& dh0, const std::vector<double>& rdr,
            const std::vector<double>& rdh0, int nb, double& edr, double& edh0) {
  const int DH = c.D * c.H;
  double n = 0, d = 0;
  for (int t = 0; t < c.T; ++t)
    for (int b = 0; b < nb; ++b)
      for (int k = 0; k < DH; ++k) {
        const size_t at = row(c, t, b) * DH + k;
        n += (dr[at] - rdr[at]) * (dr[at] - rdr[at]);
        d += rdr[at] * rdr[at];
      }
  edr = rel(n, d);
  n = d = 0;
  for (int dd = 0; dd < c.D; ++dd)
    for (int b = 0; b < nb; ++b)
      for (int i = 0; i < c.H; ++i) {
        const size_t at = (static_cast<size_t>(dd) * c.B + b) * c.H + i;
        n += (dh0[at] - rdh0[at]) * (dh0[at] - rdh0[at]);
        d += rdh0[at] * rdh0[at];
      }
  edh0 = rel(n, d);
}

// The twin against the library: a one-layer model with W_ih = identity and
// its own forward pass's y; dx is then the sum of the directions' dr.
bool check_twin() {
  bool ok = true;
  for (const Case& c : cases("small")) {
    Problem pr = make(c, 2000 + c.H);
    rnn::ModelConfig cfg;
    cfg.input_size = c.H;
    cfg.hidden_size = c.H;
    cfg.bidirectional = c.D == 2;
    cfg.nonlinearity = c.relu ? rnn::Nonlinearity::Relu : rnn::Nonlinearity::Tanh;
    rnn::Model m = rnn::Model::random(cfg, 5 + c.H);
    for (int d = 0; d < c.D; ++d) {
      rnn::CellWeights& w = m.cell(0, d);
      std::fill(w.w_ih.values().begin(), w.w_ih.values().end(), 0.0f);
      for (int i = 0; i < c.H; ++i) w.w_ih[static_cast<int64_t>(i) * c.H + i] = 1.0f;
      std::copy_n(pr.w_hh.data() + static_cast<size_t>(d) * c.H * c.H, c.H * c.H, w.w_hh.data());
    }
    const std::vector<int64_t> shape = c.batch_first ? std::vector<int64_t>{c.B, c.T, c.H}
                                                     : std::vector<int64_t>{c.T, c.B, c.H};
    std::mt19937_64 gen(c.T * 7 + c.B);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    rnn::Tensor x(shape);
    for (float& v : x.values()) v = u(gen);
    std::vector<int64_t> lengths(pr.len.begin(), pr.len.end());
    rnn::ForwardOptions o;
    o.device = rnn::Device::Reference;
    o.batch_first = c.batch_first;
    const auto* lp = c.lengths ? &lengths : nullptr;
    const rnn::ForwardResult f = rnn::forward(m, x, nullptr, lp, o);
    pr.y = f.y.values();
    const rnn::Tensor dy(f.y.shape(), pr.dout);
    const rnn::Tensor dh_n = c.dh_n ? rnn::Tensor(f.h_n.shape(), pr.dh_n) : rnn::Tensor(f.h_n.shape());
    const rnn::BackwardResult g = rnn::backward(m, x, nullptr, lp, dy, &dh_n, o);
    std::vector<double> dr, dh0;
    twin(pr, c.B, dr, dh0);
    // dx[row][i] = sum over directions of dr[row][d*H + i], 0 at padded rows.
    double n = 0, d = 0;
    for (size_t r = 0; r < static_cast<size_t>(c.T) * c.B; ++r)
      for (int i = 0; i < c.H; ++i) {
        double want = 0;
        for (int dd = 0; dd < c.D; ++dd) want += dr[r * c.D * c.H + dd * c.H + i];
        const double e = g.dx.values()[r * c.H + i] - want;
        n += e * e;
        d += want * want;
      }
    const double edx = rel(n, d);
    n = d = 0;
    for (size_t i = 0; i < dh0.size(); ++i) {
      n += (g.dh0.values()[i] - dh0[i]) * (g.dh0.values()[i] - dh0[i]);
      d += dh0[i] * dh0[i];
    }
    const double edh0 = rel(n, d);
    const bool pass = edx < 1e-6 && edh0 < 1e-6;
    ok &= pass;
    std::printf("twin  T=%-3d B=%-3d H=%-4d D=%d  against the reference: dx %.2e  dh0 %.2e  %s\n", c.T, c.B, c.H, c.D,
                edx, edh0, pass ? "ok" : "FAIL");
  }
  return ok;
}

bool run_variant(const Problem& pr, const std::vector<double>& rdr, const std::vector<double>& rdh0,
                 const std::string& variant, int runs, bool& failed) {
  const Case& c = pr.c;
  const size_t ndr = rdr.size(), nh = rdh0.size();
  workbench::Dev<float> y(pr.y), dout(pr.dout), w(pr.w_hh), wt(pr.w_hh_t), dhn(pr.dh_n), dr(ndr), dh0(nh);
  workbench::Dev<int32_t> len(pr.len);
  rnn::kernels::BackwardParams bp;
  bp.T = c.T;
  bp.B = c.B;
  bp.H = c.H;
  bp.D = c.D;
  bp.batch_first = c.batch_first;
  bp.relu = c.relu;
  bp.y = y.p;
  bp.dout = dout.p;
  bp.w_hh = w.p;
  bp.w_hh_t = wt.p;
  bp.dh_n = c.dh_n ? dhn.p : nullptr;
  bp.lengths = c.lengths ? len.p : nullptr;
  bp.dr = dr.p;
  bp.dh0 = dh0.p;
  rnn::kernels::PersistentShape shape;
  if (variant == "persistent") {
    cudaError_t fit = rnn::kernels::persistent_shape(c.H, c.D, c.B, &shape);
    if (fit == cudaSuccess) fit = rnn::kernels::backward_persistent_prepare(shape, c.D);
    if (fit != cudaSuccess) {
      std::printf("%-12s T=%-3d B=%-3d H=%-4d D=%d  does not fit: %s\n", variant.c_str(), c.T, c.B, c.H, c.D,
                  cudaGetErrorString(fit));
      cudaGetLastError();
      return true;
    }
  }
  rnn::kernels::RegistersShape reg;
  if (variant == "registers") {
    cudaError_t fit = rnn::kernels::registers_shape(c.H, c.D, c.B, &reg);
    if (fit == cudaSuccess) fit = rnn::kernels::backward_registers_prepare(reg, c.D);
    if (fit != cudaSuccess) {
      std::printf("%-12s T=%-3d B=%-3d H=%-4d D=%d  does not fit: %s\n", variant.c_str(), c.T, c.B, c.H, c.D,
                  cudaGetErrorString(fit));
      cudaGetLastError();
      return true;
    }
  }
  auto launch = [&]() -> cudaError_t {
    if (variant == "persistent") return rnn::kernels::launch_backward_persistent(bp, shape, nullptr);
    if (variant == "registers") return rnn::kernels::launch_backward_registers(bp, reg, nullptr);
    for (int s = c.T - 1; s >= -1; --s) {
      const cudaError_t e = rnn::kernels::launch_backward_stepwise(bp, s, nullptr);
      if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
  };
  WB_CHECK(launch());
  WB_CHECK(cudaDeviceSynchronize());
  std::vector<float> hdr(ndr), hdh0(nh);
  WB_CHECK(cudaMemcpy(hdr.data(), dr.p, ndr * sizeof(float), cudaMemcpyDeviceToHost));
  WB_CHECK(cudaMemcpy(hdh0.data(), dh0.p, nh * sizeof(float), cudaMemcpyDeviceToHost));
  double edr = 0, edh0 = 0;
  errors(c, hdr, hdh0, rdr, rdh0, checked(c), edr, edh0);
  const bool pass = edr < 1e-5 && edh0 < 1e-5;
  failed |= !pass;
  double ms = 0;
  if (c.timing && pass) {
    ms = workbench::median_ms(launch, runs);
    if (ms < 0) {
      std::fprintf(stderr, "workbench: a timed launch failed: %s\n", cudaGetErrorString(cudaGetLastError()));
      return false;
    }
  }
  std::printf("%-12s T=%-3d B=%-3d H=%-4d D=%d  dr %.2e  dh0 %.2e  %s", variant.c_str(), c.T, c.B, c.H, c.D, edr, edh0,
              pass ? "ok" : "FAIL");
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
    const Problem pr = make(c, 11 + c.T * 131 + c.B * 17 + c.H);
    std::vector<double> dr, dh0;
    twin(pr, checked(c), dr, dh0);
    for (const char* v : {"stepwise", "persistent", "registers"})
      if (!run_variant(pr, dr, dh0, v, runs, failed)) return 1;
  }
  std::printf("workbench: %s\n", failed ? "FAIL" : "every variant matches the twin");
  return failed ? 1 : 0;
}
