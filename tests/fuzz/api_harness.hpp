// What the FHIR and REST intake targets share: one real store (SQLite in a scratch folder,
// synchronous=NORMAL, opened once per process and emptied before every input so each input runs
// from the same state), a route handler called exactly as the server's dispatch calls it once a
// request is read and authenticated, and the checks every reply must pass.
#pragma once

#include "contract.hpp"

#include "agent/common/log.hpp"
#include "net/router.hpp"
#include "store/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace edgesync::fuzz {

namespace json = boost::json;
namespace http = boost::beast::http;

// Runs `op` to completion on a fresh io_context (store jobs complete back on it).
template <class T>
T run(boost::asio::awaitable<T> op) {
    boost::asio::io_context ioc;
    std::optional<T> out;
    boost::asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                broken("a handler threw (the server would answer 500)", x.what());
            } catch (...) {
                broken("a handler threw (the server would answer 500)");
            }
        }
        out = std::move(v);
    });
    ioc.run();
    if (!out) broken("an operation never completed");
    return std::move(*out);
}

class scratch_store {
public:
    scratch_store() {
        log::set_level(log::level::error);
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/edgesync-fuzz-XXXXXX";
        if (!::mkdtemp(templ.data())) broken("cannot make a scratch folder", templ);
        dir_ = templ;
        store::store_options o;
        o.path = dir_ + "/store.db";
        o.synchronous_full = false;
        o.integrity = store::store_options::check::off;
        o.instance_id = "fuzz-node";
        o.clock = [] {
            static std::int64_t t = 1'700'000'000'000;
            return t += 1000;
        };
        std::string why;
        auto s = store::store::open(o, why);
        if (!s) broken("cannot open the scratch store", why);
        st_ = std::move(*s);
    }
    ~scratch_store() {
        st_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    scratch_store(const scratch_store&) = delete;
    scratch_store& operator=(const scratch_store&) = delete;

    store::store& st() { return *st_; }

    // Empties every table but the node's identity.
    void reset() {
        auto job = [](store::write_context& c) -> store::result<bool> {
            using R = store::result<bool>;
            std::vector<std::string> tables;
            {
                auto s = c.db().prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'node_meta'");
                if (!s) return R(boost::system::in_place_error, s.error());
                for (;;) {
                    auto row = s->step();
                    if (!row) return R(boost::system::in_place_error, row.error());
                    if (!*row) break;
                    tables.emplace_back(s->text(0));
                }
            }
            for (const auto& t : tables) {
                const std::string sql = "DELETE FROM \"" + t + "\"";
                if (auto ec = c.db().exec(sql.c_str())) return R(boost::system::in_place_error, ec);
            }
            return true;
        };
        auto done = run(st_->write<bool>(std::move(job)));
        if (!done) broken("cannot empty the scratch store", done.error().message());
    }

    struct counts {
        std::int64_t resources = 0, events = 0;
        bool operator==(const counts&) const = default;
    };
    counts count() {
        auto job = [](store::sql::connection& db) -> store::result<counts> {
            auto r = store::count_resources(db, true);
            if (!r) return r.error();
            auto e = store::count_events(db, "");
            if (!e) return e.error();
            return counts{*r, *e};
        };
        auto c = run(st_->read<counts>(std::move(job)));
        if (!c) broken("cannot count the scratch store", c.error().message());
        return *c;
    }

    std::optional<store::stored_resource> get(store::resource_key key) {
        auto r = run(st_->get(std::move(key)));
        if (!r) broken("cannot read the scratch store", r.error().message());
        return *r;
    }

private:
    std::string dir_;
    std::unique_ptr<store::store> st_;
};

// One request through a route's handler, as dispatch runs it after routing and authentication.
inline net::reply call(const net::router& routes, http::verb method, const std::string& target, std::string body,
                       const http::fields& headers, const net::principal& who) {
    net::request req{method, target, 11};
    for (const auto& f : headers) req.set(f.name_string(), f.value());
    req.set(http::field::host, "node.test:8090");
    req.body() = std::move(body);
    req.prepare_payload();
    const std::string_view t = req.target();
    const auto q = t.find('?');
    const std::string_view path = t.substr(0, q), query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
    auto m = routes.match(method, path);
    if (!m.found) broken("the target has no route", target);
    net::request_context ctx{req, path, query, std::move(m.params), who, "fuzz"};
    net::reply rep = run(m.found->h(ctx));
    if (std::getenv("EDGESYNC_FUZZ_TRACE"))
        std::fprintf(stderr, "%s %s -> %u %s\n", std::string(http::to_string(method)).c_str(), target.c_str(),
                     static_cast<unsigned>(rep.status), rep.body.substr(0, 160).c_str());
    return rep;
}

// The reply's body as JSON (any depth: checking, not intake).
inline json::value reply_json(const net::reply& rep, const char* what) {
    json::parse_options o;
    o.max_depth = 100'000;
    boost::system::error_code ec;
    json::value v = json::parse(rep.body, ec, {}, o);
    if (ec) broken("a reply body that is not JSON", std::string(what) + ": " + ec.message());
    return v;
}

// Known issues (reported with issue 9, not fixed; both are Boost.JSON 1.81's number handling, and
// both make what a node stores differ from what a child that pulls it computes):
//  - a number beyond double's range (1e400) parses as infinity and serializes as `Infinity`,
//    which is not JSON: the API stores such a body, and every later parse of it fails;
//  - the default number parser is not correctly rounded: 1.7976931348623157e50 parses as
//    ...154e50, whose text parses as ...152e50, so a value drifts with each serialize/parse (each
//    sync hop) and its fingerprint with it (fixed upstream in 1.83: number_precision::precise).
// The targets skip such inputs until they are dealt with; remove the skip with the fix.
inline bool has_non_finite(const json::value& v) {
    switch (v.kind()) {
        case json::kind::double_: return !std::isfinite(v.get_double());
        case json::kind::object:
            for (const auto& kv : v.get_object())
                if (has_non_finite(kv.value())) return true;
            return false;
        case json::kind::array:
            for (const auto& e : v.get_array())
                if (has_non_finite(e)) return true;
            return false;
        default: return false;
    }
}
inline bool known_issue_input(std::string_view body) {
    json::parse_options o;
    o.max_depth = 100'000;
    boost::system::error_code ec;
    const json::value v = json::parse(json::string_view(body.data(), body.size()), ec, {}, o);
    if (ec) return false;
    if (has_non_finite(v)) return true;
    const std::string once = json::serialize(v);
    const json::value again = json::parse(once, ec, {}, o);
    return ec || json::serialize(again) != once;
}

inline const json::string* string_at(const json::value& v, std::string_view key) {
    const auto* o = v.if_object();
    const auto* x = o ? o->if_contains(key) : nullptr;
    return x ? x->if_string() : nullptr;
}

}  // namespace edgesync::fuzz
