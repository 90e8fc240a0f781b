// Catch2 printing for results and error codes, so a failed REQUIRE(r) shows the error's name
// instead of failing to compile (boost::system::result's operator<< needs a printable value).
#pragma once

#include "net/http_client.hpp"

#include <catch2/catch.hpp>

namespace Catch {
template <>
struct StringMaker<boost::system::result<edgesync::net::client_response>> {
    static std::string convert(const boost::system::result<edgesync::net::client_response>& r) {
        if (r) return "HTTP " + std::to_string(r->status) + " (" + std::to_string(r->body.size()) + " body bytes)";
        return "error: " + r.error().message();
    }
};
// Any other result: whether it holds a value, or which error.
template <class T>
struct StringMaker<boost::system::result<T>> {
    static std::string convert(const boost::system::result<T>& r) { return r ? "a value" : "error: " + r.error().message(); }
};
template <>
struct StringMaker<boost::system::error_code> {
    static std::string convert(const boost::system::error_code& ec) {
        return ec ? ec.category().name() + std::string(":") + std::to_string(ec.value()) + " " + ec.message() : "no error";
    }
};
}  // namespace Catch
