# Online learning (src/online): sampled-event labelling, the warm-started trainer, miniature
# simulations, significance tests, promotion and rollback; and their tests.
# Included from the top-level CMakeLists.txt right after the belady target is defined.
target_sources(belady PRIVATE
  ${PROJECT_SOURCE_DIR}/src/online/learner.cpp
  ${PROJECT_SOURCE_DIR}/src/online/mini_sim.cpp
  ${PROJECT_SOURCE_DIR}/src/online/sgd.cpp
  ${PROJECT_SOURCE_DIR}/src/online/stats.cpp)
# The library's own headers under src/ (online/..., core/...) are private.
target_include_directories(belady PRIVATE ${PROJECT_SOURCE_DIR}/src)

if(BELADY_BUILD_TESTS)
  enable_testing()
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/online ${PROJECT_BINARY_DIR}/tests/online)
endif()
