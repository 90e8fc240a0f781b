#include "agent/api/admin.hpp"

#include "agent/sync/resolve.hpp"
#include "agent/version.hpp"
#include "store/store.hpp"
#include "store/summary.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace edgesync::api {
namespace {

namespace http = boost::beast::http;
namespace asio = boost::asio;
namespace json = boost::json;

net::reply error(http::status s, std::string message) {
    return net::reply::json(s, json::serialize(json::object{{"error", json::object{{"message", std::move(message)}}}}));
}

net::reply store_error(const boost::system::error_code& e, const std::string& what) {
    if (e == store::errc::not_found) return error(http::status::not_found, what + " does not exist");
    return error(http::status::service_unavailable, e.message());
}

std::optional<std::int64_t> id_of(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

json::object failure_json(const store::failed_event& f) {
    return {{"id", f.id},
            {"direction", f.direction},
            {"category", f.category},
            {"feed", f.feed_uri},
            {"event", f.event_id},
            {"content", f.event_content},
            {"action", f.tags},
            {"error", f.error_message},
            {"last_error", f.last_error},
            {"attempts", f.attempts},
            {"failed_at", f.failed_at},
            {"next_retry_at", f.next_retry_at},
            {"state", f.state == store::failure_state::parked ? "parked" : "pending"}};
}

json::value body_json(const std::optional<std::string>& b) {
    if (!b || b->empty()) return nullptr;
    boost::system::error_code ec;
    json::value v = json::parse(*b, ec);
    return ec ? json::value(json::string(*b)) : v;
}

json::object audit_json(const store::audit_entry& a, bool with_payload) {
    json::object o{{"id", a.id},          {"at", a.at},         {"direction", a.direction}, {"category", a.category},
                   {"type", a.resource_type}, {"uuid", a.resource_uuid}, {"action", a.action}, {"status", a.status},
                   {"error", a.error},     {"origin", a.origin}, {"peer", a.peer},           {"transport", a.transport},
                   {"duration_ms", a.duration_ms}, {"has_payload", a.payload.has_value()}};
    if (with_payload && a.payload) o["payload"] = body_json(*a.payload);
    return o;
}


json::object conflict_json(const store::conflict_record& c, bool with_bodies) {
    json::object o{{"id", c.id},
                   {"detected_at", c.detected_at},
                   {"category", c.category},
                   {"representation", c.key.representation},
                   {"type", c.key.type},
                   {"uuid", c.key.uuid},
                   {"peer", c.peer},
                   {"policy", c.policy},
                   {"status", c.status},
                   {"resolution", c.resolution},
                   {"resolved_at", c.resolved_at},
                   {"resolved_by", c.resolved_by}};
    if (with_bodies) {
        o["local"] = body_json(c.local_body);
        o["remote"] = body_json(c.remote_body);
        if (c.resolved_body) o["resolved"] = body_json(c.resolved_body);
    }
    return o;
}

}  // namespace

void add_admin_routes(net::router& r, store::store& st, backend::local_backend& local, backend::local_backend* parent, admin_params p) {
    const std::string b = p.base;
    r.set_refusal_format(b, [](http::status s, std::string_view m) { return error(s, std::string(m)); });

    r.add(http::verb::get, b + "/failed", p.roles, [&st](net::request_context& ctx) -> asio::awaitable<net::reply> {
        std::optional<store::failure_state> state;
        if (auto s = ctx.query_param("state")) {
            if (*s == "pending") state = store::failure_state::pending;
            else if (*s == "parked") state = store::failure_state::parked;
            else co_return error(http::status::bad_request, "state must be pending or parked, not '" + *s + "'");
        }
        auto job = [state](store::sql::connection& db) { return store::list_failures(db, state, 0, 1000); };
        auto got = co_await st.read<std::vector<store::failed_event>>(std::move(job));
        if (!got) co_return store_error(got.error(), "the queue");
        json::array out;
        for (const auto& f : *got) out.push_back(failure_json(f));
        co_return net::reply::json(http::status::ok, json::serialize(json::object{{"failed", std::move(out)}}));
    });
    r.add(http::verb::post, b + "/failed/{id}/retry", p.roles, [&st](net::request_context& ctx) -> asio::awaitable<net::reply> {
        auto id = id_of(ctx.param("id"));
        if (!id) co_return error(http::status::bad_request, "'" + std::string(ctx.param("id")) + "' is not a failed event id");
        auto job = [id = *id](store::write_context& c) -> store::result<bool> {
            if (auto e = store::retry_failure_now(c.db(), id, c.now())) return store::result<bool>(boost::system::in_place_error, e);
            return true;
        };
        auto done = co_await st.write<bool>(std::move(job));
        if (!done) co_return store_error(done.error(), "failed event " + std::to_string(*id));
        co_return net::reply::json(http::status::ok, R"({"state":"pending","due":"now"})");
    });
    r.add(http::verb::delete_, b + "/failed/{id}", p.roles, [&st](net::request_context& ctx) -> asio::awaitable<net::reply> {
        auto id = id_of(ctx.param("id"));
        if (!id) co_return error(http::status::bad_request, "'" + std::string(ctx.param("id")) + "' is not a failed event id");
        auto job = [id = *id, by = ctx.who.name](store::write_context& c) -> store::result<bool> {
            using R = store::result<bool>;
            auto list = store::list_failures(c.db(), std::nullopt, id - 1, 1);
            if (!list) return R(boost::system::in_place_error, list.error());
            if (list->empty() || list->front().id != id) return R(boost::system::in_place_error, store::errc::not_found);
            const auto f = list->front();
            if (auto e = store::clear_failure(c.db(), id)) return R(boost::system::in_place_error, e);
            store::audit_entry a;
            a.at = c.now();
            a.direction = "admin";
            a.category = f.category;
            a.action = "DISCARDED " + f.direction + " " + f.event_id;
            a.status = "success";
            a.error = f.last_error.empty() ? f.error_message : f.last_error;
            a.origin = by;
            if (auto e = store::append_audit(c.db(), a); !e) return R(boost::system::in_place_error, e.error());
            return true;
        };
        auto done = co_await st.write<bool>(std::move(job));
        if (!done) co_return store_error(done.error(), "failed event " + std::to_string(*id));
        co_return net::reply::text(http::status::no_content, "");
    });
    // The audit log, newest first: filters direction, category, status, resource (uuid), since and
    // until (Unix ms); pages of `limit` (1-500, default 50) continued with before=<last id>.
    r.add(http::verb::get, b + "/audit", p.roles, [&st](net::request_context& ctx) -> asio::awaitable<net::reply> {
        store::audit_filter f;
        f.direction = ctx.query_param("direction").value_or("");
        f.category = ctx.query_param("category").value_or("");
        f.status = ctx.query_param("status").value_or("");
        f.resource_uuid = ctx.query_param("resource").value_or("");
        if (!f.direction.empty() && f.direction != "pull" && f.direction != "push" && f.direction != "local" && f.direction != "admin")
            co_return error(http::status::bad_request, "direction must be pull, push, local or admin, not '" + f.direction + "'");
        if (!f.status.empty() && f.status != "success" && f.status != "failure" && f.status != "conflict" && f.status != "skipped")
            co_return error(http::status::bad_request, "status must be success, failure, conflict or skipped, not '" + f.status + "'");
        for (auto [name, into] : {std::pair{"since", &f.since}, {"until", &f.until}, {"before", &f.before_id}}) {
            if (auto v = ctx.query_param(name)) {
                auto n = id_of(*v);
                if (!n) co_return error(http::status::bad_request, std::string(name) + " must be a non-negative integer, not '" + *v + "'");
                *into = *n;
            }
        }
        if (auto v = ctx.query_param("limit")) {
            auto n = id_of(*v);
            if (!n || *n < 1 || *n > 500) co_return error(http::status::bad_request, "limit must be 1 to 500, not '" + *v + "'");
            f.limit = static_cast<std::size_t>(*n);
        }
        auto job = [f](store::sql::connection& db) { return store::list_audit(db, f); };
        auto got = co_await st.read<std::vector<store::audit_entry>>(std::move(job));
        if (!got) co_return store_error(got.error(), "the audit log");
        json::array out;
        for (const auto& a : *got) out.push_back(audit_json(a, false));
        json::object page{{"audit", std::move(out)}};
        if (got->size() == f.limit) page["next_before"] = got->back().id;
        co_return net::reply::json(http::status::ok, json::serialize(page));
    });
    r.add(http::verb::get, b + "/audit/{id}", p.roles, [&st](net::request_context& ctx) -> asio::awaitable<net::reply> {
        auto id = id_of(ctx.param("id"));
        if (!id) co_return error(http::status::bad_request, "'" + std::string(ctx.param("id")) + "' is not an audit id");
        store::audit_filter f;
        f.before_id = *id + 1;
        f.limit = 1;
        auto job = [f](store::sql::connection& db) { return store::list_audit(db, f); };
        auto got = co_await st.read<std::vector<store::audit_entry>>(std::move(job));
        if (!got) co_return store_error(got.error(), "the audit log");
        if (got->empty() || got->front().id != *id) co_return error(http::status::not_found, "no audit entry " + std::to_string(*id));
        co_return net::reply::json(http::status::ok, json::serialize(audit_json(got->front(), true)));
    });
    r.add(http::verb::get, b + "/status", p.roles,
          [&st, node = p.node_id, directions = p.directions](net::request_context&) -> asio::awaitable<net::reply> {
              auto job = [](store::sql::connection& db) { return store::summarize(db); };
              auto got = co_await st.read<store::store_summary>(std::move(job));
              if (!got) co_return store_error(got.error(), "the store summary");
              const auto& s = *got;
              json::object events;
              for (const auto& [category, n] : s.events) events[category] = n;
              json::array feeds;
              for (const auto& f : s.feeds)
                  feeds.push_back(json::object{{"feed", f.feed_uri}, {"last_entry", f.last_entry_id}, {"page", f.page_uri}, {"updated_at", f.updated_at}});
              const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
              json::object out{{"node", node},
                               {"version", build().version},
                               {"now", now},
                               {"store", json::object{{"resources", s.resources}, {"tombstones", s.tombstones}, {"bytes", s.bytes},
                                                      {"last_error", st.status().last_error ? st.status().last_error.message() : std::string()}}},
                               {"queues", json::object{{"failed_pending", s.failed_pending}, {"failed_parked", s.failed_parked},
                                                       {"conflicts_open", s.conflicts_open}}},
                               {"events", std::move(events)},
                               {"feeds", std::move(feeds)},
                               {"directions", directions ? directions() : json::value(json::object{})}};
              co_return net::reply::json(http::status::ok, json::serialize(out));
          });
    r.add(http::verb::post, b + "/sync/{direction}", p.roles, [trigger = p.trigger_sync](net::request_context& ctx) -> asio::awaitable<net::reply> {
        const std::string d(ctx.param("direction"));
        if (d != "pull" && d != "push") co_return error(http::status::bad_request, "direction must be pull or push, not '" + d + "'");
        if (!trigger || !trigger(d)) co_return error(http::status::not_found, d + " is not enabled on this node");
        co_return net::reply::json(http::status::accepted, json::serialize(json::object{{"direction", d}, {"started", true}}));
    });
    r.add(http::verb::get, b + "/conflicts", p.roles, [&st](net::request_context& ctx) -> asio::awaitable<net::reply> {
        const std::string status = ctx.query_param("status").value_or("open");
        if (status != "open" && status != "resolved") co_return error(http::status::bad_request, "status must be open or resolved");
        auto job = [status](store::sql::connection& db) { return store::list_conflicts(db, status, 0, 1000); };
        auto got = co_await st.read<std::vector<store::conflict_record>>(std::move(job));
        if (!got) co_return store_error(got.error(), "the conflicts");
        json::array out;
        for (const auto& c : *got) out.push_back(conflict_json(c, false));
        co_return net::reply::json(http::status::ok, json::serialize(json::object{{"conflicts", std::move(out)}}));
    });
    r.add(http::verb::get, b + "/conflicts/{id}", p.roles, [&st](net::request_context& ctx) -> asio::awaitable<net::reply> {
        auto id = id_of(ctx.param("id"));
        if (!id) co_return error(http::status::bad_request, "'" + std::string(ctx.param("id")) + "' is not a conflict id");
        auto job = [id = *id](store::sql::connection& db) { return store::get_conflict(db, id); };
        auto got = co_await st.read<store::conflict_record>(std::move(job));
        if (!got) co_return store_error(got.error(), "conflict " + std::to_string(*id));
        co_return net::reply::json(http::status::ok, json::serialize(conflict_json(*got, true)));
    });
    r.add(http::verb::post, b + "/conflicts/{id}/resolve", p.roles,
          [&st, &local, parent, node = p.node_id](net::request_context& ctx) -> asio::awaitable<net::reply> {
              auto id = id_of(ctx.param("id"));
              if (!id) co_return error(http::status::bad_request, "'" + std::string(ctx.param("id")) + "' is not a conflict id");
              boost::system::error_code pe;
              json::value v = json::parse(ctx.req.body(), pe);
              if (pe || !v.is_object()) co_return error(http::status::bad_request, "the body must be a JSON object");
              sync::resolution res;
              res.by = ctx.who.name;
              const auto& o = v.as_object();
              if (const auto* choose = o.if_contains("choose")) {
                  if (choose->is_string() && choose->as_string() == "local") res.pick = sync::resolution::choice::local;
                  else if (choose->is_string() && choose->as_string() == "remote") res.pick = sync::resolution::choice::remote;
                  else co_return error(http::status::bad_request, "choose must be \"local\" or \"remote\"");
              } else if (const auto* merged = o.if_contains("resource")) {
                  res.pick = sync::resolution::choice::merged;
                  res.merged_body = json::serialize(*merged);
              } else {
                  co_return error(http::status::bad_request, "give {\"choose\":\"local\"|\"remote\"} or {\"resource\":{...}}");
              }
              auto done = co_await sync::resolve_conflict(local, parent, st, *id, std::move(res), node);
              if (done.ec == store::errc::not_found) co_return error(http::status::not_found, done.detail);
              if (done.ec == backend::errc::refused) co_return error(http::status::bad_request, done.detail);
              if (done.ec) co_return error(http::status::bad_gateway, done.detail);
              auto job = [id = *id](store::sql::connection& db) { return store::get_conflict(db, id); };
              auto now = co_await st.read<store::conflict_record>(std::move(job));
              if (!now) co_return store_error(now.error(), "conflict " + std::to_string(*id));
              co_return net::reply::json(http::status::ok, json::serialize(conflict_json(*now, true)));
          });
}

}  // namespace edgesync::api
