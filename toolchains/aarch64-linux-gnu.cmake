# Cross toolchain: aarch64-linux-gnu — 64-bit Raspberry Pi OS on Pi 3/4/5 and Zero 2 W.
#
# Compilers are Debian's g++-aarch64-linux-gnu (GCC 12). Target libraries come from a "debroot": target -dev
# packages downloaded and unpacked by cross/debroot.sh (no dpkg multiarch, whose armhf security
# index is broken on our mirror). Only their .a archives are usable, so builds are static.
# libc and libstdc++ come from the cross compiler's own /usr/aarch64-linux-gnu; no --sysroot is needed.
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake -DDEBROOT=$(cross/debroot.sh ...) ...
# (cross/build.sh does all of this.)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER   aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Forward DEBROOT into try_compile() projects, which re-read this file.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES DEBROOT)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
if(DEFINED DEBROOT)
  list(PREPEND CMAKE_FIND_ROOT_PATH ${DEBROOT})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Catch2 v2 is header-only and architecture-independent: take the host package's CMake scripts.
# (Its libCatch2WithMain.a is x86-64 only; the tests bring their own main.)
set(Catch2_DIR /usr/lib/cmake/Catch2 CACHE PATH "Catch2 v2 CMake package (host, header-only)")

# No binfmt_misc in our containers: ctest and catch_discover_tests must call qemu explicitly.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-aarch64-static;-cpu;cortex-a53)
