// Reads a FHIR Bundle as it arrives, with Boost.JSON's SAX-style basic_parser: fed the body in
// pieces, it hands each element of `entry` to a callback as soon as that element's closing brace
// is read, and holds only that one entry as a json::value. Memory is bounded by the largest entry
// (limited), not by the Bundle. The top-level `resourceType`, `type`, `total` and the `next` link
// are kept, in whatever order the keys come.
//
// Used for batch/transaction requests (the server) and searchset / batch-response answers (the
// sync client, fed straight from http_client::request_stream).
//
// Not thread-safe; one reader per document. The callback runs inside write()/finish().
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace edgesync::api {

enum class bundle_errc {
    not_an_object = 1,   // the document is not a JSON object
    bad_entry_array,     // `entry` is not an array of objects
    too_many_entries,    // more than limits.max_entries
    entry_too_large,     // one entry beyond limits.max_entry_bytes
    not_a_bundle,        // resourceType is missing or not "Bundle" (reported by finish())
};
const boost::system::error_category& bundle_category() noexcept;
inline boost::system::error_code make_error_code(bundle_errc e) noexcept { return {static_cast<int>(e), bundle_category()}; }

struct bundle_limits {
    std::size_t max_depth = 64;                   // JSON nesting, the Bundle's own levels included
    std::size_t max_entries = 100'000;
    std::uint64_t max_entry_bytes = 4 * 1024 * 1024;  // text of one entry (strings, keys, ~8 per scalar)
};

class bundle_reader {
public:
    // `index` counts entries from 0. An error returned stops the read and is what write() returns.
    using entry_handler = std::function<boost::system::error_code(boost::json::value entry, std::size_t index)>;

    explicit bundle_reader(entry_handler on_entry, bundle_limits limits = {});
    ~bundle_reader();
    bundle_reader(const bundle_reader&) = delete;
    bundle_reader& operator=(const bundle_reader&) = delete;

    // The next piece of the body. Errors are JSON syntax errors (boost::json::error), bundle_errc,
    // or the handler's.
    boost::system::error_code write(std::string_view piece);
    // The body has ended: an error if the document is incomplete or is not a Bundle.
    boost::system::error_code finish();

    const std::string& resource_type() const noexcept;
    const std::string& type() const noexcept;  // "batch", "searchset", ... ("" if absent)
    std::optional<std::int64_t> total() const noexcept;
    const std::string& next_link() const noexcept;  // link[relation=next].url, "" if none
    std::size_t entries() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace edgesync::api

template <>
struct boost::system::is_error_code_enum<edgesync::api::bundle_errc> : std::true_type {};
