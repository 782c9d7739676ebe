# Workload classification (src/workload): stream features and the built-in classifier; the
# fitting tool (bench/workload) and the tests.
target_sources(belady PRIVATE
  ${PROJECT_SOURCE_DIR}/src/workload/stream_features.cpp
  ${PROJECT_SOURCE_DIR}/src/workload/classifier.cpp)
if(BELADY_BUILD_BENCH OR BELADY_BUILD_TESTS)
  add_subdirectory(${PROJECT_SOURCE_DIR}/bench/workload ${PROJECT_BINARY_DIR}/bench/workload)
endif()
if(BELADY_BUILD_TESTS)
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/workload ${PROJECT_BINARY_DIR}/tests/workload)
endif()
