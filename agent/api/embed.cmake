# Turns a text file into a C++ source defining `const std::string_view <NAMESPACE>::<NAME>` with
# its bytes (cmake -DIN=file -DOUT=file.cpp -DNAME=symbol [-DNAMESPACE=ns] -P embed.cmake). Run at build time, so an edit
# of the file rebuilds only this one source.
if(NOT NAMESPACE)
  set(NAMESPACE edgesync::api)
endif()
file(READ "${IN}" text)
string(FIND "${text}" ")edgesync_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )edgesync_embed\"")
endif()
set(src "// Generated from ${IN} by embed.cmake: do not edit.\n#include <string_view>\nnamespace ${NAMESPACE} {\nextern const std::string_view ${NAME};\nconst std::string_view ${NAME} = R\"edgesync_embed(${text})edgesync_embed\";\n}  // namespace ${NAMESPACE}\n")
# Only rewrite when the content changed, so an unchanged page never recompiles.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL src)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${src}")
