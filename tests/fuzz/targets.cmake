# The fuzz targets, one <name>_fuzz.cpp each. tests/fuzz/CMakeLists.txt builds them as libFuzzer
# programs (clang, EDGESYNC_FUZZ); tests/fuzz/replay/CMakeLists.txt builds them again with
# replay_main.cpp as plain programs for ctest (fuzz_replay.<name>: the seeds and regressions).
set(EDGESYNC_FUZZ_TARGETS feed_reader http_request http_response fhir_json rest_json bundle_reader config)
