// The admin API (role admin), JSON under /admin/api — what an operator needs to see and fix:
//   GET    /admin/api/failed[?state=pending|parked]    the retry queue
//   POST   /admin/api/failed/{id}/retry                due now, attempts reset (a parked one too)
//   DELETE /admin/api/failed/{id}                      discarded (audited)
//   GET    /admin/api/conflicts[?status=open|resolved] conflicts, newest first
//   GET    /admin/api/conflicts/{id}                   one, with both versions
//   POST   /admin/api/conflicts/{id}/resolve           {"choose":"local"|"remote"} or {"resource":{...}}
//   POST   /admin/api/sync/{pull|push}                 run that direction now (202; 404 when it is off)
//   GET    /admin/api/audit[?direction=&category=&status=&resource=&since=&until=&before=&limit=]
//                                                      the audit log, newest first, paged
//   GET    /admin/api/audit/{id}                       one entry, with its payload when recorded
//   GET    /admin/api/status                           the node at a glance: store, queues, feed
//                                                      positions, each direction's current and last run
// Errors are {"error":{"message":...}} with the matching status.
//
// The operator's page, GET /admin/ (GET /admin redirects there): one self-contained HTML document
// (agent/api/admin_page.html, embedded at build time). It is the same static bytes for everyone
// and holds no data, so it needs no credentials itself: its sign-in form asks for them and every
// call it makes goes to the API above with an explicit Authorization header. Its
// Content-Security-Policy admits only its own inline script and style (by hash) and connections
// to this origin.
#pragma once

#include "net/router.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace edgesync::backend {
class local_backend;
}
namespace edgesync::store {
class store;
}

namespace edgesync::api {

struct admin_params {
    std::string base = "/admin/api";
    std::uint8_t roles = 0;  // net::role_bit flags that may use it
    std::string node_id;
    // POST {base}/sync/{pull|push}: start that direction's run now (false: not configured here).
    std::function<bool(std::string_view direction)> trigger_sync;
    // GET {base}/status: {"pull": {...}, "push": {...}} as the node's sync loops see them.
    std::function<boost::json::value()> directions;
};

// `local` and `parent` (null when this node has none) must outlive the router.
void add_admin_routes(net::router& r, store::store& st, backend::local_backend& local, backend::local_backend* parent, admin_params p);

// The page's bytes, and the Content-Security-Policy it is served with.
std::string_view admin_page();
std::string admin_page_csp();

}  // namespace edgesync::api
