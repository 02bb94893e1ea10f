// bench/report_io.cpp: the runner's report as files: JSON (written, and read
// back for a resumed run) and CSV.
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench.hpp"
#include "rnn/rnn.hpp"

namespace rnn::bench {

void write_json(const Report& report, const std::string& path) {
  nlohmann::json j;
  j["device"] = {{"name", report.device.name},
                 {"gpu", report.device.gpu},
                 {"peak_fp32_tflops", report.device.peak_fp32_tflops},
                 {"bandwidth_gbs", report.device.bandwidth_gbs},
                 {"barrier_us", report.device.barrier_us},
                 {"cudnn_version", report.device.cudnn_version}};
  j["mismatch"] = report.mismatch;
  j["rows"] = nlohmann::json::array();
  for (const Row& r : report.rows) {
    const Shape& s = r.shape;
    j["rows"].push_back({{"B", s.B}, {"H", s.H}, {"I", s.I}, {"T", s.T}, {"L", s.L}, {"D", s.directions()},
                         {"varlen", s.varlen}, {"engine", r.engine}, {"status", r.status}, {"ms", r.ms},
                         {"us_per_step", r.us_per_step}, {"tflops", r.tflops}, {"vs_cudnn", r.vs_cudnn},
                         {"floor_ms", r.floor_ms}, {"floor_kind", r.floor_kind}, {"check", r.check},
                         {"timing_skip", r.timing_skip}, {"variant_of", r.variant_of},
                         {"saves_us_per_step", r.saves_us_per_step}});
  }
  const std::string text = j.dump(1) + "\n";
  write_file_atomic(path, std::vector<uint8_t>(text.begin(), text.end()));
}

void write_csv(const Report& report, const std::string& path) {
  std::ostringstream s;
  s << "device,B,H,I,T,L,D,varlen,engine,status,ms,us_per_step,tflops,vs_cudnn,floor_ms,floor_kind,check,"
       "timing_skip,variant_of,saves_us_per_step\n";
  auto quoted = [](std::string v) {  // CSV: double the quotes inside a quoted field
    for (size_t at = v.find('"'); at != std::string::npos; at = v.find('"', at + 2)) v.insert(at, 1, '"');
    return '"' + v + '"';
  };
  for (const Row& r : report.rows) {
    const Shape& sh = r.shape;
    s << quoted(report.device.name) << ',' << sh.B << ',' << sh.H << ',' << sh.I << ',' << sh.T << ',' << sh.L << ','
      << sh.directions() << ',' << (sh.varlen ? 1 : 0) << ',' << quoted(r.engine) << ',' << quoted(r.status) << ','
      << r.ms << ',' << r.us_per_step << ',' << r.tflops << ',' << r.vs_cudnn << ',' << r.floor_ms << ','
      << r.floor_kind << ',' << r.check << ',' << r.timing_skip << ',' << quoted(r.variant_of) << ','
      << r.saves_us_per_step << '\n';
  }
  const std::string text = s.str();
  write_file_atomic(path, std::vector<uint8_t>(text.begin(), text.end()));
}

Report read_json(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  Report report;
  try {
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
    const nlohmann::json& d = j.at("device");
    report.device.name = d.at("name").get<std::string>();
    report.device.gpu = d.at("gpu").get<bool>();
    report.device.peak_fp32_tflops = d.at("peak_fp32_tflops").get<double>();
    report.device.bandwidth_gbs = d.at("bandwidth_gbs").get<double>();
    report.device.barrier_us = d.at("barrier_us").get<double>();
    report.device.cudnn_version = d.at("cudnn_version").get<std::string>();
    report.mismatch = j.at("mismatch").get<bool>();
    for (const nlohmann::json& r : j.at("rows")) {
      Row row;
      Shape& s = row.shape;
      s.B = r.at("B").get<int64_t>();
      s.H = r.at("H").get<int64_t>();
      s.I = r.at("I").get<int64_t>();
      s.T = r.at("T").get<int64_t>();
      s.L = r.at("L").get<int64_t>();
      s.bidirectional = r.at("D").get<int64_t>() == 2;
      s.varlen = r.at("varlen").get<bool>();
      row.engine = r.at("engine").get<std::string>();
      row.status = r.at("status").get<std::string>();
      row.ms = r.at("ms").get<double>();
      row.us_per_step = r.at("us_per_step").get<double>();
      row.tflops = r.at("tflops").get<double>();
      row.vs_cudnn = r.at("vs_cudnn").get<double>();
      row.floor_ms = r.at("floor_ms").get<double>();
      row.floor_kind = r.at("floor_kind").get<std::string>();
      row.check = r.at("check").get<double>();
      row.timing_skip = r.value("timing_skip", std::string());
      row.variant_of = r.value("variant_of", std::string());
      row.saves_us_per_step = r.value("saves_us_per_step", 0.0);
      report.rows.push_back(std::move(row));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("not a benchmark report written by rnn bench: ") + e.what());
  }
  return report;
}

}  // namespace rnn::bench
