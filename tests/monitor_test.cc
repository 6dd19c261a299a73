// The monitor's pure parts: the Clone pattern's bookkeeping of event
// numbers (what is news, what a picture already holds, where a gap is) and
// the live screen drawn from a picture and the events since.
#include <gtest/gtest.h>

#include "bus/event_sequencer.h"
#include "bus/monitor_view.h"

namespace dfs {
namespace {

TEST(EventSequencerTest, OnJoiningOnlyEventsAfterThePictureAreShown) {
  EventSequencer s;
  s.on_snapshot(7, 10);
  EXPECT_FALSE(s.on_event(7, 9).show);  // published before the picture was taken
  EXPECT_FALSE(s.on_event(7, 10).show);
  auto v = s.on_event(7, 11);
  EXPECT_TRUE(v.show);
  EXPECT_TRUE(v.apply);
  EXPECT_FALSE(v.need_snapshot);
  EXPECT_EQ(v.missed, 0u);
  EXPECT_FALSE(s.on_event(7, 11).show);  // a repeat
  EXPECT_EQ(s.gaps(), 0u);
}

TEST(EventSequencerTest, ALaterPictureAheadOfTheBusHidesNoEventButIsNotUndone) {
  EventSequencer s;
  s.on_snapshot(7, 10);
  s.on_snapshot(7, 13);  // a refresh while 11..13 were still on their way
  for (uint64_t n : {11, 12, 13}) {
    auto v = s.on_event(7, n);
    EXPECT_TRUE(v.show) << n;    // every event is shown once
    EXPECT_FALSE(v.apply) << n;  // but the picture already holds it
    EXPECT_EQ(v.missed, 0u) << n;
  }
  EXPECT_TRUE(s.on_event(7, 14).apply);
}

TEST(EventSequencerTest, ASkippedNumberIsAGapThatAsksForAFreshPicture) {
  EventSequencer s;
  s.on_snapshot(7, 10);
  auto v = s.on_event(7, 14);
  EXPECT_TRUE(v.show);
  EXPECT_TRUE(v.need_snapshot);
  EXPECT_EQ(v.missed, 3u);  // 11, 12 and 13
  EXPECT_EQ(s.gaps(), 1u);
  s.on_snapshot(7, 16);  // the fresh picture; 15 and 16 are still on their way
  for (uint64_t n : {15, 16}) {
    auto v = s.on_event(7, n);
    EXPECT_TRUE(v.show) << n;
    EXPECT_FALSE(v.apply) << n;
  }
  EXPECT_FALSE(s.on_event(7, 12).show);  // one of the missed, arriving late: not news now
  auto next = s.on_event(7, 17);
  EXPECT_TRUE(next.show);
  EXPECT_TRUE(next.apply);
  EXPECT_FALSE(next.need_snapshot);
}

TEST(EventSequencerTest, ANewLeadersEpochStartsAfreshWithAPicture) {
  EventSequencer s;
  s.on_snapshot(7, 10);
  auto v = s.on_event(9, 1);  // the new leader's first event
  EXPECT_TRUE(v.show);
  EXPECT_TRUE(v.need_snapshot);
  EXPECT_EQ(v.missed, 0u);
  auto late = s.on_event(11, 4);  // another leader, its first three events lost
  EXPECT_TRUE(late.show);
  EXPECT_EQ(late.missed, 3u);
  EXPECT_EQ(s.gaps(), 1u);
  // A picture from a master that does not lead changes nothing.
  s.on_snapshot(0, 0);
  EXPECT_EQ(s.epoch(), 11u);
  EXPECT_FALSE(s.on_event(11, 4).show);
}

TEST(EventSequencerTest, BeforeAnyPictureTheFirstEventIsNoGap) {
  EventSequencer s;
  auto v = s.on_event(5, 42);
  EXPECT_TRUE(v.show);
  EXPECT_TRUE(v.need_snapshot);
  EXPECT_EQ(v.missed, 0u);
}

ClusterStatusReply picture() {
  ClusterStatusReply st;
  st.master_id = "m2";
  st.term = 4;
  WorkerInfo w1;
  w1.id = "w1";
  w1.state = "live";
  w1.capacity = 1000;
  w1.used = 250;
  w1.writes = 3;
  WorkerInfo w2 = w1;
  w2.id = "w2";
  st.workers = {w1, w2};
  st.repair.queued = 6;
  st.repair.running = 2;
  return st;
}

TEST(MonitorViewTest, TheScreenShowsWorkersLoadSpaceAndRepair) {
  MonitorView view;
  view.on_status(picture());
  std::string screen = view.render(200);
  EXPECT_NE(screen.find("leader m2 (term 4)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("[#####...............]  25%"), std::string::npos) << screen;
  EXPECT_NE(screen.find("8 under-replicated (6 waiting, 2 copying)"), std::string::npos);
  EXPECT_NE(screen.find("[##########..............................]"), std::string::npos);
}

TEST(MonitorViewTest, EventsChangeWorkersAtOnceAndOnlyTheLatestAreKept) {
  MonitorView view(3);
  view.on_status(picture());
  view.on_event(ClusterEvent{"worker.dead", "w2", "", 0, 1, 7});
  view.on_event(ClusterEvent{"worker.draining", "w1", "", 0, 2, 7});
  view.note("connected tcp://127.0.0.1:7403");
  view.on_event(ClusterEvent{"repair.started", "3 chunks under-replicated", "", 0, 3, 7});
  view.on_event(ClusterEvent{"worker.live", "w2", "", 0, 1, 7}, /*apply=*/false);  // older
  std::string screen = view.render(200);
  EXPECT_NE(screen.find("w2         dead"), std::string::npos) << screen;
  EXPECT_NE(screen.find("w1         draining"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("worker.dead w2"), std::string::npos) << "the oldest line is dropped";
  EXPECT_NE(screen.find("repair.started"), std::string::npos);
  // Narrow terminals get cut lines, never wrapped ones.
  std::string narrow = view.render(40);
  for (size_t start = 0, end; (end = narrow.find('\n', start)) != std::string::npos;
       start = end + 1) {
    EXPECT_LE(end - start, 40u) << narrow.substr(start, end - start);
  }
}

TEST(MonitorViewTest, BarsStayInsideTheirCells) {
  EXPECT_EQ(bar(0, 0, 4), "[....]");
  EXPECT_EQ(bar(5, 10, 4), "[##..]");
  EXPECT_EQ(bar(20, 10, 4), "[####]");  // more than whole (a stale figure) fills, no more
  EXPECT_EQ(clock_time(3723000), "01:02:03");
}

}  // namespace
}  // namespace dfs
