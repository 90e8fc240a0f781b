// From the node's configuration to the net layer's parameters: the HTTP server (limits,
// deadlines, users and roles, TLS) and the client that talks to the parent (deadlines, proxy,
// TLS verification, credentials). One place, so the server, check-config and the sync engine
// read the config the same way.
#pragma once

#include "agent/config.hpp"
#include "net/auth.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/tls.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <vector>

namespace edgesync::agent {

net::server_params http_server_params(const config::node_config& cfg);
std::vector<net::user_entry> http_users(const config::server_params& s);
net::tls_server_params server_tls_params(const config::server_tls_params& t);
net::tls_client_params parent_tls_params(const config::parent_tls_params& t);
net::client_params parent_client_params(const config::node_config& cfg);
// The Authorization header value for the parent: Bearer when a token is set, else Basic when a
// username is, else empty.
std::string parent_authorization(const config::parent_params& p);

// The server's TLS configuration, or errc::tls_bad_config with `why` naming the file and the
// reason. Null (and no error) when TLS is disabled.
boost::system::result<std::shared_ptr<net::tls_config>> make_server_tls(const config::server_params& s, std::string& why);

// A client for the parent, TLS included when its URL is https.
struct parent_link {
    std::unique_ptr<net::http_client> client;
    std::string authorization;
};
boost::system::result<parent_link> make_parent_link(boost::asio::any_io_executor ex, const config::node_config& cfg, std::string& why);

}  // namespace edgesync::agent
