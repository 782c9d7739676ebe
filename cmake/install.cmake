# install(EXPORT) + a package config so that find_package(belady) works after install.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(TARGETS belady EXPORT belady-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/belady DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT belady-targets NAMESPACE belady:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/belady)
set(BELADY_CONFIG_WITH_CUDA ${BELADY_WITH_CUDA})
set(BELADY_CONFIG_WITH_TORCH ${BELADY_WITH_TORCH})
configure_package_config_file(cmake/beladyConfig.cmake.in
  ${PROJECT_BINARY_DIR}/beladyConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/belady)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/beladyConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/beladyConfig.cmake ${PROJECT_BINARY_DIR}/beladyConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/belady)
