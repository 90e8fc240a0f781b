// The clients a category can name (sync2's "clients", DESIGN.md §1): how the link an atom feed
// entry offers becomes a resource the backends read and write, as FHIR R4 or OpenMRS REST.
//   fhir    ".../ws/fhir2/R4/{Type}/{id}"                        -> FHIR {Type}/{id}
//   rest    ".../ws/rest/v1/{resource}/{uuid}[?...]"              -> REST {resource}/{uuid}
//   bahmni  ".../ws/rest/v1/bahmnicore/bahmniencounter/{uuid}"    -> REST encounter/{uuid}
//           (Bahmni's encounter feed links its encounter-transaction view; the encounter it
//           presents, with its obs, is the REST encounter of the same uuid)
// Code that embeds edgesync adds its own with add(), at startup: before the configuration is
// loaded (check-config accepts the names registered by then) and before any sync runs. The
// registry is not locked; after startup it is only read.
//
// For an entry, the category's client is asked first, through the link the entry offers for it
// (a JSON content's link of that name, or Bahmni's one URL); then every other client, in the order
// they were registered, through the link the entry offers for that one.
#pragma once

#include "agent/feed/entry_content.hpp"
#include "store/records.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgesync::sync {

struct link_client {
    std::string name;  // as the config names it: [a-z0-9_-]+; also its link's name in a JSON content
    // Which resource the link names; nullopt when it is not a link this client understands.
    std::function<std::optional<store::resource_key>(std::string_view link)> resolve;
};

class client_registry {
public:
    client_registry() = default;  // empty
    // fhir, rest and bahmni, plus whatever code added. The process's one registry.
    static client_registry& standard();

    // False (and nothing added) when the name is taken, empty, not [a-z0-9_-]+, or resolve is empty.
    bool add(link_client c);
    const link_client* find(std::string_view name) const;
    std::vector<std::string> names() const;  // in registration order

    // The resource the entry names, or why none: `preferred`'s link first, then the others'.
    std::optional<store::resource_key> resolve(const feed::entry_links& links, std::string_view preferred, std::string& problem) const;

private:
    std::vector<link_client> clients_;
};

}  // namespace edgesync::sync
