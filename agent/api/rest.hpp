// OpenMRS REST v1 for metadata (and any category with a REST resource) on the embedded store,
// under /ws/rest/v1/{resource}, as OpenMRS answers it:
//   GET    /{resource}/{uuid}          the JSON as stored (v=default|full alike), with its `links`
//                                      rewritten to this node's base
//   POST   /{resource}                 create (uuid from the body, else a new one)
//   POST   /{resource}/{uuid}          update: the given properties replace the stored ones
//   DELETE /{resource}/{uuid}          void or retire (voided/retired set, the event says so)
//   DELETE /{resource}/{uuid}?purge=true   remove (a tombstone, DELETED in the feed)
// Errors are OpenMRS-style {"error":{"message":...,"code":...}} with the matching 4xx.
#pragma once

#include "net/router.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace edgesync::store {
class store;
}

namespace edgesync::api {

struct rest_params {
    std::string base = "/ws/rest/v1";
    std::uint8_t read_roles = 0, write_roles = 0;
    std::uint64_t max_resource_bytes = 4 * 1024 * 1024;
    std::uint32_t max_json_depth = 64;
    std::string node_id;
    std::string public_url;  // links' base; empty = from the Host header
    // REST resource -> category (only resources listed here are served).
    std::map<std::string, std::string> categories;
};

void add_rest_routes(net::router& r, store::store& st, rest_params p);

}  // namespace edgesync::api
