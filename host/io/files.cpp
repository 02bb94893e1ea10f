// host/io/files.cpp: whole-file reads and atomic (temporary + rename) writes.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "rnn/error.hpp"
#include "rnn/io.hpp"

namespace rnn {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string temporary_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

// Writes bytes to `tmp`; returns "" on success, else what went wrong.
std::string write_whole(const std::string& tmp, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return "cannot create file: " + errno_text(errno);
  const size_t n = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
  const int write_err = (n != bytes.size()) ? errno : 0;
  const bool close_ok = std::fclose(f) == 0;
  if (n != bytes.size()) return "write failed: " + errno_text(write_err);
  if (!close_ok) return "write failed: " + errno_text(errno);
  return "";
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw Error(path, "cannot open file: no such file");
  if (!std::filesystem::is_regular_file(status)) throw Error(path, "not a regular file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(path, "cannot open file: " + errno_text(errno));
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    bytes.insert(bytes.end(), buf, buf + n);
    if (n < sizeof buf) break;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw Error(path, "read failed");
  return bytes;
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_files_atomic({{path, bytes}});
}

void write_files_atomic(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& files) {
  std::vector<std::string> temps;
  auto remove_temps = [&temps] {
    for (const auto& t : temps) std::remove(t.c_str());
  };
  for (const auto& [path, bytes] : files) {
    if (path.empty()) {
      remove_temps();
      throw Error("output", "empty file name");
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      remove_temps();
      throw Error(path, "is a directory");
    }
    const std::string tmp = temporary_name(path);
    const std::string err = write_whole(tmp, bytes);
    if (!err.empty()) {
      std::remove(tmp.c_str());
      remove_temps();
      throw Error(path, err);
    }
    temps.push_back(tmp);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (std::rename(temps[i].c_str(), files[i].first.c_str()) != 0) {
      const int err = errno;
      for (size_t j = i; j < temps.size(); ++j) std::remove(temps[j].c_str());
      throw Error(files[i].first, "cannot rename into place: " + errno_text(err));
    }
  }
}

void check_writable(const std::string& path) {
  if (path.empty()) throw Error("output", "empty file name");
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path, "is a directory");
  const std::string tmp = temporary_name(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    const int err = errno;
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    if (err == ENOENT && !folder.empty() && !std::filesystem::exists(folder, ec))
      throw Error(path, "cannot write here: folder " + folder.string() + " does not exist");
    throw Error(path, "cannot write here: " + errno_text(err));
  }
  std::fclose(f);
  std::remove(tmp.c_str());
}

}  // namespace rnn
