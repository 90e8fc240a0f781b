// OpenMRS REST v1 on the embedded store over real HTTP: the fixtures round-trip through POST and
// GET (links re-pointed at this node), updates merge, DELETE voids or retires (or purges), each
// change is one feed event, and bad requests get OpenMRS-style errors and change nothing.
#include "agent/api/rest.hpp"
#include "net/auth.hpp"
#include "net/http_server.hpp"
#include "store/store.hpp"
#include "support/canned_server.hpp"
#include "support/catch_net.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "tests/store/store_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace edgesync;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct rest_node {
    test::temp_dir tmp;
    std::unique_ptr<store::store> st;
    asio::io_context ioc;
    std::unique_ptr<net::http_server> server;
    std::uint16_t port = 0;

    rest_node() {
        store::store_options o;
        o.path = tmp.file("edgesync.db");
        std::string why;
        auto s = store::store::open(o, why);
        REQUIRE(s);
        st = std::move(*s);
        auto routes = std::make_shared<net::router>();
        api::rest_params p;
        p.read_roles = p.write_roles = net::role_local_app;
        p.max_resource_bytes = 256 * 1024;
        p.node_id = "clinic-a";
        p.categories = {{"patient", "patient"}, {"drug", "drug"}, {"encounter", "encounter"}, {"obs", "observation"},
                        {"program", "program"}, {"visit", "visit"}, {"location", "location"}};
        api::add_rest_routes(*routes, *st, p);
        std::vector<net::user_entry> users{{"app", "", net::sha256_hex("t"), net::role_local_app, {}}};
        server = std::make_unique<net::http_server>(ioc.get_executor(), net::server_params{}, routes, std::make_shared<net::authenticator>(users));
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        port = server->local_endpoint().port();
    }

    std::pair<int, std::string> call(const std::string& method, const std::string& path, const std::string& body = "") {
        std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\nAuthorization: Bearer t\r\n";
        if (method == "POST") req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        req += "\r\n" + body;
        auto r = test::parse_raw_response(test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port}, req)));
        return {r.status, r.body};
    }
    std::vector<store::event_record> events() {
        auto job = [](store::sql::connection& db) { return store::events_after(db, "", 0, 1000); };
        return *test::run_until_done(ioc, st->read<std::vector<store::event_record>>(std::move(job)));
    }
};


void drop_links(json::value& v) {
    if (v.is_object()) {
        v.as_object().erase("links");
        for (auto& kv : v.as_object()) drop_links(kv.value());
    } else if (v.is_array()) {
        for (auto& e : v.as_array()) drop_links(e);
    }
}

// Every links[].uri found, at any depth.
void collect_links(const json::value& v, std::vector<std::string>& out) {
    if (v.is_object()) {
        for (const auto& kv : v.as_object()) {
            if (kv.key() == "links" && kv.value().is_array()) {
                for (const auto& l : kv.value().as_array())
                    if (l.is_object() && l.as_object().contains("uri")) out.emplace_back(l.at("uri").as_string());
            } else {
                collect_links(kv.value(), out);
            }
        }
    } else if (v.is_array()) {
        for (const auto& e : v.as_array()) collect_links(e, out);
    }
}

std::string resource_of(const std::string& file) {
    return file.substr(0, file.find('-'));
}

}  // namespace

TEST_CASE("every REST v1 fixture round-trips through POST and GET, links pointing at this node", "[agent][rest]") {
    rest_node node;
    const std::string dir = EDGESYNC_SHARED_DIR "/fixtures/openmrs/rest-v1";
    int n = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        const std::string name = f.path().filename().string();
        if (f.path().extension() != ".json" || name.rfind("request-", 0) == 0) continue;
        json::value fixture = json::parse(test::read_file(f.path().string()));
        if (!fixture.as_object().contains("uuid")) continue;  // a search result, not a resource
        CAPTURE(name);
        const std::string resource = resource_of(name);
        const std::string uuid(fixture.at("uuid").as_string());
        auto [status, body] = node.call("POST", "/ws/rest/v1/" + resource, json::serialize(fixture));
        CAPTURE(body);
        REQUIRE(status == 201);
        auto [gs, got] = node.call("GET", "/ws/rest/v1/" + resource + "/" + uuid + "?v=full");
        REQUIRE(gs == 200);
        json::value back = json::parse(got);
        std::vector<std::string> links;
        collect_links(back, links);
        for (const auto& l : links) CHECK_THAT(l, Catch::Matchers::StartsWith("http://127.0.0.1:" + std::to_string(node.port) + "/ws/rest/v1/"));
        drop_links(back);
        drop_links(fixture);
        CHECK(back == fixture);
        ++n;
    }
    CHECK(n >= 8);
    CHECK(node.events().size() == static_cast<std::size_t>(n));
}

TEST_CASE("create assigns a uuid, update merges, delete voids or retires, purge removes", "[agent][rest]") {
    rest_node node;
    const std::string dir = EDGESYNC_SHARED_DIR "/fixtures/openmrs/rest-v1/";
    auto [cs, created] = node.call("POST", "/ws/rest/v1/patient", test::read_file(dir + "request-create-patient.json"));
    REQUIRE(cs == 201);
    const std::string uuid(json::parse(created).at("uuid").as_string());
    CHECK(uuid.size() == 36);
    auto [us, updated] = node.call("POST", "/ws/rest/v1/patient/" + uuid, test::read_file(dir + "request-update-patient.json"));
    REQUIRE(us == 200);
    auto merged = json::parse(updated);
    CHECK(merged.as_object().contains("identifiers"));  // kept from the create
    CHECK(merged.at("person") == json::parse(test::read_file(dir + "request-update-patient.json")).at("person"));  // replaced

    CHECK(node.call("DELETE", "/ws/rest/v1/patient/" + uuid).first == 204);
    CHECK(json::parse(node.call("GET", "/ws/rest/v1/patient/" + uuid).second).at("voided") == true);
    const std::string drug = test::read_file(dir + "drug-full-o3.json");
    const std::string drug_uuid(json::parse(drug).at("uuid").as_string());
    REQUIRE(node.call("POST", "/ws/rest/v1/drug", drug).first == 201);
    CHECK(node.call("DELETE", "/ws/rest/v1/drug/" + drug_uuid + "?reason=duplicate").first == 204);
    auto retired = json::parse(node.call("GET", "/ws/rest/v1/drug/" + drug_uuid).second);
    CHECK(retired.at("retired") == true);
    CHECK(retired.at("retireReason") == "duplicate");
    CHECK(node.call("DELETE", "/ws/rest/v1/drug/" + drug_uuid + "?purge=true").first == 204);
    CHECK(node.call("GET", "/ws/rest/v1/drug/" + drug_uuid).first == 404);

    auto ev = node.events();
    REQUIRE(ev.size() == 6);
    CHECK(ev[0].tags == "CREATED");
    CHECK(ev[1].tags == "UPDATED");
    CHECK(ev[2].tags == "VOIDED");
    CHECK(ev[4].tags == "RETIRED");
    CHECK(ev[5].tags == "DELETED");
    CHECK(ev[0].object == "{\"rest\":\"/ws/rest/v1/patient/" + uuid + "?v=full\"}");  // no fhir link: it would not resolve
}

TEST_CASE("REST errors are OpenMRS-style and change nothing", "[agent][rest]") {
    rest_node node;
    REQUIRE(node.call("POST", "/ws/rest/v1/location", R"({"uuid":"l1","name":"Clinic","retired":false})").first == 201);
    const auto before = node.events().size();
    auto check_error = [&](std::pair<int, std::string> r, int status, const std::string& words) {
        CAPTURE(r.second);
        CHECK(r.first == status);
        auto v = json::parse(r.second);
        CHECK_THAT(std::string(v.at("error").at("message").as_string()), Catch::Matchers::Contains(words));
    };
    check_error(node.call("GET", "/ws/rest/v1/frobnicator/x"), 404, "Unknown resource");
    check_error(node.call("GET", "/ws/rest/v1/location"), 405, "method not allowed");  // the server's own refusal: still OpenMRS-style
    check_error(node.call("GET", "/ws/rest/v1/location/nope"), 404, "doesn't exist");
    check_error(node.call("POST", "/ws/rest/v1/location", "{\"uuid\":"), 400, "Could not read JSON");
    check_error(node.call("POST", "/ws/rest/v1/location/l1", R"({"uuid":"l2"})"), 400, "differs");
    check_error(node.call("POST", "/ws/rest/v1/location/bad$uuid", "{}"), 400, "Invalid uuid");
    check_error(node.call("POST", "/ws/rest/v1/location/l9", R"({"name":"x"})"), 404, "doesn't exist");
    check_error(node.call("POST", "/ws/rest/v1/location", R"({"uuid":"l1","name":"Other"})"), 409, "already exists");
    check_error(node.call("POST", "/ws/rest/v1/location", "{\"name\":\"" + std::string(300 * 1024, 'x') + "\"}"), 413, "exceeds the limit");
    CHECK(node.events().size() == before);
    CHECK(json::parse(node.call("GET", "/ws/rest/v1/location/l1").second).at("name") == "Clinic");
}
