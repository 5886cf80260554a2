#pragma once
// Human output: byte sizes, tables, and a progress bar on stderr that shows
// only when stderr is a terminal and --quiet is off.
#include <cstdint>
#include <string>
#include <vector>

#include "vramsnap/capture.hpp"

namespace vramsnap::cli {

std::string human_bytes(uint64_t bytes);  // "1.50 GiB"
std::string format_shape(const std::vector<uint64_t>& shape);  // "[4096, 4096]" or "-"
bool stderr_is_tty();
bool color_enabled();  // stdout is a TTY and NO_COLOR unset

// Left/right aligned text table.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right_align);
  void add(std::vector<std::string> row);
  void separator();
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;  // empty row = separator
};

// A progress bar on stderr; inert when not a TTY or quiet.
class ProgressBar {
 public:
  ProgressBar(std::string label, bool quiet);
  ~ProgressBar();  // clears the line
  ProgressFn callback();
  void finish();

 private:
  void draw(const Progress& p);
  std::string label_;
  bool active_;
  bool drawn_ = false;
  double start_;
};

// RFC 8259 JSON with 2-space indent to stdout, newline-terminated.
void print_json(const std::string& dumped);

}  // namespace vramsnap::cli
