# The .deb: the static binary, the systemd unit, a commented default config (a conffile) and the
# full example config as documentation. One package per build flavour; the architecture comes from
# the compiler's target triple. `cross/package.sh FLAVOUR` builds it into dist/.
# /lib/systemd/system (not /usr/lib): where Debian 12's packages ship units.
install(FILES ${CMAKE_SOURCE_DIR}/packaging/edgesync.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/edgesync.jsonc DESTINATION /etc/edgesync PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${CMAKE_SOURCE_DIR}/agent/config/edgesync.example.jsonc ${CMAKE_SOURCE_DIR}/agent/help.txt
              ${CMAKE_SOURCE_DIR}/docs/configuration.md ${CMAKE_SOURCE_DIR}/docs/operations.md DESTINATION share/doc/edgesync)

if(EDGESYNC_TARGET_TRIPLE MATCHES "^x86_64")
  set(EDGESYNC_DEB_ARCH amd64)
elseif(EDGESYNC_TARGET_TRIPLE MATCHES "^aarch64")
  set(EDGESYNC_DEB_ARCH arm64)
elseif(EDGESYNC_TARGET_TRIPLE MATCHES "gnueabihf$")
  set(EDGESYNC_DEB_ARCH armhf)
elseif(EDGESYNC_TARGET_TRIPLE MATCHES "gnueabi$")
  set(EDGESYNC_DEB_ARCH armel)
else()
  set(EDGESYNC_DEB_ARCH unknown)
endif()

# cpack installs only the edgesync target: it must not first build `all` (the test suite of a
# cross build that never ran it).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME edgesync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "edgesync maintainers <edgesync@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OpenMRS Sync 2.0 node for small machines at remote clinics")
set(CPACK_PACKAGE_DESCRIPTION "edgesync is one statically linked program that makes a small box (a Raspberry Pi or similar)
a node of an OpenMRS Sync 2.0 network: it pulls what changed from its parent, pushes its own
changes up and serves its children and local apps (atom feeds, FHIR R4, OpenMRS REST), keeping
everything in an embedded SQLite store built to survive power cuts.")
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${EDGESYNC_DEB_ARCH})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)  # static: no shared libraries
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/postinst ${CMAKE_SOURCE_DIR}/packaging/prerm ${CMAKE_SOURCE_DIR}/packaging/postrm
    ${CMAKE_SOURCE_DIR}/packaging/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
