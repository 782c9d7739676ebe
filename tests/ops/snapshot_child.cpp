// A process for the crash test (cache_snapshot_test.cpp): saves snapshot A of a known cache at
// PATH, then changes the cache and saves over PATH again, and
//   "self":  raises SIGKILL from the progress callback halfway through the second save;
//   "loop":  keeps saving over PATH until killed from outside (it prints "saving" first).
// The test then loads PATH and expects A (self) or a complete A or B (loop), never a mix.
#include <belady/belady.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ops/snapshot_workload.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s self|loop PATH\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const char* path = argv[2];
  auto c = belady_test::snapshot_cache();
  belady_test::fill_generation(c, 0);
  c.save_snapshot(path);
  belady_test::fill_generation(c, 1);
  if (mode == "self") {
    belady::snapshot_options o;
    o.progress = [](std::uint64_t written, std::uint64_t total) {
      if (written >= total / 2) std::raise(SIGKILL);
    };
    c.save_snapshot(path, o);
    return 3;  // not reached: the save above kills this process
  }
  std::printf("saving\n");
  std::fflush(stdout);
  for (;;) c.save_snapshot(path);
}
