#include "net/gzip.hpp"

#include "net/error.hpp"

#include <zlib.h>

#include <array>
#include <stdexcept>

namespace edgesync::net {
using boost::system::error_code;

namespace {
constexpr std::size_t k_chunk = 16 * 1024;  // output window per zlib call: bounds our buffer

unsigned to_uint(std::size_t n) { return static_cast<unsigned>(n); }
}  // namespace

struct gzip_inflater::impl {
    z_stream z{};
    std::array<unsigned char, k_chunk> buf{};
};

gzip_inflater::gzip_inflater(std::uint64_t max_output) : impl_(std::make_unique<impl>()), max_output_(max_output) {
    // 15 + 32: zlib detects gzip or zlib headers automatically.
    if (inflateInit2(&impl_->z, 15 + 32) != Z_OK) throw std::bad_alloc();
}

gzip_inflater::~gzip_inflater() { inflateEnd(&impl_->z); }

error_code gzip_inflater::write(std::string_view in, const gzip_sink& out) {
    z_stream& z = impl_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = to_uint(in.size());
    while (z.avail_in > 0) {
        if (done_) return errc::bad_gzip;  // bytes after the gzip trailer
        z.next_out = impl_->buf.data();
        z.avail_out = to_uint(impl_->buf.size());
        int rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) done_ = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR) return errc::bad_gzip;
        std::size_t produced = impl_->buf.size() - z.avail_out;
        if (produced > 0) {
            total_out_ += produced;
            if (total_out_ > max_output_) return errc::decompressed_too_large;
            if (auto ec = out(std::string_view(reinterpret_cast<const char*>(impl_->buf.data()), produced))) return ec;
        } else if (rc == Z_BUF_ERROR) {
            break;  // no progress possible: needs more input
        }
    }
    return {};
}

error_code gzip_inflater::finish() { return done_ ? error_code{} : error_code(errc::bad_gzip); }

struct gzip_deflater::impl {
    z_stream z{};
    std::array<unsigned char, k_chunk> buf{};
};

gzip_deflater::gzip_deflater(int level) : impl_(std::make_unique<impl>()) {
    // 15 + 16: gzip wrapper; memLevel 8 is zlib's default (about 256 KiB of state).
    if (deflateInit2(&impl_->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
}

gzip_deflater::~gzip_deflater() { deflateEnd(&impl_->z); }

error_code gzip_deflater::run(std::string_view in, int mode, const gzip_sink& out) {
    z_stream& z = impl_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = to_uint(in.size());
    for (;;) {
        z.next_out = impl_->buf.data();
        z.avail_out = to_uint(impl_->buf.size());
        int rc = deflate(&z, mode);
        if (rc == Z_STREAM_ERROR) return errc::bad_gzip;
        std::size_t produced = impl_->buf.size() - z.avail_out;
        if (produced > 0) {
            if (auto ec = out(std::string_view(reinterpret_cast<const char*>(impl_->buf.data()), produced))) return ec;
        }
        if (mode == Z_FINISH) {
            if (rc == Z_STREAM_END) break;
            continue;
        }
        // zlib did not fill the window: all input is consumed and the flush (if any) done.
        if (z.avail_out != 0) break;
    }
    return {};
}

error_code gzip_deflater::write(std::string_view in, const gzip_sink& out) { return in.empty() ? error_code{} : run(in, Z_NO_FLUSH, out); }
error_code gzip_deflater::flush(const gzip_sink& out) { return run({}, Z_SYNC_FLUSH, out); }
error_code gzip_deflater::finish(const gzip_sink& out) { return run({}, Z_FINISH, out); }

std::string gzip_compress(std::string_view in, int level) {
    std::string out;
    gzip_deflater d(level);
    auto append = [&](std::string_view s) {
        out.append(s);
        return error_code{};
    };
    d.write(in, append);
    d.finish(append);
    return out;
}

bool gzip_decompress(std::string_view in, std::uint64_t max_output, std::string& out, error_code& ec) {
    out.clear();
    gzip_inflater inf(max_output);
    ec = inf.write(in, [&](std::string_view s) {
        out.append(s);
        return error_code{};
    });
    if (!ec) ec = inf.finish();
    return !ec;
}

}  // namespace edgesync::net
