#include "client/cli/progress.h"

#include <cstdio>

#include "bus/units.h"

namespace dfs {

ProgressBar::ProgressBar(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_; })) draw(false);
  });
}

ProgressBar::~ProgressBar() { finish(); }

ProgressFn ProgressBar::callback() {
  return [this](int64_t n) { done_.fetch_add(n); };
}

void ProgressBar::finish() {
  if (!enabled_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  draw(true);
  std::fputc('\n', stderr);
}

void ProgressBar::draw(bool final) {
  auto done = static_cast<uint64_t>(std::max<int64_t>(0, done_.load()));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string line = "\r" + label_ + "  " + human_size(done);
  if (total_ > 0) {
    line += " / " + human_size(total_);
    int pct = static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total_));
    const int width = 24;
    int fill = std::min(width, pct * width / 100);
    line += "  [" + std::string(fill, '#') + std::string(width - fill, '.') + "] " +
            std::to_string(pct) + "%";
  }
  line += "  " + human_size(static_cast<uint64_t>(rate)) + "/s" + (final ? "" : "   ");
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace dfs
