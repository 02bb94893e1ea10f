// tests/bench/test_bench.cpp: the benchmark runner's arithmetic (grids,
// FLOP counts, floors, lengths) and its CPU path end to end.
#include <nlohmann/json.hpp>

#include <fstream>

#include "bench.hpp"
#include "gpu.hpp"
#include "testbed.hpp"

namespace {

TEST(BenchGrid, DefaultGridIsTheIssuedGridPlusExtraRows) {
  const auto g = rnn::bench::default_grid();
  ASSERT_EQ(g.size(), 20u);
  int base = 0;
  for (const auto& s : g) {
    EXPECT_EQ(s.T, 256);
    if (s.L == 1 && !s.bidirectional && !s.varlen) {
      ++base;
      EXPECT_EQ(s.I, s.H);
    }
  }
  EXPECT_EQ(base, 16);
  EXPECT_TRUE(g[16].L == 2 && g[17].bidirectional && g[18].varlen);
}

TEST(BenchGrid, FlopsAreTwoBHIplusHPerStepDirectionAndLayer) {
  rnn::bench::Shape s;
  s.B = 4, s.H = 10, s.I = 6, s.T = 5, s.L = 2, s.bidirectional = true;
  // layer 0: 2 directions x 2 x 10 x (6 + 10); layer 1 reads D*H = 20: 2 x 2 x 10 x (20 + 10); per token
  const double per_token = 2 * 2 * 10 * 16 + 2 * 2 * 10 * 30;
  EXPECT_DOUBLE_EQ(s.flops(20.0), per_token * 20.0);
  EXPECT_EQ(s.label(), "B=4 H=10 I=6 T=5 L=2 D=2");
}

TEST(BenchGrid, FloorIsTheLargestOfComputeMemoryAndBarrier) {
  rnn::bench::DeviceInfo info;
  info.peak_fp32_tflops = 50;
  info.bandwidth_gbs = 3000;
  info.barrier_us = 1.0;
  rnn::bench::Shape s;  // B=1, H=256, T=256: latency bound
  std::string kind;
  const double ms = rnn::bench::detail::floor_ms(s, 256.0, info, &kind);
  EXPECT_EQ(kind, "barrier");
  EXPECT_NEAR(ms, 0.256, 1e-12);
  s.B = 256, s.H = 2048, s.I = 2048;  // 2*256*2048*4096*256 flops = 1.1 TFLOP: compute bound
  const double big = rnn::bench::detail::floor_ms(s, 256.0 * 256, info, &kind);
  EXPECT_EQ(kind, "compute");
  EXPECT_NEAR(big, s.flops(256.0 * 256) / 50e12 * 1e3, 1e-9);
}

TEST(BenchGrid, VariableLengthsLieInHalfTToT) {
  rnn::bench::Shape s;
  s.B = 50, s.T = 40, s.varlen = true;
  const auto len = rnn::bench::detail::bench_lengths(s, 3);
  ASSERT_EQ(len.size(), 50u);
  int64_t longest = 0;
  for (int64_t l : len) {
    EXPECT_GE(l, 20);
    EXPECT_LE(l, 40);
    longest = std::max(longest, l);
  }
  EXPECT_EQ(longest, 40);
  s.varlen = false;
  for (int64_t l : rnn::bench::detail::bench_lengths(s, 3)) EXPECT_EQ(l, 40);
}

TEST(BenchCpu, QuickGridRunsOnTheCpuAndIsLabelled) {
  rnn::bench::Options o;
  o.device = rnn::Device::Cpu;
  o.runs = 1;
  rnn::bench::Shape s;
  s.B = 2, s.H = 8, s.I = 4, s.T = 5, s.bidirectional = true, s.varlen = true;
  o.shapes = {s};
  std::ostringstream log;
  const auto report = rnn::bench::run(o, log);
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].engine, "cpu reference");
  EXPECT_GT(report.rows[0].ms, 0.0);
  EXPECT_NE(report.rows[0].status.find("not a GPU figure"), std::string::npos);
  EXPECT_NE(log.str().find("not GPU figures"), std::string::npos);
  testbed::ScratchDir dir;
  rnn::bench::write_json(report, dir.file("b.json"));
  rnn::bench::write_csv(report, dir.file("b.csv"));
  std::ifstream jf(dir.file("b.json"));
  const auto j = nlohmann::json::parse(jf);
  EXPECT_EQ(j["rows"].size(), 1u);
  EXPECT_EQ(j["rows"][0]["D"], 2);
  EXPECT_EQ(j["device"]["gpu"], false);
  std::ifstream cf(dir.file("b.csv"));
  std::string header, row;
  std::getline(cf, header);
  std::getline(cf, row);
  EXPECT_EQ(header.rfind("device,B,H,I,T,L,D,varlen,engine", 0), 0u);
  EXPECT_EQ(row.rfind("\"cpu\",2,8,4,5,1,2,1,\"cpu reference\"", 0), 0u) << row;
}

}  // namespace
