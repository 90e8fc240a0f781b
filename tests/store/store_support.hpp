// Shared by the store tests and the kill-test writer: sample resources and a store opened in a
// temporary folder, with a blocking way to run a store operation from a test.
#pragma once

#include "store/store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdint>
#include <future>
#include <string>

namespace edgesync::test {

// FNV-1a of the text as 16 hex digits: a stand-in for the canonical fingerprint (issue 7 makes
// the real one); equal bodies give equal fingerprints, which is all the store relies on.
inline std::string fingerprint_of(const std::string& text) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    static const char* digits = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = digits[h & 15];
    return out;
}

// The uuid of sample resource n (stable, so a restarted writer can name it again).
inline std::string sample_uuid(std::uint64_t n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-0000-4000-8000-%012llx", static_cast<unsigned long long>(n >> 32),
                  static_cast<unsigned long long>(n & 0xffffffffffffull));
    return buf;
}

// A FHIR Patient of about `size` bytes; `rev` changes the content (and so the fingerprint).
inline std::string sample_patient_json(std::uint64_t n, int rev = 0, std::size_t size = 2048) {
    std::string body = "{\"resourceType\":\"Patient\",\"id\":\"" + sample_uuid(n) +
                       "\",\"active\":true,\"name\":[{\"family\":\"Family" + std::to_string(n) +
                       "\",\"given\":[\"Given" + std::to_string(rev) + "\"]}],\"text\":{\"div\":\"";
    std::uint64_t x = n * 2654435761u + static_cast<std::uint64_t>(rev);
    while (body.size() + 4 < size) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        body += static_cast<char>('a' + (x >> 59) % 26);
    }
    return body + "\"}}";
}

inline store::resource_write sample_write(std::uint64_t n, int rev = 0, std::size_t size = 2048) {
    store::resource_write w;
    w.category = "patient";
    w.key = {"fhir", "Patient", sample_uuid(n)};
    w.body = sample_patient_json(n, rev, size);
    w.fingerprint = fingerprint_of(w.body);
    w.origin_node = "test-node";
    return w;
}

inline store::event_spec sample_event(const store::resource_key& k) {
    return {"Patient", "{\"fhir\":\"/ws/fhir2/R4/Patient/" + k.uuid + "\"}", "", ""};
}

// The feed the sample pulled changes come from.
inline constexpr const char* k_sample_feed = "http://parent/ws/atomfeed/patient/recent";

// Sample resource n as pulled from "parent": resource, event and the marker naming entry "e<n>".
inline store::pulled_change sample_pulled(std::uint64_t n, std::size_t size = 2048) {
    store::pulled_change c;
    c.write = sample_write(n, 0, size);
    c.write.origin_node = c.write.arrived_from = "parent";
    c.event = sample_event(c.write.key);
    c.peer = "parent";
    c.feed_marker = {k_sample_feed, "e" + std::to_string(n), "http://parent/ws/atomfeed/patient/1"};
    return c;
}

// Runs a store job from a plain thread (tests, the writer process): the completion runs on a
// private io_context's thread pool equivalent (use_future), the caller blocks until it is done.
template <class T, class F>
store::result<T> write_sync(store::store& s, F f) {
    return s.write<T>(std::move(f), boost::asio::use_future).get();
}
template <class T, class F>
store::result<T> read_sync(store::store& s, F f) {
    return s.read<T>(std::move(f), boost::asio::use_future).get();
}

inline store::result<store::write_result> put_sync(store::store& s, const store::resource_write& w) {
    return write_sync<store::write_result>(s, [w](store::write_context& c) {
        return store::write_resource(c.db(), w, sample_event(w.key), c.new_uuid(), c.now());
    });
}

}  // namespace edgesync::test
