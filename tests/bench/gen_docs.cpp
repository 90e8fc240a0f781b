// gen_docs: writes the documents sync_bench seeds its parent with (bench::resource(0..N-1): generated
// Patients, Encounters and Observations of 1–3 KB, "bench-<n>"), one JSON object per line, so that
// other systems (the PouchDB comparison in tests/bench/pouchdb/) replicate exactly the same bytes.
//
//   gen_docs N OUT.ndjson        (OUT "-" writes to stdout)
#include "tests/bench/generated.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) return std::fprintf(stderr, "usage: gen_docs N OUT.ndjson\n"), 2;
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || argv[1][0] == '-')
        return std::fprintf(stderr, "gen_docs: N must be a non-negative integer, got %s\n", argv[1]), 2;
    const bool to_stdout = std::strcmp(argv[2], "-") == 0;
    std::FILE* out = to_stdout ? stdout : std::fopen(argv[2], "wb");
    if (!out) return std::fprintf(stderr, "gen_docs: cannot open %s: %s\n", argv[2], std::strerror(errno)), 1;
    std::uint64_t bytes = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string line = edgesync::bench::resource(i).body;
        line += '\n';
        bytes += line.size();
        if (std::fwrite(line.data(), 1, line.size(), out) != line.size())
            return std::fprintf(stderr, "gen_docs: write failed: %s\n", std::strerror(errno)), 1;
    }
    if (!to_stdout ? std::fclose(out) != 0 : std::fflush(out) != 0)
        return std::fprintf(stderr, "gen_docs: write failed: %s\n", std::strerror(errno)), 1;
    std::fprintf(stderr, "gen_docs: %llu documents, %llu bytes (with newlines)\n", n, static_cast<unsigned long long>(bytes));
    return 0;
}
