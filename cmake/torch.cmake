# Optional component belady::torch (BELADY_TORCH=AUTO|ON|OFF): the tensor API (header-only,
# include/belady/torch/tensor_api.hpp) and the libtorch MLP trainer (src/torch). Detected from
# Debian's libtorch-dev (libtorch 1.13, CPU); its tests, example and belady-train's
# --trainer torch are built only with it. See docs/torch.md.
set(BELADY_TORCH AUTO CACHE STRING "Build the libtorch component belady::torch: AUTO (if libtorch is found), ON, OFF")
set_property(CACHE BELADY_TORCH PROPERTY STRINGS AUTO ON OFF)
set(BELADY_WITH_TORCH OFF)
if(NOT BELADY_TORCH STREQUAL "OFF")
  if(BELADY_TORCH STREQUAL "ON")
    find_package(Torch REQUIRED)
  else()
    find_package(Torch QUIET)
  endif()
  if(Torch_FOUND)
    set(BELADY_WITH_TORCH ON)
  endif()
endif()
message(STATUS "belady::torch: ${BELADY_WITH_TORCH} (BELADY_TORCH=${BELADY_TORCH}, libtorch ${Torch_VERSION})")

if(BELADY_WITH_TORCH)
  add_library(belady_torch ${PROJECT_SOURCE_DIR}/src/torch/trainer.cpp)
  add_library(belady::torch ALIAS belady_torch)
  target_link_libraries(belady_torch PUBLIC belady ${TORCH_LIBRARIES})
  set_target_properties(belady_torch PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME torch)
  install(TARGETS belady_torch EXPORT belady-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  if(BELADY_BUILD_TESTS)
    enable_testing()  # before add_subdirectory: a folder added earlier registers no tests
    add_subdirectory(${PROJECT_SOURCE_DIR}/tests/torch ${PROJECT_BINARY_DIR}/tests/torch)
  endif()
endif()
