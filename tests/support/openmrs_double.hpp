// A stand-in for an OpenMRS server on loopback, behaving as OpenMRS does where the sync agent
// can tell (facts: ../shared/reference/atomfeed-protocol.md, sync2-module.md, and the recorded
// payloads in ../shared/fixtures/openmrs):
//   - everything under /openmrs needs HTTP Basic credentials (401 with WWW-Authenticate otherwise);
//   - FHIR2 at /openmrs/ws/fhir2/R4: GET (410 once deleted), PUT only on an existing resource
//     (404 otherwise: no upsert), POST create, DELETE; meta.versionId is epoch milliseconds and
//     meta.lastUpdated is written "2024-04-04T08:28:46.000+00:00"; a subject/patient reference to a
//     Patient it does not hold is a 400 (as the FHIR2 translators refuse it);
//   - REST v1 at /openmrs/ws/rest/v1: GET ?v=full with `links` whose URIs start
//     "NEED-TO-CONFIGURE" (uriPrefix unset) and auditInfo dates written "...000+0000"; update is
//     POST to /{uuid} (404 when unknown); create is POST to the collection; a body carrying
//     links, display, auditInfo or resourceVersion anywhere is refused with 400 "Some properties
//     are not allowed to be set"; DELETE voids or retires, ?purge=true removes;
//   - atom feeds at /openmrs/ws/atomfeed/{category}/recent and /{n}: every change above (and every
//     add_event) is an entry; pages of `page_size`; hrefs name the host OpenMRS believes it has
//     (`feed_origin`), not the one the client used; a page that does not exist is a 500 whose
//     body says "feed does not exist", as the atomfeed library's exception page does.
// Runs on the test's io_context; the object must outlive the io_context's work.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edgesync::test {

class openmrs_double {
public:
    struct mapping {
        std::string fhir_type;      // "" = no FHIR link in entries
        std::string rest_resource;  // "" = no REST link
    };
    struct logged_request {
        std::string method, target, body, content_type;
    };
    struct event {
        std::string uuid, title, category, content, action;
        std::int64_t at_ms = 0;
    };

    explicit openmrs_double(boost::asio::io_context& ioc, std::string user = "admin", std::string password = "Admin123");
    ~openmrs_double();
    openmrs_double(const openmrs_double&) = delete;
    openmrs_double& operator=(const openmrs_double&) = delete;

    // http://127.0.0.1:<port>/openmrs
    std::string base_url() const;
    std::uint16_t port() const;

    // Seeding (no feed event) and inspection. Keys: FHIR (type, id), REST (resource, uuid).
    void seed_fhir(const std::string& type, const std::string& id, boost::json::value body);
    void seed_rest(const std::string& resource, const std::string& uuid, boost::json::value body);
    std::optional<boost::json::value> fhir(const std::string& type, const std::string& id) const;  // nullopt: absent or deleted
    std::optional<boost::json::value> rest(const std::string& resource, const std::string& uuid) const;
    bool fhir_deleted(const std::string& type, const std::string& id) const;

    // A feed entry of `category` (content: the JSON links map or one URL, as given).
    void add_event(const std::string& category, const std::string& title, const std::string& content, const std::string& action = "");
    const std::vector<event>& events(const std::string& category) const;
    // The feed starts over (as after a database restore): markers into it are lost.
    void clear_events(const std::string& category);

    // Category -> links written into entries for changes made through the API.
    std::map<std::string, mapping> categories;
    // Entries written for API changes: false = openmrs-module-atomfeed JSON links, true = Bahmni's
    // single REST URL.
    bool bahmni_content = false;
    std::size_t page_size = 5;
    std::string feed_origin = "http://www.example.com";
    // Answers the next `fail_next` requests with this status (0 = none), for outage tests.
    unsigned fail_status = 0;
    std::size_t fail_next = 0;
    // Each resource GET (FHIR or REST) is answered after this long (a slow link), and the most
    // GETs ever waiting at once is counted.
    std::chrono::milliseconds read_delay{0};
    // Served at /openmrs/ws/fhir2/R4/metadata when set (else 404). POST to the FHIR base (a
    // Bundle) is never accepted: FHIR2 has no batch endpoint.
    std::string capability_statement;
    std::size_t reads_in_flight = 0, max_reads_in_flight = 0;

    const std::vector<logged_request>& requests() const;
    void clear_requests();

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace edgesync::test
