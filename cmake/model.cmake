# The model registry and model files (src/model), their tests and the swap benchmark.
# Included from the top-level CMakeLists.txt right after the belady target is defined.
target_sources(belady PRIVATE
  ${PROJECT_SOURCE_DIR}/src/model/registry.cpp
  ${PROJECT_SOURCE_DIR}/src/model/model_io.cpp
  ${PROJECT_SOURCE_DIR}/src/model/ensemble.cpp)

if(BELADY_BUILD_TESTS)
  # ctest only sees tests added after enable_testing() in the top directory; calling it here
  # (again) is harmless and keeps this file independent of where the top level calls it.
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/model ${PROJECT_BINARY_DIR}/tests/model)
endif()
if(BELADY_BUILD_BENCH)
  add_subdirectory(${PROJECT_SOURCE_DIR}/bench/swap ${PROJECT_BINARY_DIR}/bench/swap)
endif()
