// tests/bench/test_bench.cpp: the benchmark runner's arithmetic (grids,
// FLOP counts, floors, lengths) and its CPU path end to end.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>

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
  // The fast CPU backend and the reference, side by side; the fast one
  // checked against the reference.
  ASSERT_EQ(report.rows.size(), 2u);
  EXPECT_EQ(report.rows[0].engine, "cpu");
  EXPECT_EQ(report.rows[1].engine, "cpu reference");
  EXPECT_GT(report.rows[0].ms, 0.0);
  EXPECT_GT(report.rows[1].ms, 0.0);
  EXPECT_GE(report.rows[0].check, 0.0);
  EXPECT_LT(report.rows[0].check, 1e-5);
  EXPECT_NE(report.rows[0].status.find("not a GPU figure"), std::string::npos);
  EXPECT_NE(log.str().find("not GPU figures"), std::string::npos);
  testbed::ScratchDir dir;
  rnn::bench::write_json(report, dir.file("b.json"));
  rnn::bench::write_csv(report, dir.file("b.csv"));
  std::ifstream jf(dir.file("b.json"));
  const auto j = nlohmann::json::parse(jf);
  EXPECT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["D"], 2);
  EXPECT_EQ(j["device"]["gpu"], false);
  std::ifstream cf(dir.file("b.csv"));
  std::string header, row;
  std::getline(cf, header);
  std::getline(cf, row);
  EXPECT_EQ(header.rfind("device,B,H,I,T,L,D,varlen,engine", 0), 0u);
  EXPECT_EQ(row.rfind("\"cpu\",2,8,4,5,1,2,1,\"cpu\"", 0), 0u) << row;
}

TEST(BenchGrid, TargetGridIsBx4TimesHx3AtT256) {
  const auto g = rnn::bench::target_grid();
  ASSERT_EQ(g.size(), 12u);
  std::set<int64_t> bs, hs;
  for (const auto& s : g) {
    EXPECT_EQ(s.T, 256);
    EXPECT_EQ(s.I, s.H);
    EXPECT_EQ(s.L, 1);
    EXPECT_FALSE(s.bidirectional || s.varlen);
    bs.insert(s.B);
    hs.insert(s.H);
  }
  EXPECT_EQ(bs, (std::set<int64_t>{1, 8, 64, 256}));
  EXPECT_EQ(hs, (std::set<int64_t>{256, 1024, 2048}));
  // Every target shape is in the default grid, so --append with the default grid adds only the others.
  const auto d = rnn::bench::default_grid();
  for (const auto& s : g)
    EXPECT_TRUE(std::any_of(d.begin(), d.end(), [&](const rnn::bench::Shape& x) { return x.label() == s.label(); }))
        << s.label();
  EXPECT_EQ(rnn::bench::named_grid("target", true).size(), 12u);
  EXPECT_EQ(rnn::bench::named_grid("default", true).size(), 20u);
  try {
    rnn::bench::named_grid("huge", true);
    FAIL() << "an unknown grid was accepted";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "--shapes");
  }
}

rnn::bench::Shape tiny_shape(int64_t B) {
  rnn::bench::Shape s;
  s.B = B, s.H = 6, s.I = 3, s.T = 4;
  return s;
}

TEST(BenchCpu, ProgressSeesTheReportBeforeAndAfterEveryShape) {
  rnn::bench::Options o;
  o.device = rnn::Device::Reference;  // one row per shape
  o.runs = 1;
  o.shapes = {tiny_shape(1), tiny_shape(2), tiny_shape(3)};
  std::vector<size_t> seen;
  std::ostringstream log;
  const auto report = rnn::bench::run(o, log, [&](const rnn::bench::Report& r) { seen.push_back(r.rows.size()); });
  EXPECT_EQ(seen, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(report.rows.size(), 3u);
}

TEST(BenchCpu, AFailingShapeBecomesARowAndTheGridGoesOn) {
  rnn::bench::Options o;
  o.device = rnn::Device::Reference;  // one row per shape
  o.runs = 1;
  rnn::bench::Shape huge = tiny_shape(1);
  huge.T = int64_t{1} << 24, huge.B = int64_t{1} << 20, huge.I = 64;  // x alone: 4 PiB, refused before allocation
  o.shapes = {tiny_shape(1), huge, tiny_shape(2)};
  std::ostringstream log;
  const auto report = rnn::bench::run(o, log);
  ASSERT_EQ(report.rows.size(), 3u);
  EXPECT_GT(report.rows[0].ms, 0.0);
  EXPECT_EQ(report.rows[1].engine, "(shape setup)");
  EXPECT_EQ(report.rows[1].status.rfind("failed: ", 0), 0u) << report.rows[1].status;
  EXPECT_NE(report.rows[1].status.find("host memory"), std::string::npos) << report.rows[1].status;
  EXPECT_EQ(report.rows[1].ms, 0.0);
  EXPECT_GT(report.rows[2].ms, 0.0);
  EXPECT_FALSE(report.mismatch);
}

TEST(BenchCpu, JsonRoundTripsAndResumeSkipsTheShapesItHolds) {
  rnn::bench::Options o;
  o.device = rnn::Device::Reference;  // one row per shape
  o.runs = 1;
  o.shapes = {tiny_shape(1), tiny_shape(2)};
  std::ostringstream log;
  rnn::bench::Report first = rnn::bench::run(o, log);
  first.rows[1].timing_skip = "barrier";  // the variant fields round-trip too
  first.rows[1].variant_of = "rnn persistent";
  first.rows[1].saves_us_per_step = 1.25;
  testbed::ScratchDir dir;
  rnn::bench::write_json(first, dir.file("b.json"));
  const rnn::bench::Report back = rnn::bench::read_json(dir.file("b.json"));
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(back.device.name, "cpu");
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.rows[i].shape.label(), first.rows[i].shape.label());
    EXPECT_EQ(back.rows[i].engine, first.rows[i].engine);
    EXPECT_EQ(back.rows[i].status, first.rows[i].status);
    EXPECT_DOUBLE_EQ(back.rows[i].ms, first.rows[i].ms);
  }
  EXPECT_EQ(back.rows[1].timing_skip, "barrier");
  EXPECT_EQ(back.rows[1].variant_of, "rnn persistent");
  EXPECT_DOUBLE_EQ(back.rows[1].saves_us_per_step, 1.25);

  o.shapes = {tiny_shape(1), tiny_shape(3), tiny_shape(2)};
  const rnn::bench::Report more = rnn::bench::run(o, log, nullptr, &back);
  ASSERT_EQ(more.rows.size(), 3u);  // B=1 and B=2 kept, only B=3 run
  EXPECT_DOUBLE_EQ(more.rows[0].ms, first.rows[0].ms);
  EXPECT_DOUBLE_EQ(more.rows[1].ms, first.rows[1].ms);
  EXPECT_EQ(more.rows[2].shape.B, 3);
  EXPECT_NE(log.str().find("already measured (kept)"), std::string::npos);

  rnn::bench::Report elsewhere = back;
  elsewhere.device.name = "NVIDIA H200";
  try {
    rnn::bench::run(o, log, nullptr, &elsewhere);
    FAIL() << "rows of another device were extended";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), "resume");
  }
  {
    std::ofstream bad(dir.file("bad.json"));
    bad << "{\"rows\": [";
  }
  try {
    rnn::bench::read_json(dir.file("bad.json"));
    FAIL() << "a truncated file was read";
  } catch (const rnn::Error& e) {
    EXPECT_EQ(e.subject(), dir.file("bad.json"));
  }
}

TEST(BenchTable, TimeSplitShowsWhatEachPartSaved) {
  rnn::bench::Report report;
  report.device.name = "test gpu";
  report.device.gpu = true;
  auto row = [&](const std::string& engine, double us, const std::string& skip) {
    rnn::bench::Row r;
    r.shape = tiny_shape(8);
    r.engine = engine;
    r.status = "ok";
    r.us_per_step = us;
    r.ms = us * 4e-3;
    if (!skip.empty()) r.timing_skip = skip, r.variant_of = "rnn persistent", r.saves_us_per_step = 10.0 - us;
    report.rows.push_back(r);
  };
  row("rnn persistent", 10.0, "");
  row("rnn persistent -staging", 7.5, "staging");
  row("rnn persistent -epilogue", 9.0, "epilogue");
  row("rnn persistent -barrier", 6.0, "barrier");
  std::ostringstream out;
  rnn::bench::print_table(report, out);
  const std::string t = out.str();
  const size_t at = t.find("time split");
  ASSERT_NE(at, std::string::npos) << t;
  // step 10.00 = staging 2.50 + epilogue 1.00 + barrier 4.00 + rest 2.50
  const std::string line = t.substr(t.find("rnn persistent", at));
  EXPECT_NE(line.find("10.00      2.50      1.00      4.00      2.50"), std::string::npos) << t;
}

}  // namespace
