// FHIR R4 on the embedded store, over real HTTP on loopback: the fixture resources round-trip, the
// node keeps meta, every bad request gets its own 4xx with an OperationOutcome and changes nothing,
// search pages with next links, and each write is one feed event.
#include "agent/api/fhir.hpp"
#include "agent/sync/fingerprint.hpp"
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

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace edgesync;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr const char* k_token = "clinic-app-token";

struct fhir_node {
    test::temp_dir tmp;
    std::unique_ptr<store::store> st;
    asio::io_context ioc;
    std::unique_ptr<net::http_server> server;
    std::uint16_t port = 0;

    explicit fhir_node(std::uint64_t max_resource = 4 * 1024 * 1024, std::string public_url = "") {
        store::store_options o;
        o.path = tmp.file("edgesync.db");
        std::string why;
        auto s = store::store::open(o, why);
        REQUIRE(s);
        st = std::move(*s);
        auto routes = std::make_shared<net::router>();
        api::fhir_params p;
        p.read_roles = p.write_roles = net::role_local_app;
        p.max_resource_bytes = max_resource;
        p.node_id = "clinic-a";
        p.public_url = public_url;
        p.categories = {{"Patient", "patient"}, {"Encounter", "encounter"}, {"Observation", "observation"}};
        api::add_fhir_routes(*routes, *st, p);
        std::vector<net::user_entry> users{{"app", "", net::sha256_hex(k_token), net::role_local_app, {}},
                                           {"lab", "", net::sha256_hex("lab-token"), net::role_local_app, {"observation"}},
                                           {"child", "", net::sha256_hex("peer-token"), net::role_sync_peer, {}}};
        auto auth = std::make_shared<net::authenticator>(users);
        server = std::make_unique<net::http_server>(ioc.get_executor(), net::server_params{}, routes, auth);
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        port = server->local_endpoint().port();
    }

    struct response : test::raw_response {
        json::value json() const { return json::parse(body); }
    };

    response call(const std::string& method, const std::string& path, const std::string& body = "",
                  const std::string& headers = "", const std::string& token = k_token) {
        std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers;
        if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
        if (!body.empty() || method == "PUT" || method == "POST")
            req += "Content-Type: application/fhir+json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        req += "\r\n" + body;
        const std::string raw = test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port}, req));
        return {test::parse_raw_response(raw)};
    }

    // Through the io_context (not use_future: GCC 12 at -O1 warns inside asio's promise handler
    // when this is inlined, and warnings are errors in the ASan build).
    std::int64_t events() {
        auto job = [](store::sql::connection& db) { return store::count_events(db, ""); };
        return *test::run_until_done(ioc, st->read<std::int64_t>(std::move(job)));
    }
};


// The resource without what the node owns (meta.versionId, meta.lastUpdated) and the id.
json::value comparable(json::value v) {
    auto& o = v.as_object();
    o.erase("id");
    if (auto* meta = o.if_contains("meta"); meta && meta->is_object()) {
        meta->as_object().erase("versionId");
        meta->as_object().erase("lastUpdated");
        if (meta->as_object().empty()) o.erase("meta");
    }
    return v;
}

void check_outcome(const fhir_node::response& r, int status, const std::string& words) {
    CAPTURE(r.head, r.body);
    CHECK(r.status == status);
    CHECK_THAT(r.header("Content-Type"), Catch::Matchers::StartsWith("application/fhir+json"));
    auto v = r.json();
    CHECK(v.at("resourceType") == "OperationOutcome");
    CHECK_THAT(std::string(v.at("issue").at(0).at("diagnostics").as_string()), Catch::Matchers::Contains(words));
}

}  // namespace

TEST_CASE("every FHIR R4 fixture round-trips through PUT and GET as an equal JSON value", "[agent][fhir]") {
    fhir_node node;
    const std::string dir = EDGESYNC_SHARED_DIR "/fixtures/openmrs/fhir-r4/fhir2-module-payloads";
    int n = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        if (f.path().extension() != ".json") continue;
        CAPTURE(f.path().filename().string());
        const json::value fixture = json::parse(test::read_file(f.path().string()));
        const std::string type(fixture.at("resourceType").as_string());
        const std::string id = fixture.as_object().contains("id") ? std::string(fixture.at("id").as_string())
                                                                   : "fixture-" + std::to_string(++n);
        json::value body = fixture;
        body.as_object()["id"] = id;
        auto put = node.call("PUT", "/ws/fhir2/R4/" + type + "/" + id, json::serialize(body));
        CAPTURE(put.body);
        REQUIRE(put.status == 201);
        CHECK(put.header("ETag") == "W/\"1\"");
        auto get = node.call("GET", "/ws/fhir2/R4/" + type + "/" + id);
        REQUIRE(get.status == 200);
        const json::value back = get.json();
        CHECK(back.at("id").as_string() == id);
        CHECK(back.at("meta").at("versionId") == "1");
        CHECK(comparable(back) == comparable(fixture));
        CHECK_FALSE(get.header("Last-Modified").empty());
    }
    CHECK(n > 5);
}

TEST_CASE("create, update, delete: versions, ETags, one feed event per change, none for an unchanged PUT", "[agent][fhir]") {
    fhir_node node;
    const std::string patient = R"({"resourceType":"Patient","name":[{"family":"Otieno","given":["Akinyi"]}],"gender":"female"})";
    auto created = node.call("POST", "/ws/fhir2/R4/Patient", patient);
    REQUIRE(created.status == 201);
    const std::string id(created.json().at("id").as_string());
    CHECK(id.size() == 36);
    CHECK_THAT(created.header("Location"), Catch::Matchers::EndsWith("/ws/fhir2/R4/Patient/" + id + "/_history/1"));
    CHECK(node.events() == 1);

    json::value v = created.json();
    v.as_object()["gender"] = "male";
    auto updated = node.call("PUT", "/ws/fhir2/R4/Patient/" + id, json::serialize(v), "If-Match: W/\"1\"\r\n");
    REQUIRE(updated.status == 200);
    CHECK(updated.header("ETag") == "W/\"2\"");
    CHECK(node.events() == 2);
    // The same content again (even with other meta): no new version, no event.
    auto same = node.call("PUT", "/ws/fhir2/R4/Patient/" + id, json::serialize(updated.json()));
    CHECK(same.status == 200);
    CHECK(same.header("ETag") == "W/\"2\"");
    CHECK(node.events() == 2);

    CHECK(node.call("DELETE", "/ws/fhir2/R4/Patient/" + id).status == 204);
    CHECK(node.events() == 3);
    check_outcome(node.call("GET", "/ws/fhir2/R4/Patient/" + id), 410, "was deleted");
    check_outcome(node.call("DELETE", "/ws/fhir2/R4/Patient/never-was"), 404, "does not exist");
    // The feed event links the resource both ways (the category has a REST resource).
    auto events_job = [](store::sql::connection& db) { return store::events_after(db, "patient", 0, 10); };
    auto ev = test::run_until_done(node.ioc, node.st->read<std::vector<store::event_record>>(std::move(events_job)));
    REQUIRE(ev->size() == 3);
    CHECK((*ev)[0].object == "{\"fhir\":\"/ws/fhir2/R4/Patient/" + id + "\"}");  // no rest link: it would not resolve
    CHECK((*ev)[2].tags == "DELETED");
}

TEST_CASE("bad requests get their own 4xx and an OperationOutcome, and change nothing", "[agent][fhir]") {
    fhir_node node(2048);
    const std::string good = R"({"resourceType":"Patient","id":"p1","gender":"female"})";
    REQUIRE(node.call("PUT", "/ws/fhir2/R4/Patient/p1", good).status == 201);
    const auto before = node.events();

    check_outcome(node.call("PUT", "/ws/fhir2/R4/Patient/p1", R"({"resourceType":"Observation","id":"p1"})"), 400, "does not match the URL's type 'Patient'");
    check_outcome(node.call("PUT", "/ws/fhir2/R4/Patient/p1", R"({"resourceType":"Patient","id":"p1",)"), 400, "malformed JSON");
    check_outcome(node.call("PUT", "/ws/fhir2/R4/Patient/p1", "[1,2]"), 400, "must be a JSON object");
    check_outcome(node.call("PUT", "/ws/fhir2/R4/Patient/p1", R"({"resourceType":"Patient","id":"p1","text":")" + std::string(4000, 'x') + "\"}"), 413, "exceeds the limit");
    check_outcome(node.call("PUT", "/ws/fhir2/R4/Patient/bad$id", good), 400, "not a valid FHIR id");
    check_outcome(node.call("PUT", "/ws/fhir2/R4/Patient/p2", good), 400, "differs from the URL's");
    check_outcome(node.call("PUT", "/ws/fhir2/R4/Patient/p1", R"({"resourceType":"Patient","id":"p1","gender":"male"})", "If-Match: W/\"7\"\r\n"), 412, "not at version 7");
    check_outcome(node.call("PUT", "/ws/fhir2/R4/Frobnicator/x", R"({"resourceType":"Frobnicator"})"), 404, "unknown resource type");
    check_outcome(node.call("GET", "/ws/fhir2/R4/Patient/nope"), 404, "does not exist");
    check_outcome(node.call("GET", "/ws/fhir2/R4/Patient?_lastUpdated=gt2024-13-01"), 400, "_lastUpdated");
    // A local app limited to observations may not touch patients.
    check_outcome(node.call("GET", "/ws/fhir2/R4/Patient/p1", "", "", "lab-token"), 403, "may not use category 'patient'");
    // Missing, wrong or insufficient credentials: the server's refusals are OperationOutcomes too.
    check_outcome(node.call("GET", "/ws/fhir2/R4/Patient/p1", "", "", ""), 401, "authentication required");
    check_outcome(node.call("GET", "/ws/fhir2/R4/Patient/p1", "", "", "wrong"), 401, "authentication required");
    check_outcome(node.call("GET", "/ws/fhir2/R4/Patient/p1", "", "", "peer-token"), 403, "lacks the role");
    check_outcome(node.call("PATCH", "/ws/fhir2/R4/Patient/p1", "{}"), 405, "method not allowed");

    // Through a Bundle the same limit holds.
    auto big = node.call("POST", "/ws/fhir2/R4", R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"PUT","url":"Patient/p1"},"resource":{"resourceType":"Patient","id":"p1","text":")" + std::string(4000, 'x') + "\"}}]}");
    REQUIRE(big.status == 200);
    CHECK(big.json().at("entry").at(0).at("response").at("status") == "413 Payload Too Large");

    CHECK(node.events() == before);
    auto still = node.call("GET", "/ws/fhir2/R4/Patient/p1");
    CHECK(still.json().at("gender") == "female");
    CHECK(still.header("ETag") == "W/\"1\"");
}

TEST_CASE("search by _id, _lastUpdated and _count pages through next links", "[agent][fhir]") {
    fhir_node node;
    for (int i = 0; i < 25; ++i)
        REQUIRE(node.call("PUT", "/ws/fhir2/R4/Patient/p" + std::to_string(i), R"({"resourceType":"Patient","id":"p)" + std::to_string(i) + "\"}").status == 201);
    REQUIRE(node.call("PUT", "/ws/fhir2/R4/Observation/o1", R"({"resourceType":"Observation","id":"o1","status":"final"})").status == 201);

    auto byid = node.call("GET", "/ws/fhir2/R4/Patient?_id=p3,p7,zz").json();
    CHECK(byid.at("type") == "searchset");
    CHECK(byid.at("entry").as_array().size() == 2);

    std::vector<std::string> seen;
    std::string path = "/ws/fhir2/R4/Patient?_count=10&_lastUpdated=ge2020-01-01";
    for (int guard = 0; guard < 10 && !path.empty(); ++guard) {
        auto page = node.call("GET", path).json();
        for (const auto& e : page.at("entry").as_array()) seen.emplace_back(e.at("resource").at("id").as_string());
        path.clear();
        for (const auto& l : page.at("link").as_array())
            if (l.at("relation") == "next") {
                const std::string url(l.at("url").as_string());
                path = url.substr(url.find("/ws/"));
            }
    }
    CHECK(seen.size() == 25);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 25);
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient?_lastUpdated=lt2020-01-01").json().at("entry").as_array().empty());
    CHECK(node.call("GET", "/ws/fhir2/R4/Observation").json().at("entry").as_array().size() == 1);
}

TEST_CASE("the CapabilityStatement says what the server does", "[agent][fhir]") {
    fhir_node node;
    auto cs = node.call("GET", "/ws/fhir2/R4/metadata");
    REQUIRE(cs.status == 200);
    auto v = cs.json();
    CHECK(v.at("resourceType") == "CapabilityStatement");
    CHECK(v.at("fhirVersion") == "4.0.1");
    bool patient = false;
    for (const auto& r : v.at("rest").at(0).at("resource").as_array())
        if (r.at("type") == "Patient") patient = r.at("interaction").as_array().size() == 5;
    CHECK(patient);
}

TEST_CASE("FHIR dates become half-open ranges at their precision", "[agent][fhir]") {
    CHECK(api::parse_fhir_date_range("2024")->first == 1704067200000);
    CHECK(api::parse_fhir_date_range("2024-03")->second - api::parse_fhir_date_range("2024-03")->first == 31LL * 86400000);
    CHECK(api::parse_fhir_date_range("2024-03-05T09:14:27Z")->first == 1709630067000);
    CHECK(api::parse_fhir_date_range("2024-03-05T12:14:27+03:00")->first == 1709630067000);
    CHECK(api::parse_fhir_date_range("2024-03-05T09:14:27.5Z")->first == 1709630067500);
    for (const char* bad : {"", "24", "2024-13", "2024-02-30T", "2024-03-05T25:00Z", "2024-03-05T09:14:27", "yesterday"})
        CHECK_FALSE(api::parse_fhir_date_range(bad));
}

TEST_CASE("fingerprints ignore key order and server bookkeeping, not content", "[agent][fhir]") {
    auto a = json::parse(R"({"resourceType":"Patient","id":"x","meta":{"versionId":"3","lastUpdated":"2024-01-01T00:00:00Z"},"name":[{"given":["A"],"family":"B"}]})");
    auto b = json::parse(R"({"name":[{"family":"B","given":["A"]}],"id":"x","resourceType":"Patient"})");
    auto c = json::parse(R"({"name":[{"family":"B","given":["a"]}],"id":"x","resourceType":"Patient"})");
    CHECK(sync::fingerprint(a) == sync::fingerprint(b));
    CHECK(sync::fingerprint(a) != sync::fingerprint(c));
    // REST: display and resourceVersion are the server's too, at every depth (a push strips them).
    auto rest = json::parse(R"({"uuid":"u","display":"d","resourceVersion":"1.9","links":[{"rel":"self"}],"auditInfo":{"dateChanged":"x"},"parentLocation":{"uuid":"p","display":"Ward"}})");
    CHECK(sync::canonical_json(rest) == R"({"parentLocation":{"uuid":"p"},"uuid":"u"})");
    // FHIR: a coding's display is content.
    auto coded = json::parse(R"j({"resourceType":"Observation","code":{"coding":[{"code":"5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","display":"Weight (kg)"}]}})j");
    auto recoded = json::parse(R"j({"resourceType":"Observation","code":{"coding":[{"code":"5089AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","display":"Height (cm)"}]}})j");
    CHECK(sync::fingerprint(coded) != sync::fingerprint(recoded));
}

namespace {
// The canonical text as it was first written (every key and string through a json::value and
// boost::json::serialize): stored fingerprints were computed this way, so the faster writer must
// produce the same bytes.
void reference_canonical(std::string& out, const json::value& v, bool in_meta, bool rest) {
    auto is_volatile = [](std::string_view key, bool meta, bool r) {
        if (meta) return key == "versionId" || key == "lastUpdated";
        return key == "links" || key == "auditInfo" || (r && (key == "display" || key == "resourceVersion"));
    };
    if (v.is_object()) {
        std::vector<std::pair<std::string_view, const json::value*>> fields;
        for (const auto& kv : v.get_object())
            if (!is_volatile(kv.key(), in_meta, rest)) fields.emplace_back(kv.key(), &kv.value());
        std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        out += '{';
        bool first = true;
        for (const auto& [k, val] : fields) {
            if (k == "meta" && val->is_object() && val->get_object().size() <= 2) {
                bool only_volatile = true;
                for (const auto& m : val->get_object()) only_volatile &= is_volatile(m.key(), true, rest);
                if (only_volatile) continue;
            }
            if (!first) out += ',';
            first = false;
            out += json::serialize(json::value(json::string(k)));
            out += ':';
            reference_canonical(out, *val, k == "meta", rest);
        }
        out += '}';
    } else if (v.is_array()) {
        out += '[';
        bool first = true;
        for (const auto& e : v.get_array()) {
            if (!first) out += ',';
            first = false;
            reference_canonical(out, e, false, rest);
        }
        out += ']';
    } else {
        out += json::serialize(v);
    }
}
}  // namespace

TEST_CASE("the canonical text is byte for byte what it was: every byte of a key or string, and every fixture", "[agent][fhir]") {
    // Each byte alone and amid text, as a key and as a value.
    for (int b = 0; b < 256; ++b) {
        const std::string s1(1, static_cast<char>(b)), s2 = "a" + s1 + "\"b" + s1 + s1 + "c";
        for (const auto& s : {s1, s2}) {
            std::string mine;
            sync::append_json_string(mine, s);
            CHECK(mine == json::serialize(json::value(json::string(s))));
            const json::value doc = json::object{{"resourceType", "Basic"}, {s, s}, {"nested", json::array{s, json::object{{s, json::array{s}}}}}};
            std::string ref;
            reference_canonical(ref, doc, false, false);
            CHECK(sync::canonical_json(doc) == ref);
        }
    }
    // Every scalar kind, meta's bookkeeping, a REST representation.
    for (const char* text : {R"({"resourceType":"Observation","meta":{"versionId":"2","lastUpdated":"x"},"valueQuantity":{"value":-0.5e-3,"unit":"kg"},"n":12345678901234,"u":18446744073709551615,"ok":true,"no":false,"nil":null,"e":[],"o":{}})",
                             R"({"uuid":"u","display":"d","resourceVersion":"1.9","attributes":[{"display":"x","value":1.5}],"voided":false})"}) {
        const json::value doc = json::parse(text);
        std::string ref;
        reference_canonical(ref, doc, false, !doc.as_object().contains("resourceType"));
        CHECK(sync::canonical_json(doc) == ref);
    }
    std::size_t files = 0;
    for (const char* sub : {"/fixtures/openmrs/fhir-r4/fhir2-module-payloads", "/fixtures/openmrs/rest-v1"}) {
        const std::string dir = std::string(EDGESYNC_SHARED_DIR) + sub;
        if (!std::filesystem::exists(dir)) continue;
        for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
            if (f.path().extension() != ".json") continue;
            boost::system::error_code ec;
            const json::value doc = json::parse(test::read_file(f.path().string()), ec);
            if (ec) continue;
            INFO(f.path().string());
            std::string ref;
            reference_canonical(ref, doc, false, doc.is_object() && !doc.as_object().contains("resourceType"));
            CHECK(sync::canonical_json(doc) == ref);
            ++files;
        }
    }
    CHECK(files > 20);
}

TEST_CASE("reads add the node's meta to every stored body, whether or not it holds one, and keep everything else as it was", "[agent][fhir]") {
    fhir_node n;
    // Bodies the quick path (no top-level meta: the stored text plus meta) and the parse path (a
    // client's own meta, merged) both answer, with "meta" and braces also inside strings and deeper.
    const std::vector<std::string> bodies{
        R"({"resourceType":"Basic","id":"b1","code":{"text":"plain"}})",
        R"({"resourceType":"Basic","id":"b2","extension":[{"url":"meta","valueString":"} \"meta\": {"}],"code":{"text":"{[\\"},"note":{"meta":1}})",
        R"({"resourceType":"Basic","id":"b3","meta":{"tag":[{"code":"t"}],"versionId":"99"},"code":{"text":"x"}})",
        R"({ "resourceType" : "Basic" , "id" : "b4" , "code" : { "text" : "spaced" } , "n" : -1.5e3 , "t" : true , "z" : null })",
        R"({"resourceType":"Basic","code":{"text":"no id in the body"}})",
    };
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        INFO(bodies[i]);
        const std::string id = "b" + std::to_string(i + 1);
        REQUIRE(n.call("PUT", "/ws/fhir2/R4/Basic/" + id, R"({"resourceType":"Basic","id":")" + id + R"("})").status == 201);
        REQUIRE(n.call("PUT", "/ws/fhir2/R4/Basic/" + id, bodies[i]).status == 200);  // version 2
        json::value sent = json::parse(bodies[i]);
        for (const auto& got : {n.call("GET", "/ws/fhir2/R4/Basic/" + id).json(),
                                n.call("POST", "/ws/fhir2/R4", R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Basic/)" + id +
                                                                   R"("}}]})").json().at("entry").at(0).at("resource")}) {
            CAPTURE(json::serialize(got));
            CHECK(got.at("id").as_string() == id);
            CHECK(got.at("meta").at("versionId") == "2");
            CHECK(got.at("meta").at("lastUpdated").as_string().size() >= 20);
            if (const auto* sent_meta = sent.as_object().if_contains("meta")) CHECK(got.at("meta").at("tag") == sent_meta->at("tag"));
            CHECK(comparable(got) == comparable(sent));
        }
    }
}

TEST_CASE("Bundle batch: each entry on its own, and transaction: all or nothing", "[agent][fhir]") {
    fhir_node node;
    REQUIRE(node.call("PUT", "/ws/fhir2/R4/Patient/p1", R"({"resourceType":"Patient","id":"p1"})").status == 201);
    const std::string batch = R"({"resourceType":"Bundle","type":"batch","entry":[
        {"request":{"method":"PUT","url":"Patient/p2"},"resource":{"resourceType":"Patient","id":"p2"}},
        {"request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"9\""},"resource":{"resourceType":"Patient","id":"p1","gender":"male"}},
        {"request":{"method":"GET","url":"Patient/p1"}},
        {"request":{"method":"GET","url":"Patient/nope"}},
        {"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","status":"final"}},
        {"request":{"method":"DELETE","url":"Patient/p2"}}]})";
    auto r = node.call("POST", "/ws/fhir2/R4", batch);
    REQUIRE(r.status == 200);
    auto v = r.json();
    CHECK(v.at("type") == "batch-response");
    const auto& e = v.at("entry").as_array();
    REQUIRE(e.size() == 6);
    CHECK(e[0].at("response").at("status") == "201 Created");
    CHECK(e[1].at("response").at("status") == "412 Precondition Failed");
    CHECK(e[2].at("response").at("status") == "200 OK");
    CHECK(e[2].at("resource").at("id") == "p1");
    CHECK(e[3].at("response").at("status") == "404 Not Found");
    CHECK(e[4].at("response").at("status") == "201 Created");
    CHECK(e[5].at("response").at("status") == "204 No Content");
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient/p1").json().as_object().if_contains("gender") == nullptr);

    const auto before = node.events();
    // One entry fails (stale If-Match): nothing of the transaction is applied.
    const std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
        {"request":{"method":"PUT","url":"Patient/p3"},"resource":{"resourceType":"Patient","id":"p3"}},
        {"request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"9\""},"resource":{"resourceType":"Patient","id":"p1","gender":"male"}}]})";
    check_outcome(node.call("POST", "/ws/fhir2/R4", tx), 412, "transaction not applied: entry 1");
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient/p3").status == 404);
    CHECK(node.events() == before);
    // An invalid entry refuses the whole transaction before anything runs.
    check_outcome(node.call("POST", "/ws/fhir2/R4", R"({"resourceType":"Bundle","type":"transaction","entry":[
        {"request":{"method":"PUT","url":"Patient/p3"},"resource":{"resourceType":"Patient","id":"p3"}},
        {"request":{"method":"PUT","url":"Patient/p4"},"resource":{"resourceType":"Observation","id":"p4"}}]})"), 400, "entry 1");
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient/p3").status == 404);
    // The good transaction applies every entry.
    auto ok = node.call("POST", "/ws/fhir2/R4", R"({"resourceType":"Bundle","type":"transaction","entry":[
        {"request":{"method":"PUT","url":"Patient/p3"},"resource":{"resourceType":"Patient","id":"p3"}},
        {"request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"1\""},"resource":{"resourceType":"Patient","id":"p1","gender":"male"}}]})");
    REQUIRE(ok.status == 200);
    CHECK(ok.json().at("type") == "transaction-response");
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient/p1").json().at("gender") == "male");
    CHECK(node.events() == before + 2);
    check_outcome(node.call("POST", "/ws/fhir2/R4", R"({"resourceType":"Bundle","type":"collection"})"), 400, "batch or transaction");
    // A malformed ifMatch is refused, never taken as "no condition".
    auto bad_match = node.call("POST", "/ws/fhir2/R4", R"({"resourceType":"Bundle","type":"batch","entry":[
        {"request":{"method":"PUT","url":"Patient/p1","ifMatch":"three"},"resource":{"resourceType":"Patient","id":"p1","gender":"other"}}]})");
    REQUIRE(bad_match.status == 200);
    CHECK(bad_match.json().at("entry").at(0).at("response").at("status") == "400 Bad Request");
    CHECK(node.call("GET", "/ws/fhir2/R4/Patient/p1").json().at("gender") == "male");
}

TEST_CASE("search links use the configured public URL (a node behind TLS or a proxy)", "[agent][fhir]") {
    fhir_node node(4 * 1024 * 1024, "https://clinic.example.org/");
    for (int i = 0; i < 3; ++i)
        REQUIRE(node.call("PUT", "/ws/fhir2/R4/Patient/q" + std::to_string(i), R"({"resourceType":"Patient","id":"q)" + std::to_string(i) + "\"}").status == 201);
    auto page = node.call("GET", "/ws/fhir2/R4/Patient?_count=1").json();
    bool next = false;
    for (const auto& l : page.at("link").as_array()) {
        CHECK_THAT(std::string(l.at("url").as_string()), Catch::Matchers::StartsWith("https://clinic.example.org/ws/fhir2/R4/Patient?"));
        next |= l.at("relation") == "next";
    }
    CHECK(next);
    CHECK_THAT(std::string(page.at("entry").at(0).at("fullUrl").as_string()), Catch::Matchers::StartsWith("https://clinic.example.org/ws/fhir2/R4/Patient/"));
}
