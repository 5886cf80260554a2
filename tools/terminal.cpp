#include "terminal.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace vramsnap::cli {

std::string human_bytes(uint64_t b) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024.0 && u < 5) { v /= 1024.0; ++u; }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.2f} {}", v, units[u]);
}

std::string format_shape(const std::vector<uint64_t>& shape) {
  if (shape.empty()) return "-";
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }
bool color_enabled() { return ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr; }

Table::Table(std::vector<std::string> header, std::vector<bool> right_align)
    : header_(std::move(header)), right_(std::move(right_align)) {}
void Table::add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
void Table::separator() { rows_.emplace_back(); }

namespace {
// Columns a cell takes: code points, not bytes, so UTF-8 names line up.
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}
}  // namespace

std::string Table::render() const {
  std::vector<size_t> w(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], display_width(r[i]));
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string& cell = i < r.size() ? r[i] : std::string();
      std::string pad(w[i] - std::min(w[i], display_width(cell)), ' ');
      out += (right_[i] ? pad + cell : cell + (i + 1 < w.size() ? pad : ""));
      if (i + 1 < w.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  size_t total = 0;
  for (auto x : w) total += x + 2;
  std::string out = line(header_);
  for (const auto& r : rows_) out += r.empty() ? std::string(total > 2 ? total - 2 : 0, '-') + "\n" : line(r);
  return out;
}

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

ProgressBar::ProgressBar(std::string label, bool quiet)
    : label_(std::move(label)), active_(!quiet && stderr_is_tty()), start_(now_s()) {}
ProgressBar::~ProgressBar() { finish(); }

ProgressFn ProgressBar::callback() {
  if (!active_) return {};
  return [this](const Progress& p) { draw(p); };
}

void ProgressBar::draw(const Progress& p) {
  // Quiet for quick jobs: a bar that flashes for 100 ms is noise.
  const double elapsed = now_s() - start_;
  if (elapsed < 0.3 || p.bytes_total == 0) return;
  const double frac = static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
  const double rate = static_cast<double>(p.bytes_done) / elapsed;
  fmt::print(stderr, "\r{} [{}{}] {:5.1f}%  {} / {}  {}/s ", label_, std::string(filled, '#'),
             std::string(kWidth - filled, ' '), frac * 100.0, human_bytes(p.bytes_done), human_bytes(p.bytes_total),
             human_bytes(static_cast<uint64_t>(rate)));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

void print_json(const std::string& dumped) { fmt::print("{}\n", dumped); }

}  // namespace vramsnap::cli
