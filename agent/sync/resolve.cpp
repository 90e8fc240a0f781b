#include "agent/sync/resolve.hpp"

#include "agent/sync/fingerprint.hpp"
#include "store/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace edgesync::sync {
namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

asio::awaitable<resolve_result> resolve_conflict(backend::local_backend& local, backend::local_backend* parent, store::store& st,
                                                 std::int64_t conflict_id, resolution r, std::string node_id) {
    resolve_result out;
    auto read = [conflict_id](store::sql::connection& db) { return store::get_conflict(db, conflict_id); };
    auto got = co_await st.read<store::conflict_record>(std::move(read));
    if (!got || got->status != "open") {
        out.ec = got ? error_code(store::errc::not_found) : got.error();
        out.detail = "no open conflict " + std::to_string(conflict_id);
        co_return out;
    }
    const store::conflict_record c = *got;
    std::optional<std::string> body;  // nullopt: the chosen state is "deleted"
    const char* resolution_name = "local";
    switch (r.pick) {
    case resolution::choice::local: body = c.local_body; break;
    case resolution::choice::remote:
        body = c.remote_body;
        resolution_name = "remote";
        break;
    case resolution::choice::merged: {
        resolution_name = "merged";
        error_code pe;
        json::value v = json::parse(r.merged_body, pe);
        if (pe || !v.is_object()) {
            out.ec = backend::errc::refused;
            out.detail = "the merged resource is not a JSON object";
            co_return out;
        }
        auto& o = v.as_object();
        if (c.key.representation == "fhir") {
            const auto* rt = o.if_contains("resourceType");
            if (!rt || !rt->is_string() || rt->as_string() != c.key.type) {
                out.ec = backend::errc::refused;
                out.detail = "the merged resource must have resourceType " + c.key.type;
                co_return out;
            }
            o["id"] = c.key.uuid;
        } else {
            o["uuid"] = c.key.uuid;
        }
        body = json::serialize(v);
        break;
    }
    }
    // A side that had deleted it has no body: choosing it deletes on both sides.
    const bool remove = !body || body->empty();
    std::string fp = "deleted";
    if (!remove) {
        error_code pe;
        json::value v = json::parse(*body, pe);
        if (pe || !v.is_object()) {
            // (Checked here: the target trusts a change that carries its fingerprint.)
            out.ec = backend::errc::refused;
            out.detail = pe ? "the chosen version is not JSON" : "the chosen version is not a JSON object";
            co_return out;
        }
        fp = fingerprint(v);
    }
    backend::change ch;
    ch.ref = {c.category, c.key};
    ch.remove = remove;
    if (!remove) ch.body = *body;
    ch.origin_node = node_id;
    ch.fingerprint = fp;
    if (parent) {
        backend::change up = ch;
        auto done = co_await parent->apply(std::move(up));
        if (done.ec) {
            out.ec = done.ec;
            out.detail = "writing to the parent: " + done.detail;
            co_return out;
        }
    }
    auto here = co_await local.apply(std::move(ch));
    if (here.ec) {
        out.ec = here.ec;
        out.detail = "writing here: " + here.detail;
        co_return out;
    }
    auto close = [c, fp, by = r.by, resolution_name, stored_body = remove ? std::optional<std::string>() : body](store::write_context& ctx) -> store::result<bool> {
        using R = store::result<bool>;
        if (auto e = store::set_synced_fingerprint(ctx.db(), c.peer, c.key, fp, ctx.now())) return R(boost::system::in_place_error, e);
        if (auto e = store::resolve_conflict(ctx.db(), c.id, resolution_name, stored_body, by, ctx.now())) return R(boost::system::in_place_error, e);
        store::audit_entry a;
        a.at = ctx.now();
        a.direction = "admin";
        a.category = c.category;
        a.resource_type = c.key.type;
        a.resource_uuid = c.key.uuid;
        a.action = std::string("RESOLVED ") + resolution_name;
        a.status = "success";
        a.origin = by;
        a.peer = c.peer;
        a.transport = c.key.representation;
        if (auto e = store::append_audit(ctx.db(), a); !e) return R(boost::system::in_place_error, e.error());
        return true;
    };
    auto closed = co_await st.write<bool>(std::move(close));
    if (!closed) {
        out.ec = closed.error();
        out.detail = "closing the conflict: " + closed.error().message();
    }
    co_return out;
}

}  // namespace edgesync::sync
