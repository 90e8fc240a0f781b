#include "agent/config.hpp"

#include "support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

using namespace edgesync;
using config::problem;

namespace {

config::load_result parse(const std::string& text) { return config::parse_config(text, "/etc/edgesync"); }

std::string dump(const config::load_result& r) {
    std::string out;
    for (const auto& p : r.problems) out += config::format_problem("cfg", p) + "\n";
    return out;
}

// The problems reported at exactly `path`.
std::vector<problem> at(const config::load_result& r, const std::string& path) {
    std::vector<problem> out;
    for (const auto& p : r.problems)
        if (p.path == path) out.push_back(p);
    return out;
}


// Evaluates a reader path ("$.a.b[2].c", "$.a[\"odd key\"]") on a JSON value; nullptr if absent.
const boost::json::value* lookup(const boost::json::value& root, const std::string& path) {
    const boost::json::value* v = &root;
    std::size_t i = 1;  // skip '$'
    while (i < path.size() && v) {
        if (path[i] == '.') {
            std::size_t j = path.find_first_of(".[", i + 1);
            std::string key = path.substr(i + 1, j == std::string::npos ? std::string::npos : j - i - 1);
            v = v->is_object() && v->as_object().contains(key) ? &v->as_object().at(key) : nullptr;
            i = j == std::string::npos ? path.size() : j;
        } else if (path[i] == '[') {
            std::size_t j = path.find(']', i);
            std::string inner = path.substr(i + 1, j - i - 1);
            if (inner.front() == '"') {
                std::string key = boost::json::parse(inner).as_string().c_str();
                v = v->is_object() && v->as_object().contains(key) ? &v->as_object().at(key) : nullptr;
            } else {
                std::size_t idx = std::stoul(inner);
                v = v->is_array() && idx < v->as_array().size() ? &v->as_array()[idx] : nullptr;
            }
            i = j + 1;
        } else {
            return nullptr;
        }
    }
    return v;
}

}  // namespace

TEST_CASE("an empty config gives the documented defaults", "[config]") {
    auto r = parse("{}");
    INFO(dump(r));
    REQUIRE(r.config);
    CHECK(r.problems.empty());
    const auto& c = *r.config;
    CHECK(c.server.listen_host == "127.0.0.1");
    CHECK(c.server.listen_port == 8090);
    CHECK(c.data_dir == "/var/lib/edgesync");
    CHECK(c.local.backend == config::backend_kind::embedded);
    CHECK_FALSE(c.has_parent());
    CHECK(c.pull.enabled);
    CHECK(c.pull.interval == std::chrono::minutes(5));
    CHECK(c.pull.categories.front() == "location");
    CHECK(c.pull.categories.size() == 16);
    CHECK(c.push.categories == c.pull.categories);
    CHECK(c.conflicts == config::conflict_policy::manual);
    CHECK(c.retry.max_attempts == 10);
    CHECK(c.feeds.page_size == 200);
    CHECK(c.server.gzip_level == 4);
    CHECK(c.limits.max_request_body == 16u * 1024 * 1024);
    CHECK(c.store.synchronous == config::sync_mode::full);
    CHECK(c.store.cache_bytes == 8u * 1024 * 1024);
    CHECK(c.store.tombstone_retention == std::chrono::hours(24 * 180));
    CHECK(c.categories.at("observation").fhir_type == "Observation");
    CHECK(c.categories.at("form").client == "rest");
}

TEST_CASE("comments, trailing commas and units are accepted", "[config]") {
    auto r = parse(R"({
        // a comment
        "instance_id": "clinic-01", /* block */
        "data_dir": "data",
        "server": {"listen": "[::]:9000", "users": [
            {"name": "kid", "token_sha256": ")" + std::string(64, 'a') + R"(", "roles": ["sync-peer", "admin"],},
        ]},
        "parent": {"url": "https://parent.localhost/openmrs", "token": "t0k"},
        "pull": {"interval": "1h30m", "categories": ["patient", "visit",], "clients": {"patient": "rest"}},
        "limits": {"max_request_body": "2MiB", "max_header_bytes": 8192},
        "conflicts": {"policy": "newest-wins"},
    })");
    INFO(dump(r));
    REQUIRE(r.config);
    const auto& c = *r.config;
    CHECK(c.data_dir == "/etc/edgesync/data");  // relative to the config's folder
    CHECK(c.server.listen_host == "::");
    CHECK(c.server.listen_port == 9000);
    CHECK(c.server.users.at(0).roles == std::vector{config::role::sync_peer, config::role::admin});
    CHECK(c.parent.token.reveal() == "t0k");
    CHECK(c.pull.interval == std::chrono::minutes(90));
    CHECK(c.pull.categories == std::vector<std::string>{"patient", "visit"});
    CHECK(c.pull.clients.at("patient") == "rest");
    CHECK(c.limits.max_request_body == 2u * 1024 * 1024);
    CHECK(c.limits.max_header_bytes == 8192);
    CHECK(c.conflicts == config::conflict_policy::newest_wins);
}

TEST_CASE("bad configs are rejected with the exact JSON path", "[config]") {
    struct bad_case {
        const char* what;
        std::string json;
        const char* path;
        const char* message_part;
    };
    const std::string hex64(64, 'a');
    const std::vector<bad_case> cases{
        {"unknown top-level key with suggestion", R"({"pul": {}})", "$.pul", R"(unknown key (did you mean "pull"?))"},
        {"unknown nested key with suggestion", R"({"pull": {"intervall": "5m"}})", "$.pull.intervall",
         R"(did you mean "interval"?)"},
        {"unknown key far from any known one", R"({"server": {"zzzzzz": 1}})", "$.server.zzzzzz", "unknown key"},
        {"wrong type: string for bool", R"({"pull": {"enabled": "yes"}})", "$.pull.enabled",
         R"(expected true or false, got "yes")"},
        {"wrong type: number for string", R"({"instance_id": 7})", "$.instance_id", "expected a string, got the number 7"},
        {"wrong type: object for array", R"({"pull": {"categories": {}}})", "$.pull.categories",
         "expected an array of strings, got an object"},
        {"wrong type inside an array", R"({"push": {"categories": ["location", 5]}})", "$.push.categories[1]",
         "expected a string, got the number 5"},
        {"bad duration", R"({"pull": {"interval": "5 minutes"}})", "$.pull.interval", "expected a duration like"},
        {"duration out of range", R"({"push": {"interval": "100ms"}})", "$.push.interval", "must be between 1s and 30d"},
        {"number out of range", R"({"pull": {"concurrency": 0}})", "$.pull.concurrency", "must be between 1 and 64, got 0"},
        {"gzip level out of range", R"({"server": {"gzip_level": 10}})", "$.server.gzip_level", "must be between 1 and 9, got 10"},
        {"negative number", R"({"feeds": {"page_size": -5}})", "$.feeds.page_size", "must be between 1 and 1000"},
        {"fractional where whole number expected", R"({"retry": {"max_attempts": 2.5}})", "$.retry.max_attempts",
         "expected a whole number"},
        {"fraction out of range", R"({"pull": {"jitter": 0.9}})", "$.pull.jitter", "must be between 0 and 0.5"},
        {"bad size", R"({"limits": {"max_request_body": "8 megs"}})", "$.limits.max_request_body", "expected a size like"},
        {"size out of range", R"({"limits": {"max_header_bytes": "2GiB"}})", "$.limits.max_header_bytes",
         "must be between 1KiB and 1MiB"},
        {"bad enum value with suggestion", R"({"conflicts": {"policy": "parent_wins"}})", "$.conflicts.policy",
         R"(did you mean "parent-wins"?)"},
        {"unknown category with suggestion", R"({"pull": {"categories": ["location", "patients"]}})",
         "$.pull.categories[1]", R"(unknown category "patients" (did you mean "patient"?))"},
        {"category listed twice", R"({"pull": {"categories": ["patient", "visit", "patient"]}})", "$.pull.categories[2]",
         "listed twice"},
        {"unknown client", R"({"push": {"clients": {"patient": "fhirr"}}})", "$.push.clients.patient",
         R"(unknown client "fhirr", expected one of "fhir", "rest", "bahmni" (did you mean "fhir"?))"},
        {"FHIR client for a category with no FHIR type", R"({"pull": {"clients": {"form": "fhir"}}})",
         "$.pull.clients.form", "has no FHIR type"},
        {"client for an unknown category", R"({"pull": {"clients": {"encounterz": "rest"}}})", "$.pull.clients.encounterz",
         "unknown category"},
        {"missing instance_id when a parent is set", R"({"parent": {"url": "https://parent.localhost/openmrs", "token": "x"}})",
         "$.instance_id", "required when parent.url is set"},
        {"instance_id with a space", R"({"instance_id": "clinic 7"})", "$.instance_id", "expected 1-64 characters"},
        {"parent URL not http(s)", R"({"instance_id": "a", "parent": {"url": "ftp://parent.localhost/openmrs"}})",
         "$.parent.url", "scheme must be http or https"},
        {"parent URL with credentials", R"({"instance_id": "a", "parent": {"url": "https://u:p@parent.localhost/"}})",
         "$.parent.url", "credentials are not allowed"},
        {"duplicate user",
         R"({"server": {"users": [{"name": "alice", "token_sha256": ")" + hex64 + R"(", "roles": ["admin"]},
                                   {"name": "alice", "token_sha256": ")" + hex64 + R"(", "roles": ["admin"]}]}})",
         "$.server.users[1].name", R"(duplicate user "alice" (first defined at $.server.users[0]))"},
        {"unknown role", R"({"server": {"users": [{"name": "a", "token_sha256": ")" + hex64 + R"(", "roles": ["admn"]}]}})",
         "$.server.users[0].roles[0]", R"(did you mean "admin"?)"},
        {"user without credential", R"({"server": {"users": [{"name": "a", "roles": ["admin"]}]}})", "$.server.users[0]",
         "has no credential"},
        {"malformed password hash",
         R"({"server": {"users": [{"name": "a", "password_hash": "plain-text", "roles": ["admin"]}]}})",
         "$.server.users[0].password_hash", "expected \"pbkdf2-sha256$"},
        {"user category unknown",
         R"({"server": {"users": [{"name": "a", "token_sha256": ")" + hex64 + R"(", "roles": ["local-app"], "categories": ["obs"]}]}})",
         "$.server.users[0].categories[0]", "unknown category \"obs\""},
        {"listen with a host name and a bad port", R"({"server": {"listen": "localhost:99999"}})", "$.server.listen",
         "expected ADDRESS:PORT"},
        {"TLS enabled without certificate", R"({"server": {"tls": {"enabled": true, "key_file": "k.pem"}}})",
         "$.server.tls.cert_file", "required when TLS is enabled"},
        {"duplicate key", R"({"pull": {}, "pull": {}})", "$.pull", "duplicate key"},
        {"duplicate nested key", R"({"server": {"users": [{"name": "a", "name": "b"}]}})", "$.server.users[0].name",
         "duplicate key"},
        {"top level not an object", R"([1, 2])", "$", "expected an object at the top level, got an array"},
        {"syntax error with position", "{\n  \"pull\": {\"enabled\": tru}\n}", "$", "invalid JSON at line 2"},
        {"password and password_file both given",
         R"({"instance_id": "a", "parent": {"url": "https://p.localhost/", "username": "u", "password": "x", "password_file": "f"}})",
         "$.parent.password_file", "not both"},
        {"secret file missing", R"({"instance_id": "a", "parent": {"url": "https://p.localhost/", "token_file": "/nonexistent/token"}})",
         "$.parent.token_file", "cannot read \"/nonexistent/token\""},
        {"bad pin", R"({"parent": {"tls": {"pins": ["sha256/short"]}}})", "$.parent.tls.pins[0]", "expected \"sha256/"},
        {"openmrs backend without url", R"({"local": {"backend": "openmrs", "openmrs": {"username": "admin"}}})",
         "$.local.openmrs.url", "required when backend is \"openmrs\""},
        {"odd key quoted in the path", R"({"categories": {"my cat": {"fhir_type": "X"}}})", "$.categories[\"my cat\"]",
         "category names use"},
        {"store cache too small", R"({"store": {"cache_size": "64KiB"}})", "$.store.cache_size",
         "must be between 1MiB and 1GiB"},
        {"backoff_max below backoff_initial", R"({"retry": {"backoff_initial": "1h", "backoff_max": "10m"}})",
         "$.retry.backoff_max", "must not be shorter than backoff_initial (1h)"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto r = parse(c.json);
            INFO("config: " << c.json);
            INFO("problems:\n" << dump(r));
            CHECK_FALSE(r.config);
            auto found = at(r, c.path);
            REQUIRE(found.size() >= 1);
            CHECK(found.front().level == problem::severity::error);
            CHECK_THAT(found.front().message, Catch::Matchers::Contains(c.message_part));
        }
    }
    CHECK(cases.size() >= 15);
}

TEST_CASE("every problem in a file is reported in one pass", "[config]") {
    auto r = parse(R"({"instance_id": "x y", "pull": {"interval": "soon", "concurrency": 999}, "bogus": 1})");
    CHECK_FALSE(r.config);
    CHECK(at(r, "$.instance_id").size() == 1);
    CHECK(at(r, "$.pull.interval").size() == 1);
    CHECK(at(r, "$.pull.concurrency").size() == 1);
    CHECK(at(r, "$.bogus").size() == 1);
    CHECK(r.problems.size() == 4);
    CHECK(config::format_problem("/etc/edgesync/edgesync.jsonc", r.problems.front()).rfind("/etc/edgesync/edgesync.jsonc: $.", 0) == 0);
}

TEST_CASE("warnings do not stop a node from starting", "[config]") {
    auto r = parse(R"({"instance_id": "a", "parent": {"url": "http://district.example.org/openmrs", "token": "t",
                       "tls": {"insecure": true}}, "audit": {"payloads": true}})");
    INFO(dump(r));
    REQUIRE(r.config);
    REQUIRE(at(r, "$.parent.url").size() == 1);
    CHECK(at(r, "$.parent.url")[0].level == problem::severity::warning);
    CHECK_THAT(at(r, "$.parent.url")[0].message, Catch::Matchers::Contains("unencrypted"));
    CHECK(at(r, "$.parent.tls.insecure").size() == 1);
    CHECK(at(r, "$.audit.payloads").size() == 1);
    // A loopback parent over plain http is normal in tests and next to a local OpenMRS: no warning.
    auto local = parse(R"({"instance_id": "a", "parent": {"url": "http://127.0.0.1:8081/openmrs", "token": "t"}})");
    CHECK(at(local, "$.parent.url").empty());
}

TEST_CASE("secrets come from files, and readable secret files are flagged", "[config]") {
    test::temp_dir dir;
    dir.write("token", "s3cret-token\n", 0600);
    dir.write("password", "s3cret-password\n", 0640);
    dir.write("loose", "s3cret-password\n", 0644);
    auto text = [](const std::string& password_file) {
        return R"({"instance_id": "a", "parent": {"url": "https://p.localhost/", "token_file": "token"},
                   "local": {"backend": "openmrs", "openmrs": {"url": "http://localhost:8080/openmrs",
                   "username": "admin", "password_file": ")" + password_file + R"("}}})";
    };
    auto r = config::parse_config(text("password"), dir.path());
    INFO(dump(r));
    REQUIRE(r.config);
    CHECK(r.config->parent.token.reveal() == "s3cret-token");  // trailing newline dropped
    CHECK(r.config->local.openmrs_password.reveal() == "s3cret-password");
    CHECK(at(r, "$.parent.token_file").empty());
    CHECK(at(r, "$.local.openmrs.password_file").empty());
    // One others may read is refused (issue 9), naming the fix.
    auto loose = config::parse_config(text("loose"), dir.path());
    INFO(dump(loose));
    CHECK_FALSE(loose.config);
    REQUIRE(at(loose, "$.local.openmrs.password_file").size() == 1);
    CHECK(at(loose, "$.local.openmrs.password_file")[0].level == problem::severity::error);
    CHECK_THAT(at(loose, "$.local.openmrs.password_file")[0].message, Catch::Matchers::Contains("chmod 600"));
}

TEST_CASE("an inline secret in a config file readable by others is flagged", "[config]") {
    test::temp_dir dir;
    const std::string text = R"({"instance_id": "a", "parent": {"url": "https://p.localhost/", "username": "u", "password": "pw"}})";
    auto loose = config::load_config_file(dir.write("loose.jsonc", text, 0644));
    CHECK_FALSE(loose.config);  // refused (issue 9)
    REQUIRE(at(loose, "$.parent.password").size() == 1);
    CHECK(at(loose, "$.parent.password")[0].level == problem::severity::error);
    auto tight = config::load_config_file(dir.write("tight.jsonc", text, 0600));
    REQUIRE(tight.config);
    CHECK(at(tight, "$.parent.password").empty());
}

TEST_CASE("a secret file or config that is a device or too large is refused before it is read", "[config]") {
    // Found by tests/fuzz/config: password_file "/dev/zero" read until memory ran out.
    test::temp_dir dir;
    dir.write("huge", std::string(100 * 1024, 'x'), 0600);
    for (const std::string file : {"/dev/zero", "huge", "."}) {
        INFO(file);
        const std::string text = R"({"instance_id": "a", "parent": {"url": "https://p.localhost/", "token_file": ")" + file + R"("}})";
        auto r = config::parse_config(text, dir.path());
        CHECK_FALSE(r.config);
        REQUIRE(at(r, "$.parent.token_file").size() == 1);
        CHECK_THAT(at(r, "$.parent.token_file")[0].message,
                   Catch::Matchers::Contains(file == "huge" ? "at most 65536 bytes" : "is not a regular file"));
    }
    auto device = config::load_config_file("/dev/zero");
    CHECK_FALSE(device.config);
    REQUIRE(device.problems.size() == 1);
    CHECK_THAT(device.problems[0].message, Catch::Matchers::Contains("not a regular file"));
}

TEST_CASE("a missing config file is a clear error", "[config]") {
    auto r = config::load_config_file("/nonexistent/edgesync.jsonc");
    CHECK_FALSE(r.config);
    REQUIRE(r.problems.size() == 1);
    CHECK_THAT(r.problems[0].message, Catch::Matchers::Contains("cannot read the file"));
}

TEST_CASE("custom categories extend and override the built-ins", "[config]") {
    auto r = parse(R"({"categories": {"diagnostic_report": {"fhir_type": "DiagnosticReport"},
                                      "visit": {"client": "rest"}},
                       "pull": {"categories": ["diagnostic_report", "visit"]}})");
    INFO(dump(r));
    REQUIRE(r.config);
    CHECK(r.config->categories.at("diagnostic_report").client == "fhir");
    CHECK(r.config->categories.at("visit").client == "rest");
    CHECK(r.config->categories.at("visit").fhir_type == "Encounter");
}

TEST_CASE("the example config is valid and documents every field", "[config]") {
    const std::string path = EDGESYNC_SOURCE_DIR "/agent/config/edgesync.example.jsonc";
    const std::string text = test::read_file(path);
    auto r = config::parse_config(text, EDGESYNC_SOURCE_DIR "/agent/config");
    INFO(dump(r));
    REQUIRE(r.config);
    for (const auto& p : r.problems) CHECK(p.level == problem::severity::warning);

    boost::json::parse_options opt;
    opt.allow_comments = true;
    opt.allow_trailing_commas = true;
    auto root = boost::json::parse(text, {}, opt);
    // Every path the reader consulted must be written in the example, so a new field cannot be
    // added without documenting it there.
    std::size_t checked = 0;
    for (const auto& p : r.visited_paths) {
        INFO("field missing from the example: " << p);
        CHECK(lookup(root, p) != nullptr);
        ++checked;
    }
    CHECK(checked > 80);
}

namespace {

// A reader path as the reference writes it: "$.server.users[3].name" -> "server.users[].name";
// keys chosen by the user (category names) become placeholders.
std::string reference_path(std::string p) {
    if (p.rfind("$.", 0) == 0) p = p.substr(2);
    std::string out;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '[') {
            out += "[]";
            i = p.find(']', i);
            continue;
        }
        out += p[i];
    }
    std::vector<std::string> parts;
    std::stringstream in(out);
    for (std::string s; std::getline(in, s, '.');) parts.push_back(s);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        if (parts[i] == "categories" && i == 0) parts[i + 1] = "<name>";
        if (parts[i] == "clients" && i == 1) parts[i + 1] = "<category>";
    }
    std::string joined;
    for (const auto& s : parts) joined += (joined.empty() ? "" : ".") + s;
    return joined;
}

}  // namespace

TEST_CASE("the configuration reference documents every field the reader knows, and no field it does not", "[config]") {
    const std::string doc = test::read_file(EDGESYNC_SOURCE_DIR "/docs/configuration.md");
    // The fields: every path the reader consulted for the example (which sets every field,
    // including the map-valued ones) and for an empty config (which walks every default).
    std::set<std::string> fields;
    for (const auto* text : {"{}", ""}) {
        const std::string t = *text ? text : test::read_file(EDGESYNC_SOURCE_DIR "/agent/config/edgesync.example.jsonc");
        auto r = config::parse_config(t, EDGESYNC_SOURCE_DIR "/agent/config");
        REQUIRE(r.config);
        for (const auto& p : r.visited_paths) fields.insert(reference_path(p));
    }
    CHECK(fields.size() > 80);
    // The reference names each in a table row's first cell: "| `server.listen` | ...".
    std::set<std::string> documented;
    std::stringstream lines(doc);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("| `", 0) != 0) continue;
        const auto end = line.find('`', 3);
        if (end != std::string::npos) documented.insert(line.substr(3, end - 3));
    }
    for (const auto& f : fields) {
        INFO("field missing from docs/configuration.md: " << f);
        CHECK(documented.count(f) == 1);
    }
    for (const auto& d : documented) {
        INFO("docs/configuration.md documents a field the reader does not know: " << d);
        CHECK(fields.count(d) == 1);
    }
}
