// Catch2 printing for net results, so a failed REQUIRE(r) shows the error's name instead of
// failing to compile (boost::system::result's operator<< needs the value type printable).
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
template <>
struct StringMaker<boost::system::error_code> {
    static std::string convert(const boost::system::error_code& ec) {
        return ec ? ec.category().name() + std::string(":") + std::to_string(ec.value()) + " " + ec.message() : "no error";
    }
};
}  // namespace Catch
