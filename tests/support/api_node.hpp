// An edgesync node's API in the test process: a real store file, the feeds, FHIR and REST routes
// exactly as the node serves them (agent::add_api_routes), on 127.0.0.1, with three callers:
//   "child" (sync-peer, token child-token), "app" (local-app, token app-token), "admin" (admin,
//   token admin-token).
// For tests that drive the replicator directly against a parent, without processes.
// Runs on the test's io_context, which must outlive it.
#pragma once

#include "agent/backend/backend.hpp"
#include "agent/config.hpp"
#include "support/canned_server.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>

namespace edgesync::net {
class http_client;
class http_server;
class router;
}
namespace edgesync::store {
class store;
}

namespace edgesync::test {

class api_node {
public:
    // `config_json`: the node's config file (data_dir and server are filled in); "{}" = defaults.
    // `extra_routes` adds routes (e.g. the admin API) before the server starts.
    using route_adder = std::function<void(net::router&, store::store&, backend::local_backend& local)>;
    explicit api_node(boost::asio::io_context& ioc, const std::string& instance_id, const std::string& config_json = "{}",
                      route_adder extra_routes = {});
    ~api_node();

    store::store& st() { return *st_; }
    const config::node_config& cfg() const { return cfg_; }
    std::string base_url() const;  // http://127.0.0.1:<port>
    std::uint16_t port() const { return port_; }
    net::router& routes() { return *routes_; }
    std::uint64_t requests_handled() const;

    // Its local side (the embedded backend over its store).
    backend::local_backend& local() { return *local_; }
    // This node as a parent, seen by a child: its feeds, FHIR and REST over HTTP with the
    // "child" credentials.
    // `batch_size` > 1: FHIR reads in Bundle batches (openmrs_params::batch_size).
    std::unique_ptr<backend::local_backend> as_parent(net::http_client& client, store::store& child_store, std::uint32_t batch_size = 0) const;

    // One request as the local app (or with another bearer token).
    raw_response call(const std::string& method, const std::string& path, const std::string& body = "",
                      const std::string& token = "app-token");

private:
    boost::asio::io_context& ioc_;
    temp_dir tmp_;
    config::node_config cfg_;
    std::unique_ptr<store::store> st_;
    std::shared_ptr<net::router> routes_;
    std::unique_ptr<net::http_server> server_;
    std::unique_ptr<backend::local_backend> local_;
    std::uint16_t port_ = 0;
};

}  // namespace edgesync::test
