#include "agent/sync/clients.hpp"

#include "agent/sync/replicator.hpp"

#include <algorithm>

namespace edgesync::sync {

namespace {

// ".../ws/rest/v1/bahmnicore/bahmniencounter/{uuid}[?...]" -> REST encounter/{uuid}.
std::optional<store::resource_key> bahmni_encounter(std::string_view link) {
    link = link.substr(0, link.find_first_of("?#"));
    constexpr std::string_view marker = "/ws/rest/v1/bahmnicore/bahmniencounter/";
    const auto at = link.find(marker);
    if (at == std::string_view::npos) return std::nullopt;
    const std::string_view uuid = link.substr(at + marker.size());
    if (uuid.empty() || uuid.find('/') != std::string_view::npos) return std::nullopt;
    return store::resource_key{"rest", "encounter", std::string(uuid)};
}

bool valid_name(std::string_view n) {
    return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

}  // namespace

client_registry& client_registry::standard() {
    static client_registry r = [] {
        client_registry out;
        auto only = [](const char* representation) {
            return [representation](std::string_view link) -> std::optional<store::resource_key> {
                auto k = key_from_link(link);
                if (!k || k->representation != representation) return std::nullopt;
                return k;
            };
        };
        out.add({"fhir", only("fhir")});
        out.add({"rest", only("rest")});
        out.add({"bahmni", bahmni_encounter});
        return out;
    }();
    return r;
}

bool client_registry::add(link_client c) {
    if (!valid_name(c.name) || !c.resolve || find(c.name)) return false;
    clients_.push_back(std::move(c));
    return true;
}

const link_client* client_registry::find(std::string_view name) const {
    for (const auto& c : clients_)
        if (c.name == name) return &c;
    return nullptr;
}

std::vector<std::string> client_registry::names() const {
    std::vector<std::string> out;
    for (const auto& c : clients_) out.push_back(c.name);
    return out;
}

std::optional<store::resource_key> client_registry::resolve(const feed::entry_links& links, std::string_view preferred, std::string& problem) const {
    std::vector<const link_client*> order;
    if (const auto* p = find(preferred)) order.push_back(p);
    for (const auto& c : clients_)
        if (c.name != preferred) order.push_back(&c);
    std::string tried;  // the links asked about, for the problem
    for (const auto* c : order) {
        const std::string_view link = links.link_for(c->name);
        if (link.empty()) continue;
        if (auto k = c->resolve(link)) return k;
        if (tried.find("'" + std::string(link) + "'") == std::string::npos) tried += (tried.empty() ? "'" : ", '") + std::string(link) + "'";
    }
    std::string known;
    for (const auto& c : clients_) known += (known.empty() ? "" : ", ") + c.name;
    problem = tried.empty() ? "the entry offers no link for any client (" + known + ")"
                            : "entry link " + tried + " names no resource any client knows (" + known + ")";
    return std::nullopt;
}

}  // namespace edgesync::sync
