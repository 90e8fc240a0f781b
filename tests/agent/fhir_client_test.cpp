// A real FHIR client nobody here wrote — fhir-kit-client 2.0.3 from npm (installed by
// cross/deps.sh into the cache), run with the machine's Node.js — creates, reads, updates,
// searches, sends a batch to and deletes from our server, over loopback.
#include "agent/api/fhir.hpp"
#include "net/auth.hpp"
#include "net/http_server.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <thread>

#include <unistd.h>

using namespace edgesync;
namespace asio = boost::asio;

namespace {

std::string fhir_kit_client_dir() {
    std::string cache;
    if (const char* c = std::getenv("EDGESYNC_CACHE")) cache = c;
    else if (const char* x = std::getenv("XDG_CACHE_HOME")) cache = std::string(x) + "/edgesync";
    else cache = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/root") + "/.cache/edgesync";
    return cache + "/npm-fhir-kit-client-2.0.3/node_modules/fhir-kit-client";
}

constexpr const char* k_script = R"js(
const kit = require(process.argv[2]);
const Client = kit.Client || kit;
const client = new Client({ baseUrl: process.argv[3], customHeaders: { Authorization: 'Bearer ' + process.argv[4] } });
(async () => {
  const created = await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Wanjiru', given: ['Amani'] }] } });
  const read = await client.read({ resourceType: 'Patient', id: created.id });
  read.gender = 'female';
  const updated = await client.update({ resourceType: 'Patient', id: created.id, body: read });
  const found = await client.search({ resourceType: 'Patient', searchParams: { _id: created.id } });
  const batch = await client.batch({ body: { resourceType: 'Bundle', type: 'batch', entry: [
    { request: { method: 'PUT', url: 'Patient/kit-2' }, resource: { resourceType: 'Patient', id: 'kit-2' } },
    { request: { method: 'GET', url: 'Patient/' + created.id } } ] } });
  await client.delete({ resourceType: 'Patient', id: created.id });
  let gone = 0;
  try { await client.read({ resourceType: 'Patient', id: created.id }); } catch (e) { gone = e.response && e.response.status; }
  const cap = await client.capabilityStatement();
  console.log(JSON.stringify({ id: created.id, family: read.name[0].family, version: updated.meta.versionId, gender: updated.gender,
    found: found.entry.length, batch: batch.entry.map(e => e.response.status), gone, fhirVersion: cap.fhirVersion }));
})().catch(e => { console.error('FAILED', e.message, e.response && e.response.status); process.exit(1); });
)js";

}  // namespace

TEST_CASE("fhir-kit-client (npm) creates, reads, updates, searches, batches and deletes against our server", "[agent][fhir][external]") {
    const std::string node = test::find_program("node");
    REQUIRE_FALSE(node.empty());
    const std::string module = fhir_kit_client_dir();
    INFO("fhir-kit-client expected at " << module << " (cross/deps.sh installs it)");
    REQUIRE(::access((module + "/package.json").c_str(), R_OK) == 0);

    test::temp_dir tmp;
    store::store_options o;
    o.path = tmp.file("edgesync.db");
    std::string why;
    auto opened = store::store::open(o, why);
    REQUIRE(opened);
    asio::io_context ioc;
    auto routes = std::make_shared<net::router>();
    api::fhir_params p;
    p.read_roles = p.write_roles = net::role_local_app;
    p.node_id = "clinic-a";
    p.categories = {{"Patient", "patient"}};
    api::add_fhir_routes(*routes, **opened, p);
    std::vector<net::user_entry> users{{"app", "", net::sha256_hex("kit-token"), net::role_local_app, {}}};
    net::http_server server(ioc.get_executor(), net::server_params{}, routes, std::make_shared<net::authenticator>(users));
    REQUIRE_FALSE(server.listen({asio::ip::make_address("127.0.0.1"), 0}));
    const std::string base = "http://127.0.0.1:" + std::to_string(server.local_endpoint().port()) + "/ws/fhir2/R4";

    const std::string script = tmp.write("kit.js", k_script);
    std::optional<test::command_result> result;
    std::thread runner([&] { result = test::run_command({node, script, module, base, "kit-token"}, tmp.file("kit.out"), std::chrono::seconds(60)); });
    test::run_until(ioc, [&] { return result.has_value(); }, std::chrono::seconds(90));
    runner.join();
    REQUIRE(result);
    INFO(result->output);
    REQUIRE(result->status == 0);
    const auto v = boost::json::parse(result->output.substr(result->output.find('{')));
    CHECK(v.at("family") == "Wanjiru");
    CHECK(v.at("version") == "2");
    CHECK(v.at("gender") == "female");
    CHECK(v.at("found") == 1);
    CHECK(v.at("batch").at(0) == "201 Created");
    CHECK(v.at("batch").at(1) == "200 OK");
    CHECK(v.at("gone") == 410);
    CHECK(v.at("fhirVersion") == "4.0.1");
}
