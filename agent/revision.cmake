# Run at build time (cmake -P): writes OUT with the current git revision, touching it only when
# the revision changed so that nothing relinks needlessly.
#   cmake -DSRC=<source dir> -DOUT=<file> -P revision.cmake
execute_process(COMMAND git -C ${SRC} describe --always --dirty --abbrev=12
  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR rev STREQUAL "")
  set(rev "unknown")
endif()
set(content "extern \"C\" const char edgesync_git_revision[] = \"${rev}\";\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUT} "${content}")
endif()
