// libFuzzer target: FHIR intake — the /ws/fhir2/R4 write routes exactly as add_fhir_routes serves
// them (POST {type}, PUT {type}/{id}, the batch/transaction Bundle at the base; the size and depth
// limits, If-Match, provenance), on a real store, with the input as the request body; and the
// canonical fingerprint (agent/sync/fingerprint.cpp) of every body that parses.
//
// Contract:
//  - never crash, hang, leak or trip a sanitizer; a handler never throws (the server would answer
//    500), and never answers 5xx (the store is healthy);
//  - every refusal is a 4xx OperationOutcome whose first issue has a code and diagnostics, and
//    changes nothing stored (resources and feed events counted);
//  - a success respects the limits: the body within max_resource_bytes and max_json_depth;
//  - a write answered 200/201 returns the resource with the URL's type, a valid id, meta.versionId
//    equal to the ETag, and a Location; the store holds it at that version from the right origin;
//    and the fingerprint of the resource as answered (what a child that pulls it computes) equals
//    the fingerprint the store recorded, as does the stored body's (DESIGN.md §3);
//  - the same body written again is unchanged: same version, no feed event; it reads back alike;
//  - a Bundle is answered with a batch-/transaction-response whose entries each carry a status
//    (and an OperationOutcome when they failed); returned resources match the store the same way;
//  - the fingerprint ignores key order, survives serialize/parse, and canonical_json is idempotent.
//
// Input: byte 0 = bits 0-1 the operation (POST type, PUT type/id, Bundle, POST then the same body
// again by PUT with If-Match and a read), bits 2-4 the type, bits 5-6 the id, bit 7 small limits;
// byte 1 = bit 0 the caller is a sync peer naming origin node-b, bit 1 it may use "patient" only,
// bit 2 If-Match W/"1", bit 3 Prefer: return=minimal; then the body.
#include "api_harness.hpp"

#include "agent/api/fhir.hpp"
#include "agent/sync/fingerprint.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace edgesync;
using fuzz::broken;
namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::array<std::string_view, 8> k_types{"Patient", "Observation", "Encounter", "Bundle", "Basic", "NotAType", "patient", "Medication"};
const std::array<std::string, 4> k_ids{"p1", "p-2.x", "bad$id", std::string(65, 'a')};

struct node {
    fuzz::scratch_store store;
    net::router routes[2];  // default limits, small limits
    api::fhir_params params[2];
    node() {
        for (int small = 0; small < 2; ++small) {
            api::fhir_params& p = params[small];
            p.read_roles = p.write_roles = net::role_admin | net::role_sync_peer | net::role_local_app;
            p.node_id = "fuzz-node";
            p.categories = {{"Patient", "patient"}, {"Observation", "observation"}, {"Encounter", "encounter"}};
            // Not the default 64: bodies nested deeper than 32 are accepted at intake but then fail
            // every later json::parse with Boost.JSON's default depth of 32 (reads, voiding, merging,
            // the replicator) — a known issue, reported with the fuzz targets (issue 9).
            p.max_json_depth = 32;
            if (small) {
                p.max_resource_bytes = 2048;
                p.max_json_depth = 8;
            }
            api::add_fhir_routes(routes[small], store.st(), p);
        }
    }
};
node& the_node() {
    static node n;
    return n;
}

// ---- the fingerprint's own contract -------------------------------------------------------------

json::value reversed(const json::value& v) {
    if (const auto* o = v.if_object()) {
        json::object out;
        for (auto it = o->end(); it != o->begin();) {
            --it;
            out.emplace(it->key(), reversed(it->value()));
        }
        return out;
    }
    if (const auto* a = v.if_array()) {
        json::array out;
        for (const auto& e : *a) out.push_back(reversed(e));
        return out;
    }
    return v;
}

json::value parse_deep(std::string_view text, boost::system::error_code& ec) {
    json::parse_options o;
    o.max_depth = 100'000;
    return json::parse(json::string_view(text.data(), text.size()), ec, {}, o);
}

void check_fingerprint(const json::value& v) {
    const std::string fp = sync::fingerprint(v);
    if (sync::fingerprint(reversed(v)) != fp) broken("the fingerprint depends on key order");
    boost::system::error_code ec;
    const json::value again = parse_deep(json::serialize(v), ec);
    if (ec) broken("serialize() wrote what parse() refuses", ec.message());
    if (sync::fingerprint(again) != fp) broken("the fingerprint changes across serialize/parse", json::serialize(v).substr(0, 200));
    const std::string canon = sync::canonical_json(v);
    const json::value cv = parse_deep(canon, ec);
    if (ec) broken("canonical_json is not JSON", ec.message());
    if (sync::canonical_json(cv) != canon) broken("canonical_json is not idempotent", canon.substr(0, 200));
}

// ---- replies ------------------------------------------------------------------------------------

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
    return true;
}

void check_outcome(const json::value& v, const std::string& what) {
    if (!v.is_object()) broken("an OperationOutcome that is not an object", what);
    const auto* rt = fuzz::string_at(v, "resourceType");
    if (!rt || *rt != "OperationOutcome") broken("a refusal that is not an OperationOutcome", what);
    const auto* issues = v.get_object().if_contains("issue");
    if (!issues || !issues->is_array() || issues->get_array().empty()) broken("an OperationOutcome without issues", what);
    const auto& first = issues->get_array()[0];
    const auto* code = fuzz::string_at(first, "code");
    const auto* diag = fuzz::string_at(first, "diagnostics");
    if (!code || code->empty() || !diag || diag->empty()) broken("an issue without code or diagnostics", what);
}

void check_refusal(const net::reply& rep, const std::string& what) {
    const unsigned s = static_cast<unsigned>(rep.status);
    if (s >= 500) broken("a 5xx answer", what + ": " + std::to_string(s) + " " + rep.body.substr(0, 200));
    if (s < 400) return;
    if (rep.headers[http::field::content_type].find("fhir+json") == std::string_view::npos) broken("a refusal not in FHIR JSON", what);
    check_outcome(fuzz::reply_json(rep, what.c_str()), what + ": " + rep.body.substr(0, 200));
}

// A resource answered at `version`: the store's copy at that version has the answer's fingerprint.
void check_against_store(const json::value& res, const std::string& type, std::int64_t version, const std::string& what) {
    const auto* id = fuzz::string_at(res, "id");
    if (!id || !valid_id(*id)) broken("an answered resource without a valid id", what);
    auto stored = the_node().store.get({"fhir", type, std::string(*id)});
    if (!stored || stored->deleted) broken("an answered resource the store does not hold", what);
    if (stored->version != version) return;  // a later entry of the same batch changed it again
    if (sync::fingerprint(res) != stored->fingerprint)
        broken("the answered resource's fingerprint is not the stored one", what + ": " + json::serialize(res).substr(0, 300));
    boost::system::error_code ec;
    const json::value body = parse_deep(stored->body, ec);
    if (ec) broken("the stored body is not JSON", ec.message());
    if (sync::fingerprint(body) != stored->fingerprint) broken("the stored body's fingerprint is not the stored one", what);
}

std::int64_t version_of(const json::value& res, const std::string& what) {
    const auto* meta = res.is_object() ? res.get_object().if_contains("meta") : nullptr;
    const auto* vid = meta ? fuzz::string_at(*meta, "versionId") : nullptr;
    if (!vid) broken("an answered resource without meta.versionId", what + ": " + json::serialize(res).substr(0, 300));
    try {
        return std::stoll(std::string(*vid));
    } catch (...) {
        broken("a meta.versionId that is not a number", what);
    }
}

struct written {
    std::string id;
    std::int64_t version = 0;
};

// A single write's (or read's) 200/201: the resource, its headers and the store agree.
written check_resource_reply(const net::reply& rep, const std::string& type, const std::string& what) {
    const json::value v = fuzz::reply_json(rep, what.c_str());
    const auto* rt = fuzz::string_at(v, "resourceType");
    if (!rt || *rt != type) broken("an answered resource of another type", what);
    written w;
    w.version = version_of(v, what);
    check_against_store(v, type, w.version, what);  // also checks the id
    w.id = std::string(*fuzz::string_at(v, "id"));
    if (rep.headers[http::field::etag] != "W/\"" + std::to_string(w.version) + "\"") broken("ETag and meta.versionId differ", what);
    return w;
}

void check_bundle_reply(const net::reply& rep, const std::string& what) {
    const json::value v = fuzz::reply_json(rep, what.c_str());
    const auto* rt = fuzz::string_at(v, "resourceType");
    const auto* bt = fuzz::string_at(v, "type");
    if (!rt || *rt != "Bundle" || !bt || (*bt != "batch-response" && *bt != "transaction-response"))
        broken("a Bundle answer that is not a batch-/transaction-response", what);
    const auto* entries = v.get_object().if_contains("entry");
    if (!entries || !entries->is_array()) broken("a Bundle answer without entries", what);
    for (const auto& e : entries->get_array()) {
        const auto* resp = e.is_object() ? e.get_object().if_contains("response") : nullptr;
        const auto* status = resp ? fuzz::string_at(*resp, "status") : nullptr;
        if (!status || status->size() < 3 || !std::isdigit(static_cast<unsigned char>((*status)[0])))
            broken("a Bundle answer entry without a status", what);
        const int code = std::stoi(std::string(status->subview(0, 3)));
        if (code >= 500) broken("a 5xx Bundle answer entry", what + ": " + std::string(*status));
        if (code >= 400 && *bt == "transaction-response") broken("a transaction applied with a failed entry", what);
        if (code >= 400) {
            const auto* oc = resp->get_object().if_contains("outcome");
            if (!oc) broken("a failed Bundle answer entry without an outcome", what);
            check_outcome(*oc, what);
        }
        if (const auto* res = e.get_object().if_contains("resource"); res && code < 300) {
            const auto* type = fuzz::string_at(*res, "resourceType");
            if (!type) broken("a Bundle answer resource without resourceType", what + ": " + json::serialize(*res).substr(0, 300));
            check_against_store(*res, std::string(*type), version_of(*res, what), what);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    node& n = the_node();
    const unsigned op = data[0] & 3u;
    const std::string type(k_types[(data[0] >> 2) & 7u]);
    const std::string& id = k_ids[(data[0] >> 5) & 3u];
    const int small = (data[0] & 0x80) != 0 ? 1 : 0;
    const bool peer = (data[1] & 1) != 0, restricted = (data[1] & 2) != 0, if_match = (data[1] & 4) != 0,
               minimal = (data[1] & 8) != 0;
    const std::string body(reinterpret_cast<const char*>(data) + 2, size - 2);
    if (fuzz::known_issue_input(body)) return 0;  // see api_harness.hpp
    const api::fhir_params& p = n.params[small];
    const net::router& routes = n.routes[small];

    // The fingerprint of whatever parses as the handlers parse it.
    {
        boost::system::error_code ec;
        json::parse_options o;
        o.max_depth = p.max_json_depth;
        const json::value v = json::parse(body, ec, {}, o);
        if (!ec) check_fingerprint(v);
    }

    n.store.reset();
    net::principal who;
    if (peer) {
        who = {"child", net::role_sync_peer, {}};
    } else {
        who = {"app", net::role_local_app, {}};
    }
    if (restricted) who.categories = {"patient"};
    http::fields headers;
    if (peer) headers.set("X-Edgesync-Origin", "node-b");
    if (if_match) headers.set(http::field::if_match, "W/\"1\"");
    if (minimal) headers.set("Prefer", "return=minimal");
    const std::string base = p.base;
    const std::string expected_origin = peer ? "node-b" : "fuzz-node";

    auto checked_write = [&](http::verb method, const std::string& target, const http::fields& h, const std::string& what)
        -> std::optional<written> {
        const auto before = n.store.count();
        const net::reply rep = fuzz::call(routes, method, target, body, h, who);
        check_refusal(rep, what);
        const unsigned s = static_cast<unsigned>(rep.status);
        if (s >= 400) {
            if (n.store.count() != before) broken("a refused write changed the store", what + ": " + std::to_string(s));
            return std::nullopt;
        }
        if (s != 200 && s != 201) broken("an unexpected success status", what + ": " + std::to_string(s));
        if (body.size() > p.max_resource_bytes) broken("a write over max_resource_bytes succeeded", what);
        {
            boost::system::error_code ec;
            json::parse_options o;
            o.max_depth = p.max_json_depth;
            (void)json::parse(body, ec, {}, o);
            if (ec) broken("a write beyond max_json_depth (or not JSON) succeeded", what);
        }
        written w = check_resource_reply(rep, type, what);
        const std::string location = base + "/" + type + "/" + w.id + "/_history/" + std::to_string(w.version);
        if (rep.headers[http::field::location] != location) broken("a Location that does not name the version written", what);
        auto stored = n.store.get({"fhir", type, w.id});
        if (stored->origin_node != expected_origin) broken("the write is recorded from another origin", stored->origin_node);
        return w;
    };

    switch (op) {
        case 0: checked_write(http::verb::post, base + "/" + type, headers, "POST " + type); break;
        case 1: checked_write(http::verb::put, base + "/" + type + "/" + id, headers, "PUT " + type + "/" + id); break;
        case 2: {
            const auto before = n.store.count();
            const net::reply rep = fuzz::call(routes, http::verb::post, base, body, headers, who);
            check_refusal(rep, "Bundle");
            if (static_cast<unsigned>(rep.status) >= 400) {
                if (n.store.count() != before) broken("a refused Bundle changed the store");
                break;
            }
            if (rep.status != http::status::ok) broken("an unexpected Bundle success status");
            check_bundle_reply(rep, "Bundle");
            break;
        }
        default: {
            http::fields first = headers;
            first.erase(http::field::if_match);
            const auto w = checked_write(http::verb::post, base + "/" + type, first, "POST " + type);
            if (!w) break;
            // The same body again, as an update of what was created: unchanged.
            http::fields again = headers;
            again.set(http::field::if_match, "W/\"" + std::to_string(w->version) + "\"");
            const auto before = n.store.count();
            const std::string what = "PUT " + type + "/" + w->id + " (same body)";
            const net::reply rep = fuzz::call(routes, http::verb::put, base + "/" + type + "/" + w->id, body, again, who);
            check_refusal(rep, what);
            const unsigned s = static_cast<unsigned>(rep.status);
            if (s >= 400) broken("the same body again was refused", what + ": " + rep.body.substr(0, 200));
            const written w2 = check_resource_reply(rep, type, what);
            if (w2.version != w->version || s != 200) broken("the same body again made a new version", what);
            if (n.store.count() != before) broken("an unchanged write emitted a feed event", what);
            // And it reads back alike.
            const net::reply got = fuzz::call(routes, http::verb::get, base + "/" + type + "/" + w->id, "", {}, who);
            check_refusal(got, "GET " + type);
            if (got.status != http::status::ok) broken("a written resource does not read back", std::to_string(static_cast<unsigned>(got.status)));
            if (check_resource_reply(got, type, "GET " + type).version != w->version) broken("read back at another version");
            break;
        }
    }
    return 0;
}
