// The replicator's decisions without I/O: three-way comparison against the last agreed
// fingerprint, each conflict policy from both directions, and the entry links it understands.
#include "agent/api/provenance.hpp"
#include "agent/sync/clients.hpp"
#include "agent/sync/replicator.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace edgesync;
using sync::decision;
using config::conflict_policy;

TEST_CASE("decide: equal sides agree, one-sided changes win, first contact applies") {
    for (auto policy : {conflict_policy::manual, conflict_policy::parent_wins, conflict_policy::child_wins, conflict_policy::newest_wins})
        for (bool pull : {true, false}) {
            CHECK(sync::decide({"A", std::nullopt, std::nullopt}, policy, pull) == decision::apply);      // target never had it
            CHECK(sync::decide({"deleted", std::nullopt, std::nullopt}, policy, pull) == decision::agree);  // gone on both sides
            CHECK(sync::decide({"A", "A", std::nullopt}, policy, pull) == decision::agree);
            CHECK(sync::decide({"A", "A", "B"}, policy, pull) == decision::agree);
            CHECK(sync::decide({"B", "A", "A"}, policy, pull) == decision::apply);        // only the source changed
            CHECK(sync::decide({"A", "B", "A"}, policy, pull) == decision::keep_target);  // only the target changed
            CHECK(sync::decide({"deleted", "A", "A"}, policy, pull) == decision::apply);  // a delete at the source
        }
}

TEST_CASE("decide: both sides changed is a conflict, settled by the policy from either direction") {
    const sync::three_way both{"B", "C", "A", 2000, 1000};  // the source is newer
    CHECK(sync::decide(both, conflict_policy::manual, true) == decision::park);
    CHECK(sync::decide(both, conflict_policy::manual, false) == decision::park);
    CHECK(sync::decide(both, conflict_policy::parent_wins, true) == decision::apply);
    CHECK(sync::decide(both, conflict_policy::parent_wins, false) == decision::keep_target);
    CHECK(sync::decide(both, conflict_policy::child_wins, true) == decision::keep_target);
    CHECK(sync::decide(both, conflict_policy::child_wins, false) == decision::apply);
    CHECK(sync::decide(both, conflict_policy::newest_wins, true) == decision::apply);
    CHECK(sync::decide(both, conflict_policy::newest_wins, false) == decision::apply);
    const sync::three_way older{"B", "C", "A", 1000, 2000};
    CHECK(sync::decide(older, conflict_policy::newest_wins, true) == decision::keep_target);
    const sync::three_way unknown_times{"B", "C", "A", 0, 2000};  // the parent wins when a time is unknown
    CHECK(sync::decide(unknown_times, conflict_policy::newest_wins, true) == decision::apply);
    CHECK(sync::decide(unknown_times, conflict_policy::newest_wins, false) == decision::keep_target);
    // Different content and no agreement yet: also a conflict.
    CHECK(sync::decide({"B", "C", std::nullopt}, conflict_policy::manual, true) == decision::park);
}

TEST_CASE("provenance: a sync peer names the author and is recorded as the child it is, anyone else writes as this node") {
    net::principal peer{"clinic-7", net::role_sync_peer, {}};
    auto p = api::provenance_of(peer, "leaf-3", "district");
    CHECK(p.origin_node == "leaf-3");
    CHECK(p.arrived_from == "child:clinic-7");
    p = api::provenance_of(peer, "", "district");  // no claim: the peer itself
    CHECK(p.origin_node == "clinic-7");
    p = api::provenance_of(peer, "bad id\r\nX: y", "district");  // not a node id: ignored
    CHECK(p.origin_node == "clinic-7");
    net::principal app{"lab-app", net::role_local_app, {}};
    p = api::provenance_of(app, "leaf-3", "district");  // an app cannot claim another author
    CHECK(p.origin_node == "district");
    CHECK(p.arrived_from.empty());
    CHECK(api::origin_in(nullptr).empty());
    auto ext = boost::json::parse(R"([{"url":"other","valueString":"x"},{"url":"https://edgesync.org/fhir/StructureDefinition/origin","valueString":"leaf-3"}])");
    CHECK(api::origin_in(&ext) == "leaf-3");
}

TEST_CASE("clients: the category's client is asked first, then the others, and code can add its own") {
    const auto& std_clients = sync::client_registry::standard();
    CHECK(std_clients.names() == std::vector<std::string>{"fhir", "rest", "bahmni"});
    auto links = *feed::parse_entry_content(R"({"rest":"/ws/rest/v1/patient/p1?v=full","fhir":"/ws/fhir2/R4/Patient/p1"})");
    std::string problem;
    auto k = std_clients.resolve(links, "rest", problem);
    REQUIRE(k);
    CHECK(k->representation == "rest");
    k = std_clients.resolve(links, "fhir", problem);
    REQUIRE(k);
    CHECK(k->representation == "fhir");
    // A link map without the preferred client's link: another client's is used.
    k = std_clients.resolve(*feed::parse_entry_content(R"({"rest":"/ws/rest/v1/location/l1"})"), "fhir", problem);
    REQUIRE(k);
    CHECK(k->type == "location");
    // Bahmni's one URL, whatever the category's client.
    k = std_clients.resolve(*feed::parse_entry_content("/openmrs/ws/rest/v1/bahmnicore/bahmniencounter/0f54fe40?includeAll=true"), "fhir", problem);
    REQUIRE(k);
    CHECK((k->representation == "rest" && k->type == "encounter" && k->uuid == "0f54fe40"));
    // Nothing any client knows: the problem names the link and the clients.
    CHECK_FALSE(std_clients.resolve(*feed::parse_entry_content("/openmrs/ws/rest/v1/bahmnicore/other/x/y"), "rest", problem));
    CHECK_THAT(problem, Catch::Matchers::Contains("/openmrs/ws/rest/v1/bahmnicore/other/x/y") && Catch::Matchers::Contains("fhir, rest, bahmni"));
    CHECK_FALSE(std_clients.resolve(*feed::parse_entry_content(R"({"hl7":"urn:x"})"), "rest", problem));
    CHECK_THAT(problem, Catch::Matchers::Contains("offers no link"));

    // A client added in code: its own link name in the content, its own mapping.
    sync::client_registry mine;
    CHECK(mine.add({"lab", [](std::string_view link) -> std::optional<store::resource_key> {
                        if (link.rfind("lab:", 0) != 0) return std::nullopt;
                        return store::resource_key{"fhir", "DiagnosticReport", std::string(link.substr(4))};
                    }}));
    CHECK_FALSE(mine.add({"lab", [](std::string_view) { return std::optional<store::resource_key>(); }}));  // taken
    CHECK_FALSE(mine.add({"Lab Client", [](std::string_view) { return std::optional<store::resource_key>(); }}));  // not a name
    CHECK_FALSE(mine.add({"empty", {}}));
    k = mine.resolve(*feed::parse_entry_content(R"({"lab":"lab:r7"})"), "lab", problem);
    REQUIRE(k);
    CHECK((k->type == "DiagnosticReport" && k->uuid == "r7"));
}

TEST_CASE("entry links: FHIR and REST paths, with context paths, queries and absolute URLs, and anything else refused") {
    auto k = sync::key_from_link("/ws/fhir2/R4/Patient/ab6cba2e-8e03-41ec-a551-aab6e04b27f6");
    REQUIRE(k);
    CHECK(k->representation == "fhir");
    CHECK(k->type == "Patient");
    CHECK(k->uuid == "ab6cba2e-8e03-41ec-a551-aab6e04b27f6");
    k = sync::key_from_link("/openmrs/ws/rest/v1/patient/e8aa08f6-86cd-42f9-8924-1b3ea021aeb4?v=full");
    REQUIRE(k);
    CHECK(k->representation == "rest");
    CHECK(k->type == "patient");
    CHECK(k->uuid == "e8aa08f6-86cd-42f9-8924-1b3ea021aeb4");
    k = sync::key_from_link("https://district.example.org/openmrs/ws/fhir2/R4/Encounter/e1#x");
    REQUIRE(k);
    CHECK(k->uuid == "e1");
    CHECK_FALSE(sync::key_from_link(""));
    CHECK_FALSE(sync::key_from_link("/ws/fhir2/R4/Patient"));
    CHECK_FALSE(sync::key_from_link("/ws/fhir2/R4/Patient/"));
    CHECK_FALSE(sync::key_from_link("/ws/rest/v1/patient/p1/identifier/i1"));  // a sub-resource
    CHECK_FALSE(sync::key_from_link("/openmrs/ws/rest/v1/bahmnicore/bahmniencounter/0f54/x?includeAll=true"));
    CHECK_FALSE(sync::key_from_link("/something/else/entirely"));
}
