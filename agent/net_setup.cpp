#include "agent/net_setup.hpp"

#include "net/error.hpp"
#include "net/url.hpp"

namespace edgesync::agent {

namespace {
net::tls_version tls_version_of(const std::string& v) { return v == "1.3" ? net::tls_version::v1_3 : net::tls_version::v1_2; }
}  // namespace

net::server_params http_server_params(const config::node_config& cfg) {
    net::server_params sp;
    sp.max_connections = cfg.server.max_connections;
    sp.gzip_level = cfg.server.gzip_level;
    sp.max_header_bytes = cfg.limits.max_header_bytes;
    sp.max_body_bytes = cfg.limits.max_request_body;
    sp.header_timeout = cfg.server.header_timeout;
    sp.body_timeout = cfg.server.body_timeout;
    sp.handler_timeout = cfg.server.handler_timeout;
    sp.write_timeout = cfg.server.write_timeout;
    sp.idle_timeout = cfg.server.idle_timeout;
    return sp;
}

std::vector<net::user_entry> http_users(const config::server_params& s) {
    std::vector<net::user_entry> out;
    for (const auto& u : s.users) {
        net::user_entry e;
        e.name = u.name;
        e.password_hash = u.password_hash;
        e.token_sha256 = u.token_sha256;
        for (auto r : u.roles) {
            switch (r) {
                case config::role::admin: e.roles |= net::role_admin; break;
                case config::role::sync_peer: e.roles |= net::role_sync_peer; break;
                case config::role::local_app: e.roles |= net::role_local_app; break;
            }
        }
        e.categories = u.categories;
        out.push_back(std::move(e));
    }
    return out;
}

net::tls_server_params server_tls_params(const config::server_tls_params& t) {
    net::tls_server_params p;
    p.cert_file = t.cert_file;
    p.key_file = t.key_file;
    p.client_ca_file = t.client_ca_file;
    p.min_version = tls_version_of(t.min_version);
    return p;
}

net::tls_client_params parent_tls_params(const config::parent_tls_params& t) {
    net::tls_client_params p;
    p.ca_file = t.ca_file;
    p.ca_dir = t.ca_dir;
    p.pins = t.pins;
    p.cert_file = t.client_cert_file;
    p.key_file = t.client_key_file;
    p.server_name = t.server_name;
    p.insecure = t.insecure;
    return p;
}

net::client_params parent_client_params(const config::node_config& cfg) {
    const auto& p = cfg.parent;
    net::client_params cp;
    cp.resolve_timeout = p.resolve_timeout;
    cp.connect_timeout = p.connect_timeout;
    cp.tls_timeout = p.tls_timeout;
    cp.write_timeout = p.write_timeout;
    cp.first_byte_timeout = p.first_byte_timeout;
    cp.body_idle_timeout = p.body_idle_timeout;
    cp.max_connections_per_origin = p.max_connections;
    cp.max_redirects = p.max_redirects;
    cp.max_header_bytes = cfg.limits.max_header_bytes;
    cp.max_body_bytes = cfg.limits.max_response_body;
    cp.proxy = p.proxy;
    return cp;
}

std::string parent_authorization(const config::parent_params& p) {
    if (!p.token.empty()) return net::bearer_authorization(p.token.reveal());
    if (!p.username.empty()) return net::basic_authorization(p.username, p.password.reveal());
    return {};
}

boost::system::result<std::shared_ptr<net::tls_config>> make_server_tls(const config::server_params& s, std::string& why) {
    if (!s.tls.enabled) return std::shared_ptr<net::tls_config>();
    return net::make_server_tls(server_tls_params(s.tls), &why);
}

boost::system::result<parent_link> make_parent_link(boost::asio::any_io_executor ex, const config::node_config& cfg, std::string& why) {
    auto u = net::parse_url(cfg.parent.url, &why);
    if (!u) return boost::system::error_code(net::errc::bad_url);
    net::tls_wrapper tls;
    if (u->is_tls()) {
        auto t = net::make_client_tls(parent_tls_params(cfg.parent.tls), &why);
        if (!t) return t.error();
        tls = net::client_tls_wrapper(*t);
    }
    parent_link out;
    out.client = std::make_unique<net::http_client>(std::move(ex), parent_client_params(cfg), std::move(tls));
    out.authorization = parent_authorization(cfg.parent);
    return out;
}

}  // namespace edgesync::agent
