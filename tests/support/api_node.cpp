#include "support/api_node.hpp"

#include "agent/api_setup.hpp"
#include "agent/backend/embedded.hpp"
#include "agent/backend/openmrs.hpp"
#include "agent/net_setup.hpp"
#include "agent/store_setup.hpp"
#include "net/auth.hpp"
#include "net/http_server.hpp"
#include "store/store.hpp"
#include "support/run.hpp"

#include <boost/asio/ip/address.hpp>

#include <stdexcept>

namespace edgesync::test {
namespace asio = boost::asio;

api_node::api_node(asio::io_context& ioc, const std::string& instance_id, const std::string& config_json, route_adder extra_routes)
    : ioc_(ioc) {
    auto loaded = config::parse_config(config_json, tmp_.path());
    if (!loaded.config) throw std::runtime_error("api_node: bad config: " + (loaded.problems.empty() ? "" : loaded.problems[0].message));
    cfg_ = *loaded.config;
    cfg_.instance_id = instance_id;
    cfg_.data_dir = tmp_.path();
    std::string why;
    auto s = store::store::open(agent::store_options(cfg_), why);
    if (!s) throw std::runtime_error("api_node: store: " + why);
    st_ = std::move(*s);
    routes_ = std::make_shared<net::router>();
    agent::add_api_routes(*routes_, *st_, cfg_);
    local_ = backend::make_embedded_backend(*st_, backend::embedded_params{});
    if (extra_routes) extra_routes(*routes_, *st_, *local_);
    std::vector<net::user_entry> users{{"child", "", net::sha256_hex("child-token"), net::role_sync_peer, {}},
                                       {"app", "", net::sha256_hex("app-token"), net::role_local_app, {}},
                                       {"admin", "", net::sha256_hex("admin-token"), net::role_admin, {}}};
    server_ = std::make_unique<net::http_server>(ioc.get_executor(), agent::http_server_params(cfg_), routes_,
                                                 std::make_shared<net::authenticator>(users));
    if (auto ec = server_->listen({asio::ip::make_address("127.0.0.1"), 0})) throw std::runtime_error("api_node: listen: " + ec.message());
    port_ = server_->local_endpoint().port();
}

api_node::~api_node() = default;

std::uint64_t api_node::requests_handled() const { return server_->requests_handled(); }

std::string api_node::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::unique_ptr<backend::local_backend> api_node::as_parent(net::http_client& client, store::store& child_store,
                                                           std::uint32_t batch_size) const {
    backend::openmrs_params p;
    p.batch_size = batch_size;
    p.base_url = base_url();
    p.authorization = net::bearer_authorization("child-token");
    p.peer = "parent";
    return backend::make_openmrs_backend(client, child_store, p);
}

raw_response api_node::call(const std::string& method, const std::string& path, const std::string& body, const std::string& token) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                      "\r\nConnection: close\r\nAuthorization: Bearer " + token + "\r\n";
    if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    return parse_raw_response(run_until_done(ioc_, raw_exchange(ioc_, {asio::ip::make_address("127.0.0.1"), port_}, req)));
}

}  // namespace edgesync::test
