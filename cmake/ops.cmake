# Operations (src/ops): metrics and their Prometheus / JSON export, alert rules, the spdlog
# logger, snapshots (crash-consistent container, cache contents, model registry); and their tests.
# Included from the top-level CMakeLists.txt right after the belady target is defined.
find_package(spdlog REQUIRED)  # Debian: libspdlog-dev (scripts/setup-debian.sh installs it)
target_sources(belady PRIVATE
  ${PROJECT_SOURCE_DIR}/src/ops/alert_monitor.cpp
  ${PROJECT_SOURCE_DIR}/src/ops/crc32.cpp
  ${PROJECT_SOURCE_DIR}/src/ops/logging.cpp
  ${PROJECT_SOURCE_DIR}/src/ops/metrics_export.cpp
  ${PROJECT_SOURCE_DIR}/src/ops/metrics_recorder.cpp
  ${PROJECT_SOURCE_DIR}/src/ops/snapshot_file.cpp
  ${PROJECT_SOURCE_DIR}/src/ops/snapshot_info.cpp)
# Public: belady/logging.hpp hands out a spdlog::logger.
target_link_libraries(belady PUBLIC spdlog::spdlog)

if(BELADY_BUILD_TESTS)
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/ops ${PROJECT_BINARY_DIR}/tests/ops)
endif()
