#include "net/url.hpp"

#include <catch2/catch.hpp>

using namespace edgesync::net;

TEST_CASE("absolute URLs parse into origin and target", "[url]") {
    auto u = parse_url("HTTPS://District.Example.org/openmrs");
    REQUIRE(u);
    CHECK(u->scheme == "https");
    CHECK(u->host == "district.example.org");
    CHECK(u->port == 443);
    CHECK(u->target == "/openmrs");
    CHECK(u->origin() == "https://district.example.org:443");
    CHECK(u->to_string() == "https://district.example.org/openmrs");

    auto v = parse_url("http://127.0.0.1:8081?x=1");
    REQUIRE(v);
    CHECK(v->port == 8081);
    CHECK(v->target == "/?x=1");
    CHECK(v->to_string() == "http://127.0.0.1:8081/?x=1");

    auto w = parse_url("http://[::1]:9000/ws");
    REQUIRE(w);
    CHECK(w->host == "::1");
    CHECK(w->origin() == "http://[::1]:9000");
}

TEST_CASE("malformed URLs are rejected with a reason", "[url]") {
    struct c {
        const char* text;
        const char* why;
    };
    for (auto [text, why] : {c{"ftp://h/", "scheme must be http or https"}, c{"//h/", "expected an absolute URL"},
                             c{"http:///x", "missing host"}, c{"http://h:0/", "bad port"}, c{"http://h:70000/", "bad port"},
                             c{"http://h:/", "bad port"}, c{"http://u:p@h/", "credentials are not allowed"},
                             c{"http://h/#frag", "fragments are not allowed"}, c{"http://h h/", "invalid character"},
                             c{"http://h/a b", "spaces or control"}, c{"http://[::1/", "unclosed"}}) {
        std::string reason;
        INFO(text);
        CHECK_FALSE(parse_url(text, &reason));
        CHECK_THAT(reason, Catch::Matchers::Contains(why));
    }
}

TEST_CASE("loopback hosts are recognised", "[url]") {
    CHECK(is_loopback_host("localhost"));
    CHECK(is_loopback_host("parent.localhost"));
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.3.2.1"));
    CHECK(is_loopback_host("::1"));
    CHECK_FALSE(is_loopback_host("128.0.0.1"));
    CHECK_FALSE(is_loopback_host("localhost.example.org"));
}
