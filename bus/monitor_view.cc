#include "bus/monitor_view.h"

#include <cstdio>
#include <ctime>

#include "bus/units.h"

namespace dfs {

std::string bar(uint64_t part, uint64_t whole, size_t width) {
  size_t filled = 0;
  if (whole > 0) {
    filled = static_cast<size_t>(static_cast<double>(std::min(part, whole)) /
                                     static_cast<double>(whole) * static_cast<double>(width) +
                                 0.5);
  }
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

std::string clock_time(int64_t time_ms) {
  std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

void MonitorView::on_status(const ClusterStatusReply& status) {
  status_ = status;
  have_status_ = true;
}

void MonitorView::on_event(const ClusterEvent& event, bool apply) {
  remember(clock_time(event.time_ms) + " " + event.kind + " " + event.subject +
           (event.detail.empty() ? "" : " " + event.detail));
  if (!apply || event.kind.rfind("worker.", 0) != 0) return;
  const std::string what = event.kind.substr(7);
  for (auto& w : status_.workers) {
    if (w.id != event.subject) continue;
    if (what == "live" || what == "suspect" || what == "dead") w.state = what;
    if (what == "draining") w.draining = true;
    if (what == "recommissioned") w.draining = false;
    if (what == "drained") w.recorded_chunks = 0;
  }
}

void MonitorView::note(std::string line) { remember(std::move(line)); }

void MonitorView::remember(std::string line) {
  lines_.push_back(std::move(line));
  while (lines_.size() > max_lines_) lines_.pop_front();
}

std::string MonitorView::render(size_t width) const {
  std::string out;
  auto line = [&](std::string s) {
    if (s.size() > width) s.resize(width);
    out += s + "\n";
  };
  char buf[256];
  if (!have_status_) {
    line("dfs-monitor: waiting for the leader's answer...");
  } else {
    const ClusterStatusReply& s = status_;
    std::snprintf(buf, sizeof buf, "dfs cluster: leader %s (term %llu), %llu files, %llu garbage",
                  s.master_id.c_str(), static_cast<unsigned long long>(s.term),
                  static_cast<unsigned long long>(s.files),
                  static_cast<unsigned long long>(s.garbage_chunks));
    line(buf);
    line("");
    std::snprintf(buf, sizeof buf, "%-10s %-9s %-7s %-7s %-22s %s", "WORKER", "STATE", "WRITES",
                  "COPIES", "USED", "CHUNKS");
    line(buf);
    for (const auto& w : s.workers) {
      std::string state = w.draining ? (w.safe_to_stop() ? "drained" : "draining") : w.state;
      if (w.draining && w.state != "live") state += "/" + w.state;
      uint64_t pct = w.capacity ? w.used * 100 / w.capacity : 0;
      std::snprintf(buf, sizeof buf, "%-10s %-9s %-7u %-7u %s %3llu%% %9s of %-9s %llu",
                    w.id.c_str(), state.c_str(), w.writes, w.copies,
                    bar(w.used, w.capacity, 20).c_str(), static_cast<unsigned long long>(pct),
                    human_size(w.used).c_str(), human_size(w.capacity).c_str(),
                    static_cast<unsigned long long>(w.chunk_count));
      line(buf);
    }
    const RepairStatus& r = s.repair;
    line("");
    std::snprintf(
        buf, sizeof buf,
        "repair: %llu under-replicated (%llu waiting, %llu copying), %llu lost; "
        "%llu copies done, %s/s",
        static_cast<unsigned long long>(r.queued + r.running),
        static_cast<unsigned long long>(r.queued), static_cast<unsigned long long>(r.running),
        static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.copied),
        human_size(r.bytes_per_second).c_str());
    line(buf);
    line("queue  " + bar(r.running, r.queued + r.running, 40) + " copying of all under-replicated");
  }
  line("");
  line("recent events:");
  for (const auto& l : lines_) line("  " + l);
  return out;
}

}  // namespace dfs
