// Streaming gzip (RFC 1952) through zlib, in both directions, with a hard bound on what
// decompression may produce: a small compressed body can never make us allocate or pass on more
// than `max_output` bytes (zip-bomb protection).
//
// Neither class is thread-safe; each belongs to one message being read or written.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace edgesync::net {

// Receives output in pieces; a returned error stops the (de)compression and is passed back.
using gzip_sink = std::function<boost::system::error_code(std::string_view)>;

class gzip_inflater {
public:
    // Accepts gzip (and, leniently, zlib-wrapped) data. max_output bounds the total produced.
    explicit gzip_inflater(std::uint64_t max_output);
    ~gzip_inflater();
    gzip_inflater(const gzip_inflater&) = delete;
    gzip_inflater& operator=(const gzip_inflater&) = delete;

    // Feeds compressed bytes. errc::decompressed_too_large past the bound, errc::bad_gzip on
    // corrupt data, or the sink's error.
    boost::system::error_code write(std::string_view in, const gzip_sink& out);
    // Call at the end of the input: errc::bad_gzip if the stream was cut short.
    boost::system::error_code finish();

    std::uint64_t total_out() const noexcept { return total_out_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::uint64_t max_output_;
    std::uint64_t total_out_ = 0;
    bool done_ = false;  // the gzip trailer was seen
};

class gzip_deflater {
public:
    explicit gzip_deflater(int level = 6);
    ~gzip_deflater();
    gzip_deflater(const gzip_deflater&) = delete;
    gzip_deflater& operator=(const gzip_deflater&) = delete;

    boost::system::error_code write(std::string_view in, const gzip_sink& out);
    // Flushes what is buffered so the peer can decode everything written so far (a streamed
    // response that pauses). Costs a few bytes of ratio; use at natural boundaries only.
    boost::system::error_code flush(const gzip_sink& out);
    boost::system::error_code finish(const gzip_sink& out);

private:
    boost::system::error_code run(std::string_view in, int mode, const gzip_sink& out);
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Whole-buffer helpers (tests, small bodies).
std::string gzip_compress(std::string_view in, int level = 6);
// Empty optional-like: returns false and sets ec on failure.
bool gzip_decompress(std::string_view in, std::uint64_t max_output, std::string& out, boost::system::error_code& ec);

}  // namespace edgesync::net
