// What dfs-monitor's live screen shows, kept from what the bus says: the
// latest cluster state fetched from the leader (workers with their state,
// load and space; repair), the events since, and the monitor's own notes
// (connections made and lost, gaps). render() draws it as text; the driver
// (monitor_main.cc) redraws it in place. No sockets, no clock.
#pragma once

#include <cstddef>
#include <deque>
#include <string>

#include "codec/messages.h"

namespace dfs {

class MonitorView {
 public:
  explicit MonitorView(size_t max_lines = 12) : max_lines_(max_lines) {}

  // A fresh picture of the cluster (the Clone pattern's snapshot).
  void on_status(const ClusterStatusReply& status);
  // An event from the bus, listed with the recent ones. If `apply` (it is
  // newer than the last picture), workers' states change at once, before the
  // next picture confirms them.
  void on_event(const ClusterEvent& event, bool apply = true);
  // A line of the monitor's own (a connection, a gap), shown with the events.
  void note(std::string line);

  // The screen, at most `width` columns wide.
  std::string render(size_t width) const;

 private:
  void remember(std::string line);

  size_t max_lines_;
  bool have_status_ = false;
  ClusterStatusReply status_;
  std::deque<std::string> lines_;  // newest last
};

// "[#####.....]": `part` of `whole` in `width` cells (empty when whole is 0).
std::string bar(uint64_t part, uint64_t whole, size_t width);
// "12:04:05" in UTC, from milliseconds since the epoch.
std::string clock_time(int64_t time_ms);

}  // namespace dfs
