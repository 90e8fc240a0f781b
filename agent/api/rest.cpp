#include "agent/api/rest.hpp"
#include "agent/api/provenance.hpp"

#include "agent/sync/fingerprint.hpp"
#include "store/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <variant>

namespace edgesync::api {
namespace {

namespace http = boost::beast::http;
namespace asio = boost::asio;
namespace json = boost::json;

net::reply rest_error(http::status s, std::string_view code, std::string message) {
    json::object e{{"error", json::object{{"message", message}, {"code", code}, {"detail", ""}}}};
    return net::reply::json(s, json::serialize(e));
}

bool valid_uuid(std::string_view u) {
    if (u.empty() || u.size() > 38) return false;
    for (char c : u)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    return true;
}

// Every links[].uri, at any depth, re-pointed at `base` + "/ws/rest/v1/...": a document fetched
// from another server (or with OpenMRS's "NEED-TO-CONFIGURE" prefix) links back to this node.
void rewrite_links(json::value& v, const std::string& base) {
    if (v.is_object()) {
        for (auto& kv : v.as_object()) {
            if (kv.key() == "links" && kv.value().is_array()) {
                for (auto& l : kv.value().as_array()) {
                    auto* uri = l.is_object() ? l.as_object().if_contains("uri") : nullptr;
                    if (!uri || !uri->is_string()) continue;
                    const std::string u(uri->as_string());
                    const auto at = u.find("/ws/rest/v1/");
                    if (at != std::string::npos) *uri = base + u.substr(at);
                }
            } else {
                rewrite_links(kv.value(), base);
            }
        }
    } else if (v.is_array()) {
        for (auto& e : v.as_array()) rewrite_links(e, base);
    }
}

std::string links_base(const rest_params& p, const net::request_context& ctx) {
    std::string b = p.public_url.empty() ? "http://" + std::string(ctx.req[http::field::host]) : p.public_url;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
}

net::reply document_reply(http::status s, const store::stored_resource& r, const std::string& base) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (!ec) rewrite_links(v, base);
    net::reply rep = net::reply::json(s, ec ? r.body : json::serialize(v));
    if (!r.origin_node.empty()) rep.headers.set(k_origin_header, r.origin_node);
    return rep;
}

}  // namespace

void add_rest_routes(net::router& r, store::store& st, rest_params p) {
    struct target {
        std::string resource, category;
    };
    // The resource and its category, or the error to answer.
    auto resolve = [p](net::request_context& ctx) -> std::variant<target, net::reply> {
        target t;
        t.resource = std::string(ctx.param("resource"));
        auto c = p.categories.find(t.resource);
        if (c == p.categories.end())
            return rest_error(http::status::not_found, "unknown-resource", "Unknown resource: " + t.resource);
        t.category = c->second;
        const auto& allowed = ctx.who.categories;
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), t.category) == allowed.end())
            return rest_error(http::status::forbidden, "forbidden", "'" + ctx.who.name + "' may not use category '" + t.category + "'");
        return t;
    };
    auto event_for = [](const target& t, const std::string& uuid, const std::string& tags) {
        json::object links{{"rest", "/ws/rest/v1/" + t.resource + "/" + uuid + "?v=full"}};
        return store::event_spec{t.resource, json::serialize(links), "", tags};
    };

    auto get = [&st, resolve, p](net::request_context& ctx) -> asio::awaitable<net::reply> {
        auto res = resolve(ctx);
        if (auto* e = std::get_if<net::reply>(&res)) co_return *e;
        const auto& t = std::get<target>(res);
        const std::string uuid(ctx.param("uuid"));
        if (!valid_uuid(uuid)) co_return rest_error(http::status::bad_request, "bad-uuid", "Invalid uuid: " + uuid);
        store::resource_key key{"rest", t.resource, uuid};
        auto got = co_await st.get(std::move(key));
        if (!got) co_return rest_error(http::status::service_unavailable, "store", got.error().message());
        if (!*got || (*got)->deleted) co_return rest_error(http::status::not_found, "not-found", "Object with given uuid doesn't exist [" + uuid + "]");
        co_return document_reply(http::status::ok, **got, links_base(p, ctx));
    };

    // POST create (no uuid in the URL) or update (merge into the stored document).
    auto post = [&st, resolve, event_for, p](net::request_context& ctx, bool update) -> asio::awaitable<net::reply> {
        auto res = resolve(ctx);
        if (auto* e = std::get_if<net::reply>(&res)) co_return *e;
        const target t = std::get<target>(res);
        std::string uuid(update ? ctx.param("uuid") : std::string_view());
        if (update && !valid_uuid(uuid)) co_return rest_error(http::status::bad_request, "bad-uuid", "Invalid uuid: " + uuid);
        if (ctx.req.body().size() > p.max_resource_bytes)
            co_return rest_error(http::status::payload_too_large, "too-large",
                                 "Request body of " + std::to_string(ctx.req.body().size()) + " bytes exceeds the limit of " +
                                     std::to_string(p.max_resource_bytes));
        boost::system::error_code ec;
        json::parse_options opts;
        opts.max_depth = p.max_json_depth;
        json::value v = json::parse(ctx.req.body(), ec, {}, opts);
        if (ec) co_return rest_error(http::status::bad_request, "malformed-json", "Could not read JSON: " + ec.message());
        if (!v.is_object()) co_return rest_error(http::status::bad_request, "malformed-json", "The body must be a JSON object");
        if (const auto* bu = v.as_object().if_contains("uuid")) {
            if (!bu->is_string() || !valid_uuid(bu->as_string())) co_return rest_error(http::status::bad_request, "bad-uuid", "Invalid uuid in the body");
            if (update && bu->as_string() != uuid)
                co_return rest_error(http::status::bad_request, "uuid-mismatch", "The body's uuid differs from the URL's");
            if (!update) uuid = std::string(bu->as_string());
        }
        auto job = [t, uuid, update, v, event_for, from = provenance_of(ctx.who, ctx.req[k_origin_header], p.node_id)](
                       store::write_context& c) mutable -> store::result<store::stored_resource> {
            using R = store::result<store::stored_resource>;
            std::string id = uuid.empty() ? c.new_uuid() : uuid;
            json::value doc = v;
            if (!update && !uuid.empty()) {
                // A create never replaces: the uuid must be new (or only a tombstone).
                auto existing = store::get_resource(c.db(), {"rest", t.resource, id});
                if (!existing) return R(boost::system::in_place_error, existing.error());
                if (*existing && !(*existing)->deleted) return R(boost::system::in_place_error, store::errc::constraint);
            }
            if (update) {
                auto existing = store::get_resource(c.db(), {"rest", t.resource, id});
                if (!existing) return R(boost::system::in_place_error, existing.error());
                if (!*existing || (*existing)->deleted) return R(boost::system::in_place_error, store::errc::not_found);
                boost::system::error_code pe;
                json::value old = json::parse((*existing)->body, pe);
                if (!pe && old.is_object()) {
                    for (const auto& kv : v.as_object()) old.as_object()[kv.key()] = kv.value();
                    doc = std::move(old);
                }
            }
            doc.as_object()["uuid"] = id;
            store::resource_write w;
            w.category = t.category;
            w.key = {"rest", t.resource, id};
            w.body = json::serialize(doc);
            w.fingerprint = sync::fingerprint(doc);
            w.origin_node = from.origin_node;
            w.arrived_from = from.arrived_from;
            auto done = store::write_resource(c.db(), w, event_for(t, id, ""), c.new_uuid(), c.now());
            if (!done) return R(boost::system::in_place_error, done.error());
            auto now = store::get_resource(c.db(), w.key);
            if (!now || !*now) return R(boost::system::in_place_error, store::errc::internal);
            return **now;
        };
        auto saved = co_await st.write<store::stored_resource>(std::move(job));
        if (!saved && saved.error() == store::errc::constraint)
            co_return rest_error(http::status::conflict, "duplicate", "An object with uuid " + uuid + " already exists; update it with POST /" + t.resource + "/" + uuid);
        if (!saved && saved.error() == store::errc::not_found)
            co_return rest_error(http::status::not_found, "not-found", "Object with given uuid doesn't exist [" + uuid + "]");
        if (!saved) co_return rest_error(http::status::service_unavailable, "store", saved.error().message());
        co_return document_reply(update ? http::status::ok : http::status::created, *saved, links_base(p, ctx));
    };

    auto erase = [&st, resolve, event_for, p](net::request_context& ctx) -> asio::awaitable<net::reply> {
        auto res = resolve(ctx);
        if (auto* e = std::get_if<net::reply>(&res)) co_return *e;
        const target t = std::get<target>(res);
        const std::string uuid(ctx.param("uuid"));
        if (!valid_uuid(uuid)) co_return rest_error(http::status::bad_request, "bad-uuid", "Invalid uuid: " + uuid);
        const bool purge = ctx.query_param("purge").value_or("") == "true";
        const std::string reason = ctx.query_param("reason").value_or("voided through the REST API");
        auto job = [t, uuid, purge, reason, event_for, from = provenance_of(ctx.who, ctx.req[k_origin_header], p.node_id)](
                       store::write_context& c) -> store::result<bool> {
            using R = store::result<bool>;
            auto existing = store::get_resource(c.db(), {"rest", t.resource, uuid});
            if (!existing) return R(boost::system::in_place_error, existing.error());
            if (!*existing || (*existing)->deleted) return R(boost::system::in_place_error, store::errc::not_found);
            store::resource_write w;
            w.category = t.category;
            w.key = {"rest", t.resource, uuid};
            w.origin_node = from.origin_node;
            w.arrived_from = from.arrived_from;
            std::string tags;
            if (purge) {
                w.deleted = true;
                w.fingerprint = "deleted";
            } else {
                // Metadata is retired, data is voided; the document says which it is.
                boost::system::error_code pe;
                json::value doc = json::parse((*existing)->body, pe);
                if (pe || !doc.is_object()) return R(boost::system::in_place_error, store::errc::bad_input);
                const bool retirable = doc.as_object().contains("retired");
                doc.as_object()[retirable ? "retired" : "voided"] = true;
                doc.as_object()[retirable ? "retireReason" : "voidReason"] = reason;
                w.body = json::serialize(doc);
                w.fingerprint = sync::fingerprint(doc);
                tags = retirable ? "RETIRED" : "VOIDED";
            }
            auto done = store::write_resource(c.db(), w, event_for(t, uuid, tags), c.new_uuid(), c.now());
            if (!done) return R(boost::system::in_place_error, done.error());
            return true;
        };
        auto r2 = co_await st.write<bool>(std::move(job));
        if (!r2 && r2.error() == store::errc::not_found)
            co_return rest_error(http::status::not_found, "not-found", "Object with given uuid doesn't exist [" + uuid + "]");
        if (!r2) co_return rest_error(http::status::service_unavailable, "store", r2.error().message());
        net::reply rep;
        rep.status = http::status::no_content;
        co_return rep;
    };

    r.set_refusal_format(p.base, [](http::status s, std::string_view message) {
        return rest_error(s, std::to_string(static_cast<unsigned>(s)), std::string(message));
    });
    r.add(http::verb::get, p.base + "/{resource}/{uuid}", p.read_roles, get);
    r.add(http::verb::post, p.base + "/{resource}", p.write_roles, [post](net::request_context& ctx) { return post(ctx, false); });
    r.add(http::verb::post, p.base + "/{resource}/{uuid}", p.write_roles, [post](net::request_context& ctx) { return post(ctx, true); });
    r.add(http::verb::delete_, p.base + "/{resource}/{uuid}", p.write_roles, erase);
}

}  // namespace edgesync::api
