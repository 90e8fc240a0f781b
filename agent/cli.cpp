#include "agent/cli.hpp"

#include "agent/api/admin.hpp"
#include "agent/backend/embedded.hpp"
#include "agent/config.hpp"
#include "agent/store_setup.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "net/tls.hpp"
#include "store/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace edgesync::agent {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

int usage(const std::string& why) {
    std::fprintf(stderr,
                 "edgesync: %s\n\n"
                 "  edgesync status\n"
                 "  edgesync failed list [--state pending|parked] | retry ID | discard ID\n"
                 "  edgesync conflicts list [--status open|resolved] | show ID | resolve ID (--choose local|remote | --merged FILE)\n"
                 "  edgesync audit list [--direction D] [--status S] [--category C] [--resource UUID] [--limit N] [--before ID] | show ID\n"
                 "  edgesync sync pull|push --now\n"
                 "each with [-c FILE | --url URL] [--token-file FILE | --token T] [--ca FILE] [--json];\n"
                 "the token may also come from EDGESYNC_ADMIN_TOKEN\n",
                 why.c_str());
    return 2;
}

struct connection {
    std::string base;  // scheme://host:port
    std::string token;
    std::string ca_file;  // https: the CA (or self-signed certificate) to trust
    bool json_out = false;
    // From -c: when the node does not answer, reads are served from its store (read-only).
    std::optional<config::node_config> node;
};

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::nullopt;
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

// Takes the connection options out of `args` (what remains are the command's own).
std::optional<connection> connection_of(std::vector<std::string_view>& args, std::string& why) {
    connection c;
    std::string config_file, url, token_file, token;
    std::vector<std::string_view> rest;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        auto value = [&](std::string& into) {
            if (i + 1 >= args.size()) return false;
            into = std::string(args[++i]);
            return true;
        };
        if ((a == "-c" || a == "--config") && value(config_file)) continue;
        if (a == "--url" && value(url)) continue;
        if (a == "--token-file" && value(token_file)) continue;
        if (a == "--token" && value(token)) continue;
        if (a == "--ca" && value(c.ca_file)) continue;
        if (a == "--json") {
            c.json_out = true;
            continue;
        }
        if (a == "-c" || a == "--config" || a == "--url" || a == "--token-file" || a == "--token" || a == "--ca") {
            why = std::string(a) + " needs a value";
            return std::nullopt;
        }
        rest.push_back(a);
    }
    args = rest;
    if (url.empty()) {
        if (config_file.empty()) config_file = "/etc/edgesync/edgesync.jsonc";
        auto r = config::load_config_file(config_file);
        if (!r.config) {
            why = config_file + ": not a valid config (edgesync check-config " + config_file + "), or give --url";
            return std::nullopt;
        }
        std::string host = r.config->server.listen_host;
        if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
        if (host == "::") host = "::1";
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        const bool tls = r.config->server.tls.enabled;
        c.base = std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(r.config->server.listen_port);
        if (tls && c.ca_file.empty()) c.ca_file = r.config->server.tls.cert_file;
        c.node = std::move(*r.config);
    } else {
        while (!url.empty() && url.back() == '/') url.pop_back();
        c.base = url;
    }
    if (!token.empty()) c.token = token;
    else if (!token_file.empty()) {
        auto t = read_file(token_file);
        if (!t) {
            why = token_file + ": cannot read the token file";
            return std::nullopt;
        }
        c.token = trim(*t);
    } else if (const char* env = std::getenv("EDGESYNC_ADMIN_TOKEN")) {
        c.token = env;
    }
    // Without a token the node refuses every call (and says so); with its config the CLI can
    // still read the store of a node that is down.
    if (c.token.empty() && !c.node) {
        why = "no admin credentials: set EDGESYNC_ADMIN_TOKEN, or give --token-file FILE";
        return std::nullopt;
    }
    return c;
}

struct answer {
    unsigned status = 0;
    std::string body;
    std::string failure;  // transport: what went wrong
    bool refused = false;  // nothing listens at the address: the node is not running
};

answer offline_call(const connection& c, const std::string& path, const std::string& transport_failure);
answer online_call(const connection& c, http::verb method, const std::string& path, std::string body);

answer call(const connection& c, http::verb method, const std::string& path, std::string body = {}) {
    auto out = online_call(c, method, path, std::move(body));
    // Nothing listens (the node is down): reads come from its store instead; changes need the
    // node. Any other failure (TLS, a timeout) may be a running node, so it is only reported.
    if (out.refused && c.node && method == http::verb::get) return offline_call(c, path, out.failure);
    if (out.refused && c.node) out.failure += "; the node must be running for changes (reads work from its store while it is down)";
    return out;
}

// The admin API's own handlers, run in this process over the node's store opened read-only
// (only the reader connection: no lock, no migration, no write). Used when the node is down.
answer offline_call(const connection& c, const std::string& path, const std::string& transport_failure) {
    const auto& cfg = *c.node;
    auto opts = store_options(cfg);
    opts.read_only = true;
    std::string why;
    auto st = store::store::open(opts, why);
    if (!st) return {0, {}, transport_failure + "; and its store cannot be read either: " + why};
    std::fprintf(stderr, "edgesync: the node at %s does not answer (%s): read from its store %s instead (read-only)\n", c.base.c_str(),
                 transport_failure.c_str(), opts.path.c_str());
    auto local = backend::make_embedded_backend(**st, {});
    net::router routes;
    api::admin_params ap;
    ap.roles = net::role_admin;
    ap.node_id = cfg.instance_id;
    const bool pull_on = cfg.has_parent() && cfg.pull.enabled, push_on = cfg.has_parent() && cfg.push.enabled;
    ap.directions = [pull_on, push_on]() -> json::value {
        auto dir = [](bool on) { return json::object{{"enabled", on}, {"running", false}, {"last_success", 0}, {"feeds", json::object{}}}; };
        return json::object{{"pull", dir(pull_on)}, {"push", dir(push_on)}};
    };
    api::add_admin_routes(routes, **st, *local, nullptr, ap);
    const std::string target = "/admin/api" + path;
    const auto q = target.find('?');
    const std::string route_path = target.substr(0, q);
    auto m = routes.match(http::verb::get, route_path);
    if (!m.found) return {404, R"({"error":{"message":"no such admin resource"}})", {}};
    net::request req{http::verb::get, target, 11};
    net::request_context ctx{req, route_path, q == std::string::npos ? std::string_view{} : std::string_view(target).substr(q + 1),
                             std::move(m.params), net::principal{"cli", net::role_admin, {}}, "local"};
    answer out;
    asio::io_context ioc(1);
    asio::co_spawn(ioc, m.found->h(ctx), [&](std::exception_ptr e, net::reply r) {
        if (e) out.failure = "reading the store threw";
        else out = {static_cast<unsigned>(r.status), std::move(r.body), {}};
    });
    ioc.run();
    if (out.status == 200 && route_path == "/admin/api/status") {
        boost::system::error_code ec;
        auto v = json::parse(out.body, ec);
        if (!ec && v.is_object()) {
            v.as_object()["offline"] = true;
            out.body = json::serialize(v);
        }
    }
    return out;
}

answer online_call(const connection& c, http::verb method, const std::string& path, std::string body) {
    asio::io_context ioc(1);
    net::client_params cp;
    cp.use_env_proxy = false;  // the node is on this machine
    net::tls_wrapper tls;
    if (c.base.rfind("https://", 0) == 0) {
        net::tls_client_params tp;
        tp.ca_file = c.ca_file;
        std::string why;
        auto cfg = net::make_client_tls(tp, &why);
        if (!cfg) return {0, {}, "TLS: " + why};
        tls = net::client_tls_wrapper(*cfg);
    }
    net::http_client client(ioc.get_executor(), cp, tls);
    net::client_request req;
    req.method = method;
    req.url = c.base + "/admin/api" + path;
    if (!c.token.empty()) req.authorization = "Bearer " + c.token;
    if (!body.empty()) req.headers.set(http::field::content_type, "application/json");
    req.body = std::move(body);
    answer out;
    asio::co_spawn(ioc, client.request(std::move(req)), [&](std::exception_ptr e, boost::system::result<net::client_response> r) {
        if (e) out.failure = "the request threw";
        else if (!r) {
            out.failure = r.error().message();
            out.refused = r.error() == boost::asio::error::connection_refused;
        }
        else out = {r->status, std::move(r->body), {}};
    });
    ioc.run();
    return out;
}

// The answer as JSON, or the exit code after saying what went wrong.
std::optional<json::value> parsed(const connection& c, const answer& a, int& code) {
    if (!a.failure.empty()) {
        std::fprintf(stderr, "edgesync: %s: %s (is the node running?)\n", c.base.c_str(), a.failure.c_str());
        code = 1;
        return std::nullopt;
    }
    boost::system::error_code ec;
    json::value v = json::parse(a.body, ec);
    if (a.status / 100 != 2) {
        std::string msg = a.body.substr(0, 300);
        if (!ec && v.is_object())
            if (const auto* e = v.as_object().if_contains("error"); e && e->is_object())
                if (const auto* m = e->as_object().if_contains("message"); m && m->is_string()) msg = std::string(m->as_string());
        std::fprintf(stderr, "edgesync: the node answered %u: %s\n", a.status, trim(msg).c_str());
        code = 1;
        return std::nullopt;
    }
    if (ec) {
        std::fprintf(stderr, "edgesync: the node's answer is not JSON\n");
        code = 1;
        return std::nullopt;
    }
    if (c.json_out) std::printf("%s\n", a.body.c_str());
    code = 0;
    return v;
}

std::string str(const json::value& v, const char* key) {
    const auto* o = v.if_object();
    const auto* f = o ? o->if_contains(key) : nullptr;
    if (!f) return "";
    if (f->is_string()) return std::string(f->as_string());
    if (f->is_int64()) return std::to_string(f->as_int64());
    if (f->is_bool()) return f->as_bool() ? "yes" : "no";
    return json::serialize(*f);
}
std::int64_t num(const json::value& v, const char* key) {
    const auto* o = v.if_object();
    const auto* f = o ? o->if_contains(key) : nullptr;
    return f && f->is_int64() ? f->as_int64() : 0;
}

// "3m ago", "in 12s", "never" from a Unix-ms time against `now`.
std::string when(std::int64_t at, std::int64_t now) {
    if (at <= 0) return "never";
    std::int64_t d = (now - at) / 1000;
    const bool future = d < 0;
    if (future) d = -d;
    std::string s = d < 120 ? std::to_string(d) + "s" : d < 7200 ? std::to_string(d / 60) + "m" : d < 172800 ? std::to_string(d / 3600) + "h" : std::to_string(d / 86400) + "d";
    return future ? "in " + s : s + " ago";
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// An id as the admin API gives them: digits only (so nothing else ever lands in a request path).
bool is_id(std::string_view s) {
    return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// A query value, percent-encoded (RFC 3986 unreserved characters pass as they are).
std::string query_value(std::string_view v) {
    std::string out;
    for (const char c : v) {
        const auto ch = static_cast<unsigned char>(c);
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            out += static_cast<char>(ch);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", ch);
            out += buf;
        }
    }
    return out;
}

std::string clip(std::string s, std::size_t n) {
    for (char& ch : s)
        if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    return s.size() > n ? s.substr(0, n - 1) + "~" : s;
}

int status_command(const connection& c) {
    int code = 0;
    auto v = parsed(c, call(c, http::verb::get, "/status"), code);
    if (!v || c.json_out) return code;
    const std::int64_t now = num(*v, "now");
    const auto& store = v->at("store");
    const auto& q = v->at("queues");
    const bool offline = v->as_object().contains("offline");
    if (offline)
        std::printf("node %s is NOT RUNNING (nothing answers at %s): this is what its store holds\n", str(*v, "node").c_str(), c.base.c_str());
    else
        std::printf("node %s (edgesync %s) at %s\n", str(*v, "node").c_str(), str(*v, "version").c_str(), c.base.c_str());
    std::printf("store: %lld resources, %lld tombstones, %.1f MB%s%s\n", static_cast<long long>(num(store, "resources")),
                static_cast<long long>(num(store, "tombstones")), static_cast<double>(num(store, "bytes")) / 1e6,
                str(store, "last_error").empty() ? "" : ", last error: ", str(store, "last_error").c_str());
    std::printf("queues: %lld failed pending, %lld parked, %lld conflicts open\n", static_cast<long long>(num(q, "failed_pending")),
                static_cast<long long>(num(q, "failed_parked")), static_cast<long long>(num(q, "conflicts_open")));
    std::printf("\n%-5s %-8s %-14s %-12s %8s %8s %7s %9s  %s\n", "sync", "state", "last success", "last run", "entries", "written", "failed",
                "conflicts", "error / next");
    for (const char* d : {"pull", "push"}) {
        const auto* dir = v->at("directions").as_object().if_contains(d);
        if (!dir) continue;
        const bool enabled = dir->at("enabled").as_bool();
        const bool running = dir->at("running").as_bool();
        const auto* last = dir->as_object().if_contains("last");
        std::string state = !enabled ? "off" : offline ? "down" : running ? "running" : "waiting";
        std::string tail;
        if (last && !str(*last, "error").empty()) tail = str(*last, "error");
        else if (running) tail = "now: " + str(dir->at("current"), "category") + ", " + std::to_string(num(dir->at("current"), "entries")) + " entries";
        else if (dir->as_object().contains("next_run")) tail = "next " + when(num(*dir, "next_run"), now);
        std::printf("%-5s %-8s %-14s %-12s %8lld %8lld %7lld %9lld  %s\n", d, state.c_str(), when(num(*dir, "last_success"), now).c_str(),
                    last ? when(num(*last, "finished"), now).c_str() : "-", static_cast<long long>(last ? num(*last, "entries") : 0),
                    static_cast<long long>(last ? num(*last, "written") : 0), static_cast<long long>(last ? num(*last, "failed") : 0),
                    static_cast<long long>(last ? num(*last, "conflicts") : 0), clip(tail, 60).c_str());
    }
    // Lag per feed: when its last run reached the end of the feed, and what that run handled.
    std::printf("\n%-5s %-20s %-14s %10s  %s\n", "sync", "category", "caught up", "last run", "last error");
    for (const char* d : {"pull", "push"}) {
        const auto* dir = v->at("directions").as_object().if_contains(d);
        const auto* feeds = dir ? dir->as_object().if_contains("feeds") : nullptr;
        if (!feeds || !feeds->is_object()) continue;
        for (const auto& [category, f] : feeds->as_object())
            std::printf("%-5s %-20s %-14s %10lld  %s\n", d, std::string(category).c_str(), when(num(f, "caught_up_at"), now).c_str(),
                        static_cast<long long>(num(f, "entries")), str(f, "error").empty() ? "-" : clip(str(f, "error"), 60).c_str());
    }
    std::printf("\n%-60s %-14s %s\n", "feed read", "updated", "last entry");
    for (const auto& f : v->at("feeds").as_array())
        std::printf("%-60s %-14s %s\n", clip(str(f, "feed"), 60).c_str(), when(num(f, "updated_at"), now).c_str(), str(f, "last_entry").c_str());
    std::printf("\n%-20s %s\n", "category", "events in this node's feed");
    for (const auto& [k, n] : v->at("events").as_object()) std::printf("%-20s %lld\n", std::string(k).c_str(), static_cast<long long>(n.as_int64()));
    return 0;
}

int failed_command(const connection& c, const std::vector<std::string_view>& a) {
    int code = 0;
    if (a.empty()) return usage("failed: list, retry ID or discard ID");
    if (a[0] == "list") {
        std::string q;
        if (a.size() == 3 && a[1] == "--state") q = "?state=" + query_value(a[2]);
        else if (a.size() != 1) return usage("failed list [--state pending|parked]");
        auto v = parsed(c, call(c, http::verb::get, "/failed" + q), code);
        if (!v || c.json_out) return code;
        const auto now = now_ms();
        std::printf("%-6s %-8s %-5s %-18s %8s %-14s %s\n", "id", "state", "dir", "category", "attempts", "next retry", "error");
        for (const auto& f : v->at("failed").as_array()) {
            const std::string err = str(f, "last_error").empty() ? str(f, "error") : str(f, "last_error");
            std::printf("%-6s %-8s %-5s %-18s %8s %-14s %s\n", str(f, "id").c_str(), str(f, "state").c_str(), str(f, "direction").c_str(),
                        str(f, "category").c_str(), str(f, "attempts").c_str(),
                        str(f, "state") == "parked" ? "-" : when(num(f, "next_retry_at"), now).c_str(), clip(err, 70).c_str());
        }
        return 0;
    }
    if ((a[0] == "retry" || a[0] == "discard") && a.size() == 2 && is_id(a[1])) {
        const std::string id(a[1]);
        auto v = parsed(c, call(c, a[0] == "retry" ? http::verb::post : http::verb::delete_, "/failed/" + id + (a[0] == "retry" ? "/retry" : "")), code);
        if (v && !c.json_out) std::printf("failed event %s %s\n", id.c_str(), a[0] == "retry" ? "will be retried at the next run" : "discarded");
        return code;
    }
    return usage("failed: list, retry ID or discard ID");
}

int conflicts_command(const connection& c, const std::vector<std::string_view>& a) {
    int code = 0;
    if (a.empty()) return usage("conflicts: list, show ID or resolve ID");
    if (a[0] == "list") {
        std::string q;
        if (a.size() == 3 && a[1] == "--status") q = "?status=" + query_value(a[2]);
        else if (a.size() != 1) return usage("conflicts list [--status open|resolved]");
        auto v = parsed(c, call(c, http::verb::get, "/conflicts" + q), code);
        if (!v || c.json_out) return code;
        const auto now = now_ms();
        std::printf("%-6s %-9s %-16s %-50s %-10s %s\n", "id", "status", "category", "resource", "policy", "detected");
        for (const auto& x : v->at("conflicts").as_array())
            std::printf("%-6s %-9s %-16s %-50s %-10s %s\n", str(x, "id").c_str(), str(x, "status").c_str(), str(x, "category").c_str(),
                        clip(str(x, "type") + "/" + str(x, "uuid"), 50).c_str(), str(x, "policy").c_str(), when(num(x, "detected_at"), now).c_str());
        return 0;
    }
    if (a[0] == "show" && a.size() == 2 && is_id(a[1])) {
        auto v = parsed(c, call(c, http::verb::get, "/conflicts/" + std::string(a[1])), code);
        if (!v || c.json_out) return code;
        std::printf("conflict %s: %s/%s (%s, %s), peer %s, policy %s\n", str(*v, "id").c_str(), str(*v, "type").c_str(), str(*v, "uuid").c_str(),
                    str(*v, "category").c_str(), str(*v, "status").c_str(), str(*v, "peer").c_str(), str(*v, "policy").c_str());
        std::printf("\nlocal (this node):\n%s\n\nremote (the peer):\n%s\n", str(*v, "local").c_str(), str(*v, "remote").c_str());
        return 0;
    }
    if (a[0] == "resolve" && a.size() == 4 && is_id(a[1])) {
        json::object body;
        if (a[2] == "--choose" && (a[3] == "local" || a[3] == "remote")) {
            body["choose"] = std::string(a[3]);
        } else if (a[2] == "--merged") {
            auto text = read_file(std::string(a[3]));
            boost::system::error_code ec;
            json::value merged = text ? json::parse(*text, ec) : json::value();
            if (!text || ec || !merged.is_object()) {
                std::fprintf(stderr, "edgesync: %.*s: %s\n", static_cast<int>(a[3].size()), a[3].data(),
                             !text ? "cannot read the file" : "not a JSON object (the merged resource)");
                return 1;
            }
            body["resource"] = std::move(merged);
        } else {
            return usage("conflicts resolve ID --choose local|remote, or --merged FILE");
        }
        auto v = parsed(c, call(c, http::verb::post, "/conflicts/" + std::string(a[1]) + "/resolve", json::serialize(body)), code);
        if (v && !c.json_out) std::printf("conflict %.*s resolved: written to the parent and here\n", static_cast<int>(a[1].size()), a[1].data());
        return code;
    }
    return usage("conflicts: list, show ID or resolve ID (--choose local|remote | --merged FILE)");
}

int audit_command(const connection& c, const std::vector<std::string_view>& a) {
    int code = 0;
    if (a.empty()) return usage("audit: list or show ID");
    if (a[0] == "list") {
        std::string q;
        for (std::size_t i = 1; i < a.size(); ++i) {
            const auto k = a[i];
            if (i + 1 >= a.size() || !(k == "--direction" || k == "--status" || k == "--category" || k == "--resource" || k == "--limit" || k == "--before"))
                return usage("audit list: unknown or incomplete option '" + std::string(k) + "'");
            q += (q.empty() ? "?" : "&") + std::string(k.substr(2)) + "=" + query_value(a[++i]);
        }
        auto v = parsed(c, call(c, http::verb::get, "/audit" + q), code);
        if (!v || c.json_out) return code;
        const auto now = now_ms();
        std::printf("%-7s %-10s %-6s %-9s %-14s %-48s %-9s %s\n", "id", "when", "dir", "status", "category", "resource", "action", "error");
        for (const auto& e : v->at("audit").as_array())
            std::printf("%-7s %-10s %-6s %-9s %-14s %-48s %-9s %s\n", str(e, "id").c_str(), when(num(e, "at"), now).c_str(), str(e, "direction").c_str(),
                        str(e, "status").c_str(), str(e, "category").c_str(), clip(str(e, "type") + "/" + str(e, "uuid"), 48).c_str(),
                        clip(str(e, "action"), 9).c_str(), clip(str(e, "error"), 60).c_str());
        if (const auto* next = v->as_object().if_contains("next_before")) std::printf("(more: --before %s)\n", json::serialize(*next).c_str());
        return 0;
    }
    if (a[0] == "show" && a.size() == 2 && is_id(a[1])) {
        auto v = parsed(c, call(c, http::verb::get, "/audit/" + std::string(a[1])), code);
        if (!v || c.json_out) return code;
        for (const char* k : {"id", "at", "direction", "category", "type", "uuid", "action", "status", "error", "origin", "peer", "transport", "duration_ms"})
            std::printf("%-12s %s\n", k, str(*v, k).c_str());
        if (v->as_object().contains("payload")) std::printf("%-12s %s\n", "payload", str(*v, "payload").c_str());
        return 0;
    }
    return usage("audit: list [filters] or show ID");
}

int sync_command(const connection& c, const std::vector<std::string_view>& a) {
    if (a.size() != 2 || (a[0] != "pull" && a[0] != "push") || a[1] != "--now") return usage("sync pull|push --now");
    int code = 0;
    auto v = parsed(c, call(c, http::verb::post, "/sync/" + std::string(a[0])), code);
    if (v && !c.json_out) std::printf("%.*s started (edgesync status shows its progress)\n", static_cast<int>(a[0].size()), a[0].data());
    return code;
}

}  // namespace

int admin_command(std::string_view command, const std::vector<std::string_view>& args) {
    std::vector<std::string_view> rest = args;
    std::string why;
    auto c = connection_of(rest, why);
    if (!c) return usage(why);
    if (command == "status") return rest.empty() ? status_command(*c) : usage("status takes no arguments besides the connection's");
    if (command == "failed") return failed_command(*c, rest);
    if (command == "conflicts") return conflicts_command(*c, rest);
    if (command == "audit") return audit_command(*c, rest);
    if (command == "sync") return sync_command(*c, rest);
    return usage("unknown command '" + std::string(command) + "'");
}

}  // namespace edgesync::agent
