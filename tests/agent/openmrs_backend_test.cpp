// The two local backends behind the replicator's one interface. The OpenMRS backend is driven
// against a test double that behaves as OpenMRS does (tests/support/openmrs_double.hpp): its feed
// in both content styles, FHIR writes by PUT falling back to create, REST updates by POST to
// /{uuid} with OpenMRS's read-only properties stripped, deletes, Basic credentials, OpenMRS date
// formats and the 500 "feed does not exist" of a vanished page. The embedded backend is driven
// against a real store file.
#include "agent/backend/embedded.hpp"
#include "agent/backend/openmrs.hpp"
#include "agent/api/fhir.hpp"
#include "agent/sync/fingerprint.hpp"
#include "net/auth.hpp"
#include "net/gzip.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"
#include "support/canned_server.hpp"
#include "support/catch_net.hpp"
#include "support/openmrs_double.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace edgesync;
namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

namespace {

std::string fixture(const std::string& rel) { return test::read_file(std::string(EDGESYNC_SHARED_DIR) + "/fixtures/openmrs/" + rel); }

struct bench {
    test::temp_dir tmp;
    std::unique_ptr<store::store> st;
    asio::io_context ioc;
    test::openmrs_double openmrs{ioc};
    std::unique_ptr<net::http_client> client;
    std::unique_ptr<backend::local_backend> be;

    explicit bench(const std::string& password = "Admin123") {
        store::store_options o;
        o.path = tmp.file("edgesync.db");
        std::string why;
        auto s = store::store::open(o, why);
        REQUIRE(s);
        st = std::move(*s);
        net::client_params cp;
        cp.use_env_proxy = false;
        client = std::make_unique<net::http_client>(ioc.get_executor(), cp);
        backend::openmrs_params p;
        p.base_url = openmrs.base_url();
        p.authorization = net::basic_authorization("admin", password);
        be = backend::make_openmrs_backend(*client, *st, p);
    }

    // Reads the feed of `category`, collecting the entries (the runner moves the marker).
    std::pair<feed::run_status, std::vector<feed::feed_entry>> read(const std::string& category) {
        auto seen = std::make_shared<std::vector<feed::feed_entry>>();
        feed::entry_processor collect = [seen](const feed::feed_entry& e, const store::marker&) -> asio::awaitable<error_code> {
            seen->push_back(e);
            co_return feed::entry_skipped();
        };
        auto status = test::run_until_done(ioc, be->read_feed(category, collect));
        return {status, *seen};
    }
    backend::get_result get(const std::string& rep, const std::string& type, const std::string& uuid, const std::string& category = "") {
        return test::run_until_done(ioc, be->get({category, {rep, type, uuid}}));
    }
    backend::apply_result apply(backend::change c) { return test::run_until_done(ioc, be->apply(std::move(c))); }
    std::vector<std::string> request_lines() const {
        std::vector<std::string> out;
        for (const auto& r : openmrs.requests()) out.push_back(r.method + " " + r.target);
        return out;
    }
};

backend::change fhir_change(const std::string& type, const std::string& id, const std::string& body) {
    backend::change c;
    c.ref = {"", {"fhir", type, id}};
    c.body = body;
    return c;
}

json::value without_meta(json::value v) {
    v.as_object().erase("meta");
    return v;
}

}  // namespace

TEST_CASE("OpenMRS backend: reads the local OpenMRS feed page by page in both content styles, from its marker on") {
    bench b;
    b.openmrs.page_size = 2;
    const std::string links = fixture("atomfeed/entry-content-rest-fhir-links.extracted.json");
    b.openmrs.add_event("patient", "Patient", links, "CREATED");
    b.openmrs.add_event("patient", "Patient", "/openmrs/ws/rest/v1/patient/e8aa08f6-86cd-42f9-8924-1b3ea021aeb4?v=full");
    b.openmrs.add_event("patient", "Patient", links, "UPDATED");
    b.openmrs.add_event("patient", "Patient", links, "VOIDED");
    b.openmrs.add_event("patient", "Patient", links, "UNVOIDED");
    auto [status, seen] = b.read("patient");
    REQUIRE_FALSE(status.error);
    REQUIRE(seen.size() == 5);
    CHECK(status.pages >= 3);  // 2 + 2 + 1, hrefs naming www.example.com rebased onto 127.0.0.1
    for (std::size_t i = 0; i < 5; ++i) CHECK(feed::entry_event_uuid(seen[i]) == b.openmrs.events("patient")[i].uuid);
    CHECK(feed::entry_action(seen[3]) == "VOIDED");
    CHECK(seen[1].content == "/openmrs/ws/rest/v1/patient/e8aa08f6-86cd-42f9-8924-1b3ea021aeb4?v=full");
    for (const auto& r : b.openmrs.requests()) CHECK(r.target.rfind("/openmrs/ws/atomfeed/patient/", 0) == 0);

    // Only what is new since the marker.
    b.openmrs.add_event("patient", "Patient", links, "UPDATED");
    auto [again, more] = b.read("patient");
    REQUIRE_FALSE(again.error);
    REQUIRE(more.size() == 1);
    CHECK(feed::entry_event_uuid(more[0]) == b.openmrs.events("patient")[5].uuid);
    auto [idle, none] = b.read("patient");
    CHECK(none.empty());
    CHECK_FALSE(idle.marker_lost);

    // The marker is kept under the feed's URL in this node's store.
    auto key = b.be->feed_key("patient");
    CHECK(key == b.openmrs.base_url() + "/ws/atomfeed/patient/recent");
    auto job = [key](store::sql::connection& db) { return store::get_marker(db, key); };
    auto m = test::run_until_done(b.ioc, b.st->read<std::optional<store::marker>>(std::move(job)));
    REQUIRE(m);
    REQUIRE(*m);
    CHECK((*m)->last_read_entry_id == "tag:atomfeed.ict4h.org:" + b.openmrs.events("patient")[5].uuid);
}

TEST_CASE("OpenMRS backend: a marked page that no longer exists (500 feed does not exist) restarts the feed instead of stalling") {
    bench b;
    b.openmrs.page_size = 2;
    for (int i = 0; i < 6; ++i) b.openmrs.add_event("encounter", "Encounter", R"({"fhir":"/ws/fhir2/R4/Encounter/e)" + std::to_string(i) + "\"}");
    REQUIRE(b.read("encounter").second.size() == 6);
    // OpenMRS restored from an older backup: the feed has one page now, and page 3 answers 500.
    b.openmrs.clear_events("encounter");
    b.openmrs.add_event("encounter", "Encounter", R"({"fhir":"/ws/fhir2/R4/Encounter/x"})");
    b.openmrs.clear_requests();
    auto [status, seen] = b.read("encounter");
    CHECK_FALSE(status.error);
    CHECK(status.marker_lost);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].content == R"({"fhir":"/ws/fhir2/R4/Encounter/x"})");
    CHECK(b.request_lines().front() == "GET /openmrs/ws/atomfeed/encounter/3");
}

TEST_CASE("OpenMRS backend: every FHIR R4 fixture is written by PUT, created by POST when OpenMRS has none, and read back equal") {
    bench b;
    for (const char* name : {"PatientWebTest_create.json", "EncounterWebTest_create.json", "ObservationWebTest_create.json",
                             "AllergyIntoleranceWebTest_create.json", "LocationWebTest_create.json", "MedicationWebTest_create.json"}) {
        INFO(name);
        json::value v = json::parse(fixture(std::string("fhir-r4/fhir2-module-payloads/") + name));
        const std::string type(v.at("resourceType").as_string());
        const std::string id = "a1b2c3d4-0000-4000-8000-" + std::string(12 - std::min<std::size_t>(12, type.size()), '0') + type.substr(0, 12);
        // The Patient it refers to must exist in OpenMRS (the double refuses unknown ones, as FHIR2 does).
        for (const char* field : {"subject", "patient"})
            if (const auto* ref = v.as_object().if_contains(field); ref && ref->is_object() && ref->as_object().contains("reference")) {
                const std::string r(ref->at("reference").as_string());
                if (r.starts_with("Patient/")) b.openmrs.seed_fhir("Patient", r.substr(8), json::parse(R"({"resourceType":"Patient"})"));
            }
        b.openmrs.clear_requests();
        auto created = b.apply(fhir_change(type, id, json::serialize(v)));
        REQUIRE_FALSE(created.ec);
        CHECK(created.outcome == store::write_outcome::created);
        CHECK(b.request_lines() == std::vector<std::string>{"PUT /openmrs/ws/fhir2/R4/" + type + "/" + id, "POST /openmrs/ws/fhir2/R4/" + type});
        CHECK(b.openmrs.requests()[0].content_type == "application/fhir+json");
        auto held = b.openmrs.fhir(type, id);
        REQUIRE(held);
        json::value expect = v;
        expect.as_object()["id"] = id;
        CHECK(without_meta(*held) == without_meta(expect));

        auto got = b.get("fhir", type, id);
        REQUIRE_FALSE(got.ec);
        REQUIRE(got.resource.state == backend::presence::present);
        CHECK(without_meta(json::parse(got.resource.body)) == without_meta(expect));
        // versionId is epoch ms and lastUpdated is "...000+00:00" in OpenMRS: both understood.
        CHECK(got.resource.version == held->at("meta").at("versionId").as_string());
        CHECK(std::to_string(got.resource.last_updated) == got.resource.version);

        // A second write is an update, by PUT alone.
        expect.as_object()["language"] = "fr";
        b.openmrs.clear_requests();
        auto updated = b.apply(fhir_change(type, id, json::serialize(expect)));
        REQUIRE_FALSE(updated.ec);
        CHECK(updated.outcome == store::write_outcome::updated);
        CHECK(b.request_lines() == std::vector<std::string>{"PUT /openmrs/ws/fhir2/R4/" + type + "/" + id});
        CHECK(b.openmrs.fhir(type, id)->at("language") == "fr");
    }
}

TEST_CASE("OpenMRS backend: REST metadata is updated by POST to /{uuid}, created when unknown, with OpenMRS's read-only properties stripped") {
    bench b;
    for (const char* name : {"drug-full-o3.json", "program-o3.json", "patient-full-uriprefix-unset.json"}) {
        INFO(name);
        const std::string text = fixture(std::string("rest-v1/") + name);
        json::value v = json::parse(text);
        const std::string uuid(v.at("uuid").as_string());
        const std::string resource = std::string(name).substr(0, std::string(name).find('-'));
        backend::change c;
        c.ref = {resource, {"rest", resource, uuid}};
        c.body = text;
        b.openmrs.clear_requests();
        auto created = b.apply(c);
        REQUIRE_FALSE(created.ec);
        CHECK(created.outcome == store::write_outcome::created);
        REQUIRE(b.request_lines() == std::vector<std::string>{"POST /openmrs/ws/rest/v1/" + resource + "/" + uuid, "POST /openmrs/ws/rest/v1/" + resource});
        // What OpenMRS would refuse never reached it, at any depth; everything else did.
        const json::value sent = json::parse(b.openmrs.requests()[1].body);
        const std::string sent_text = json::serialize(sent);
        for (const char* k : {"\"links\"", "\"display\"", "\"auditInfo\"", "\"resourceVersion\""}) CHECK(sent_text.find(k) == std::string::npos);
        CHECK(sent.at("uuid").as_string() == uuid);
        CHECK(json::parse(*backend::rest_write_body(text, false)) == sent);

        auto got = b.get("rest", resource, uuid, resource);
        REQUIRE_FALSE(got.ec);
        CHECK(got.resource.state == (v.as_object().contains("voided") && v.at("voided").as_bool() ? backend::presence::deleted : backend::presence::present));
        const json::value back = json::parse(got.resource.body);
        CHECK(back.at("links").at(0).at("uri").as_string().starts_with("NEED-TO-CONFIGURE/ws/rest/v1/"));
        // auditInfo.dateCreated is "...000+0000": read as the double's clock.
        CHECK(backend::parse_openmrs_time(back.at("auditInfo").at("dateCreated").as_string()) == got.resource.last_updated);
        CHECK(got.resource.last_updated > 1712219326000);

        // Updating with OpenMRS's own representation (links, display, auditInfo and all) works:
        // the update body drops them, and the uuid, which the URL carries.
        b.openmrs.clear_requests();
        backend::change u = c;
        u.body = got.resource.body;
        auto updated = b.apply(u);
        REQUIRE_FALSE(updated.ec);
        CHECK(updated.outcome == store::write_outcome::updated);
        REQUIRE(b.request_lines() == std::vector<std::string>{"POST /openmrs/ws/rest/v1/" + resource + "/" + uuid});
        CHECK_FALSE(json::parse(b.openmrs.requests()[0].body).as_object().contains("uuid"));
        CHECK(b.get("rest", resource, uuid).resource.last_updated > got.resource.last_updated);  // dateChanged moved
    }
}

TEST_CASE("OpenMRS backend: FHIR deletes, REST voids and purges, and a delete of what is gone changes nothing") {
    bench b;
    b.openmrs.seed_fhir("Patient", "p1", json::parse(R"({"resourceType":"Patient","active":true})"));
    b.openmrs.seed_rest("location", "l1", json::parse(R"({"uuid":"l1","name":"Ward","retired":false})"));
    b.openmrs.seed_rest("visit", "v1", json::parse(R"({"uuid":"v1","voided":false})"));
    backend::change del = fhir_change("Patient", "p1", "");
    del.remove = true;
    auto d = b.apply(del);
    REQUIRE_FALSE(d.ec);
    CHECK(d.outcome == store::write_outcome::deleted);
    CHECK(b.openmrs.fhir_deleted("Patient", "p1"));
    CHECK(b.get("fhir", "Patient", "p1").resource.state == backend::presence::deleted);  // 410
    CHECK(b.apply(del).outcome == store::write_outcome::unchanged);
    CHECK(b.get("fhir", "Patient", "nobody").resource.state == backend::presence::missing);  // 404

    backend::change retire;
    retire.ref = {"location", {"rest", "location", "l1"}};
    retire.remove = true;
    REQUIRE(b.apply(retire).outcome == store::write_outcome::deleted);
    CHECK(b.openmrs.rest("location", "l1")->at("retired") == true);
    CHECK(b.get("rest", "location", "l1").resource.state == backend::presence::deleted);
    CHECK(b.openmrs.events("location").back().action == "RETIRED");

    backend::change purge;
    purge.ref = {"visit", {"rest", "visit", "v1"}};
    purge.remove = purge.purge = true;
    b.openmrs.clear_requests();
    REQUIRE(b.apply(purge).outcome == store::write_outcome::deleted);
    CHECK(b.request_lines() == std::vector<std::string>{"DELETE /openmrs/ws/rest/v1/visit/v1?purge=true"});
    CHECK_FALSE(b.openmrs.rest("visit", "v1"));
    CHECK(b.get("rest", "visit", "v1").resource.state == backend::presence::missing);
}

TEST_CASE("OpenMRS backend: wrong credentials, a refused record and an outage are told apart, and a failed write moves no marker") {
    SECTION("wrong password: unauthorized, which is not a record failure") {
        bench b("wrong");
        auto got = b.get("fhir", "Patient", "p1");
        CHECK(got.ec == backend::errc::unauthorized);
        CHECK(got.status == 401);
        CHECK_FALSE(backend::is_record_failure(got.ec));
        auto [status, seen] = b.read("patient");
        CHECK(status.error);
        CHECK(seen.empty());
    }
    SECTION("a body OpenMRS refuses: refused, with its diagnostics, and the marker stays") {
        bench b;
        b.openmrs.seed_fhir("Patient", "p1", json::parse(R"({"resourceType":"Patient"})"));
        backend::change c = fhir_change("Patient", "p1", R"({"resourceType":"Observation"})");
        c.then_marker = store::marker{"feed-x", "tag:atomfeed.ict4h.org:1", "feed-x/1"};
        auto r = b.apply(c);
        CHECK(r.ec == backend::errc::refused);
        CHECK(r.status == 400);
        CHECK(r.detail.find("Incorrect resource type") != std::string::npos);
        CHECK(backend::is_record_failure(r.ec));
        auto job = [](store::sql::connection& db) { return store::get_marker(db, "feed-x"); };
        CHECK_FALSE(*test::run_until_done(b.ioc, b.st->read<std::optional<store::marker>>(std::move(job))));
        CHECK(b.openmrs.fhir("Patient", "p1")->at("resourceType") == "Patient");
    }
    SECTION("OpenMRS answering 503: unavailable; then the write goes through and its marker follows") {
        bench b;
        b.openmrs.fail_status = 503;
        b.openmrs.fail_next = 1;
        backend::change c = fhir_change("Patient", "p2", R"({"resourceType":"Patient"})");
        c.then_marker = store::marker{"feed-y", "tag:atomfeed.ict4h.org:2", "feed-y/1"};
        auto r = b.apply(c);
        CHECK(r.ec == backend::errc::unavailable);
        CHECK_FALSE(backend::is_record_failure(r.ec));
        auto ok = b.apply(c);
        REQUIRE_FALSE(ok.ec);
        auto job = [](store::sql::connection& db) { return store::get_marker(db, "feed-y"); };
        auto m = *test::run_until_done(b.ioc, b.st->read<std::optional<store::marker>>(std::move(job)));
        REQUIRE(m);
        CHECK(m->last_read_entry_id == "tag:atomfeed.ict4h.org:2");
    }
}

namespace {
// A store, and an OpenMRS backend (batches of 50) in front of a canned server whose first answer
// is a CapabilityStatement offering batch (with `software` as its software.name, if given).
struct canned_parent {
    test::temp_dir tmp;
    std::unique_ptr<store::store> st;
    asio::io_context ioc;
    test::canned_server server{ioc};
    net::http_client client{ioc.get_executor(), [] {
                                net::client_params cp;
                                cp.use_env_proxy = false;
                                return cp;
                            }()};
    std::unique_ptr<backend::local_backend> be;

    explicit canned_parent(const std::string& software = "") {
        store::store_options o;
        o.path = tmp.file("edgesync.db");
        std::string why;
        auto opened = store::store::open(o, why);
        REQUIRE(opened);
        st = std::move(*opened);
        const std::string cap = R"({"resourceType":"CapabilityStatement",)" +
                                (software.empty() ? std::string() : R"("software":{"name":")" + software + R"("},)") +
                                R"("rest":[{"mode":"server","interaction":[{"code":"batch"}]}]})";
        server.push({"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: " + std::to_string(cap.size()) + "\r\n\r\n" + cap,
                     test::canned_reply::then::keep_open});
        backend::openmrs_params p;
        p.base_url = "http://127.0.0.1:" + std::to_string(server.port());
        p.batch_size = 50;
        be = backend::make_openmrs_backend(client, *st, p);
    }
};
}  // namespace

TEST_CASE("OpenMRS backend: a batch answer's entries are handed on as they arrive, before the rest of the Bundle has") {
    // A server offering batch whose answer stalls for 2 s right after its first entry.
    canned_parent cp;
    auto& ioc = cp.ioc;
    auto& server = cp.server;
    auto entry = [](const std::string& id) {
        return R"({"response":{"status":"200 OK"},"resource":{"resourceType":"Patient","id":")" + id + R"(","meta":{"versionId":"3"}}})";
    };
    const std::string prefix = R"({"resourceType":"Bundle","type":"batch-response","entry":[)" + entry("a") + ",";
    const std::string body = prefix + entry("b") + "]}";
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    test::canned_reply batch{head + body, test::canned_reply::then::close};
    batch.split_every = head.size() + prefix.size();  // the first write ends right after entry "a"
    batch.pause = std::chrono::milliseconds(2000);
    server.push(batch);
    auto& be = cp.be;
    std::vector<std::pair<std::size_t, std::chrono::steady_clock::time_point>> handed;
    std::vector<backend::get_result> got(2);
    auto each = [&](std::size_t i, backend::get_result g) {
        handed.emplace_back(i, std::chrono::steady_clock::now());
        got[i] = std::move(g);
    };
    std::vector<backend::resource_ref> refs{{"patient", {"fhir", "Patient", "a"}}, {"patient", {"fhir", "Patient", "b"}}};
    test::run_until_done(ioc, be->get_each(refs, each));
    const auto done = std::chrono::steady_clock::now();
    REQUIRE(handed.size() == 2);
    CHECK(handed[0].first == 0);
    CHECK(handed[1].first == 1);
    // "a" was handed on before the stall ended (a reader that waited for the whole answer would
    // hand both at the end), and both were read right.
    CHECK(done - handed[0].second >= std::chrono::milliseconds(1000));
    for (std::size_t i : {0u, 1u}) {
        CHECK_FALSE(got[i].ec);
        CHECK(got[i].resource.state == backend::presence::present);
        CHECK(got[i].resource.version == "3");
    }
    REQUIRE(server.requests().size() == 2);
    CHECK(server.requests()[1].rfind("POST /ws/fhir2/R4 HTTP/1.1", 0) == 0);
}

TEST_CASE("batched changes go up gzipped to an edgesync parent, and as they are to any other server") {
    for (const char* software : {"edgesync", "OpenMRS"}) {
        INFO(software);
        canned_parent cp(software);
        auto& ioc = cp.ioc;
        auto& server = cp.server;
        const std::string answer = R"({"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"201 Created"}},{"response":{"status":"201 Created"}}]})";
        server.push({"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: " + std::to_string(answer.size()) + "\r\n\r\n" + answer,
                     test::canned_reply::then::close});
        auto& be = cp.be;
        std::vector<backend::change> changes(2);
        for (int i = 0; i < 2; ++i) {
            changes[static_cast<std::size_t>(i)].ref = {"patient", {"fhir", "Patient", "g" + std::to_string(i)}};
            changes[static_cast<std::size_t>(i)].body = R"({"resourceType":"Patient","id":"g)" + std::to_string(i) + R"(","text":{"div":")" + std::string(1500, 'x') + R"("}})";
        }
        auto results = test::run_until_done(ioc, be->apply_many(std::move(changes)));
        REQUIRE(results.size() == 2);
        for (const auto& r : results) CHECK_FALSE(r.ec);
        REQUIRE(server.requests().size() == 2);
        const std::string& post = server.requests()[1];
        REQUIRE(post.rfind("POST /ws/fhir2/R4 HTTP/1.1", 0) == 0);
        const auto body_at = post.find("\r\n\r\n") + 4;
        const std::string head = post.substr(0, body_at), body = post.substr(body_at);
        std::string bundle = body;
        if (std::string(software) == "edgesync") {
            CHECK_THAT(head, Catch::Matchers::Contains("Content-Encoding: gzip"));
            boost::system::error_code ec;
            REQUIRE(net::gzip_decompress(body, 1 << 20, bundle, ec));
            CHECK(body.size() * 4 < bundle.size());
        } else {
            CHECK_THAT(head, !Catch::Matchers::Contains("Content-Encoding"));
        }
        const auto sent = json::parse(bundle);
        CHECK(sent.at("entry").as_array().size() == 2);
        CHECK(sent.at("entry").at(1).at("resource").at("id") == "g1");
    }
}

TEST_CASE("OpenMRS dates: REST, FHIR2 and atom forms are read, malformed ones refused") {
    // 2013-09-05T10:45:56.000+0530 = 05:15:56 UTC
    const store::millis expect = 1378358156000;
    CHECK(backend::parse_openmrs_time("2013-09-05T10:45:56.000+0530") == expect);
    CHECK(backend::parse_openmrs_time("2013-09-05T10:45:56.000+05:30") == expect);
    CHECK(backend::parse_openmrs_time("2013-09-05T05:15:56Z") == expect);
    CHECK(backend::parse_openmrs_time("2013-09-05T05:15:56.250+0000") == expect + 250);
    CHECK(backend::parse_openmrs_time("2019-07-08T15:34:06.000+0545") == 1562579346000);
    CHECK_FALSE(backend::parse_openmrs_time("2013-09-05"));
    CHECK_FALSE(backend::parse_openmrs_time("2013-09-05T10:45:56.000+053"));
    CHECK_FALSE(backend::parse_openmrs_time("yesterday"));
    CHECK_FALSE(backend::parse_openmrs_time(""));
}

TEST_CASE("Embedded backend: a pulled change commits with its marker, reads back, and the local feed yields each event once") {
    test::temp_dir tmp;
    store::store_options o;
    o.path = tmp.file("edgesync.db");
    std::string why;
    auto opened = store::store::open(o, why);
    REQUIRE(opened);
    auto& st = **opened;
    asio::io_context ioc;
    auto be = backend::make_embedded_backend(st, backend::embedded_params{});

    backend::change c = fhir_change("Patient", "p1", R"({"resourceType":"Patient","id":"p1","active":true})");
    c.ref.category = "patient";
    c.origin_node = "root";
    c.arrived_from = "parent";
    c.then_marker = store::marker{"http://parent/ws/atomfeed/patient/recent", "tag:atomfeed.ict4h.org:e1", "http://parent/ws/atomfeed/patient/1"};
    auto r = test::run_until_done(ioc, be->apply(c));
    REQUIRE_FALSE(r.ec);
    CHECK(r.outcome == store::write_outcome::created);
    auto again = test::run_until_done(ioc, be->apply(c));
    CHECK(again.outcome == store::write_outcome::unchanged);  // replay: no event, no change

    auto got = test::run_until_done(ioc, be->get({"patient", {"fhir", "Patient", "p1"}}));
    REQUIRE(got.resource.state == backend::presence::present);
    CHECK(json::parse(got.resource.body) == json::parse(c.body));
    CHECK(got.resource.version == "1");
    CHECK(test::run_until_done(ioc, be->get({"patient", {"fhir", "Patient", "p2"}})).resource.state == backend::presence::missing);

    auto job = [](store::sql::connection& db) -> store::result<std::pair<std::optional<store::marker>, std::optional<std::string>>> {
        auto m = store::get_marker(db, "http://parent/ws/atomfeed/patient/recent");
        if (!m) return m.error();
        auto f = store::get_synced_fingerprint(db, "parent", {"fhir", "Patient", "p1"});
        if (!f) return f.error();
        return std::make_pair(*m, *f);
    };
    auto stored = test::run_until_done(ioc, st.read<std::pair<std::optional<store::marker>, std::optional<std::string>>>(std::move(job)));
    REQUIRE(stored);
    REQUIRE(stored->first);
    CHECK(stored->first->last_read_entry_id == "tag:atomfeed.ict4h.org:e1");
    CHECK(stored->second == sync::fingerprint(json::parse(c.body)));

    backend::change d = c;
    d.remove = true;
    d.then_marker.reset();
    CHECK(test::run_until_done(ioc, be->apply(d)).outcome == store::write_outcome::deleted);
    CHECK(test::run_until_done(ioc, be->get({"patient", {"fhir", "Patient", "p1"}})).resource.state == backend::presence::deleted);

    auto read = [&] {
        auto seen = std::make_shared<std::vector<feed::feed_entry>>();
        feed::entry_processor collect = [seen](const feed::feed_entry& e, const store::marker&) -> asio::awaitable<error_code> {
            seen->push_back(e);
            co_return feed::entry_skipped();
        };
        auto status = test::run_until_done(ioc, be->read_feed("patient", collect));
        REQUIRE_FALSE(status.error);
        return *seen;
    };
    auto first = read();
    REQUIRE(first.size() == 2);
    CHECK(feed::entry_category(first[0]) == "patient");
    CHECK(feed::entry_action(first[1]) == "DELETED");
    CHECK(json::parse(first[0].content) == json::parse(R"({"fhir":"/ws/fhir2/R4/Patient/p1"})"));
    CHECK(read().empty());
    backend::change l = fhir_change("Location", "l1", R"({"resourceType":"Location","id":"l1"})");
    l.ref.category = "location";
    REQUIRE_FALSE(test::run_until_done(ioc, be->apply(l)).ec);
    CHECK(read().empty());  // another category's event
    c.body = R"({"resourceType":"Patient","id":"p1","active":false})";
    c.then_marker.reset();
    REQUIRE(test::run_until_done(ioc, be->apply(c)).outcome == store::write_outcome::created);  // a tombstone revived
    CHECK(read().size() == 1);
}
