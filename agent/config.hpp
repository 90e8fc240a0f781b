// The node's configuration: one JSON file (comments and trailing commas allowed), DESIGN.md §7.
//
// Every field has a safe default; agent/config/edgesync.example.jsonc documents each one and the
// tests check that the example names every field the reader knows. load_config() collects *all*
// problems (not just the first), each with the file, the JSON path and what was expected, so an
// operator on a slow remote session fixes the file in one round.
//
// Thread-safety: a config is built once at start-up and then only read; share it by const&.
#pragma once

#include "agent/common/log.hpp"
#include "agent/common/units.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgesync::config {

// A credential read from the config or from a file. It deliberately has no conversion to a log
// field or stream: logging one is a compile error.
class secret {
public:
    secret() = default;
    explicit secret(std::string v) : value_(std::move(v)) {}
    const std::string& reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }

private:
    std::string value_;
};

enum class role : std::uint8_t { admin, sync_peer, local_app };
std::string_view to_string(role r) noexcept;

// A principal that may call this node's HTTP API (children, local apps, operators).
struct user {
    std::string name;
    // "pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>"; empty when only a token is used.
    std::string password_hash;
    // Lower-case hex SHA-256 of a bearer token; empty when only a password is used.
    std::string token_sha256;
    std::vector<role> roles;
    // Categories this principal may read and write (FHIR and REST); empty = all. Only for a user
    // whose one role is local_app (the config refuses it elsewhere: feeds and admin ignore it).
    std::vector<std::string> categories;
};

struct server_tls_params {
    bool enabled = false;
    std::string cert_file;       // PEM chain, leaf first
    std::string key_file;        // PEM private key
    std::string client_ca_file;  // when set, clients must present a certificate signed by it (mTLS)
    std::string min_version = "1.2";  // "1.2" or "1.3"
};

struct server_params {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8090;
    // Base URL children and apps use to reach this node (links in feeds point here). Empty:
    // derived from the request's Host header.
    std::string public_url;
    server_tls_params tls;
    std::uint32_t max_connections = 64;
    // zlib level of gzipped answers, 1 (fastest) to 9 (smallest): the serving node's CPU against
    // the link's bytes. 4: 1.4% larger than 6 for 30% less CPU; 1: 9% larger than 4 for a third less.
    int gzip_level = 4;
    duration header_timeout{std::chrono::seconds(15)};
    duration body_timeout{std::chrono::seconds(60)};
    duration handler_timeout{std::chrono::seconds(60)};
    duration write_timeout{std::chrono::seconds(60)};
    duration idle_timeout{std::chrono::seconds(30)};      // keep-alive wait for the next request
    duration shutdown_grace{std::chrono::seconds(10)};    // drain bound on SIGTERM before forcing
    std::vector<user> users;
};

struct parent_tls_params {
    std::string ca_file;  // PEM bundle; empty with empty ca_dir = the system bundle
    std::string ca_dir;   // folder of PEM certificates
    // Accepted SHA-256 pins of the parent's certificate or public key: "sha256/<base64>" (as
    // HPKP) or 64 hex digits. When set, a chain containing a pinned key or certificate is
    // trusted without a CA, and one without is refused (see net::tls_client_params::pins).
    std::vector<std::string> pins;
    std::string client_cert_file;  // mTLS towards the parent
    std::string client_key_file;
    std::string server_name;  // SNI and verification name; empty = the URL's host
    bool insecure = false;    // skip verification entirely; warned at every start
};

struct parent_params {
    std::string url;  // e.g. https://district.example.org/openmrs; empty = this node is a root
    std::string username;
    secret password;
    secret token;  // bearer token, instead of username/password
    parent_tls_params tls;
    std::string proxy;  // http://host:port, for CONNECT tunnels; empty = direct
    duration resolve_timeout{std::chrono::seconds(10)};
    duration connect_timeout{std::chrono::seconds(15)};
    duration tls_timeout{std::chrono::seconds(15)};
    duration write_timeout{std::chrono::seconds(30)};
    duration first_byte_timeout{std::chrono::seconds(60)};
    duration body_idle_timeout{std::chrono::seconds(30)};
    std::uint32_t max_connections = 4;
    std::uint32_t max_redirects = 3;
};

enum class backend_kind : std::uint8_t { embedded, openmrs };

struct local_params {
    backend_kind backend = backend_kind::embedded;
    // backend = openmrs: the OpenMRS beside this node, reached over localhost.
    std::string openmrs_url;
    std::string openmrs_username;
    secret openmrs_password;
};

// What a category is on the wire. Built-ins follow sync2's default configuration; the config's
// "categories" object adds new ones or overrides fields of built-in ones.
struct category_def {
    std::string name;
    std::string fhir_type;      // FHIR R4 resource type; empty = no FHIR representation
    std::string rest_resource;  // REST v1 path under /ws/rest/v1, may contain {parent-uuid}
    std::string client;         // default client: "fhir", "rest", "bahmni" or one registered in code (sync::client_registry)
};

struct direction_params {
    bool enabled = true;
    duration interval{std::chrono::minutes(5)};
    double jitter = 0.1;  // each wait is interval * (1 ± jitter), so nodes do not synchronise
    std::vector<std::string> categories;       // processed in this order
    std::map<std::string, std::string> clients;  // per-category client override
    std::uint32_t concurrency = 4;  // fetches (pull) or sends (push) in flight
    std::uint32_t batch_size = 50;  // resources per Bundle batch when the peer supports it
    duration backoff_initial{std::chrono::seconds(10)};  // after a network error
    duration backoff_max{std::chrono::minutes(30)};
};

struct retry_params {
    std::uint32_t queue_cap = 10'000;  // failed events kept; the reader pauses when full
    std::uint32_t max_attempts = 10;   // then parked for an operator
    duration backoff_initial{std::chrono::seconds(30)};
    duration backoff_max{std::chrono::hours(6)};
    bool continue_on_failure = true;  // false: a failed record stops its feed until fixed
};

enum class conflict_policy : std::uint8_t { manual, parent_wins, child_wins, newest_wins };
std::string_view to_string(conflict_policy p) noexcept;

struct audit_params {
    bool success = true;
    bool failure = true;
    duration retention{std::chrono::hours(24 * 90)};
    bool payloads = false;  // store resource bodies in audit rows (patient data!)
};

enum class marker_lost_policy : std::uint8_t { restart, pause };

struct feeds_params {
    std::uint32_t page_size = 200;  // entries per published page
    marker_lost_policy on_marker_lost = marker_lost_policy::restart;
};

enum class sync_mode : std::uint8_t { full, normal };
enum class integrity_mode : std::uint8_t { quick, full, off };

struct store_params {
    std::uint64_t cache_bytes = 8 * 1024 * 1024;  // SQLite page cache; memory stays flat as the store grows
    // full: every acknowledged write survives a power cut. normal: faster; a power cut may lose
    // the last commits (never corrupts, never moves a marker past unsaved data).
    sync_mode synchronous = sync_mode::full;
    integrity_mode integrity_check = integrity_mode::quick;  // run on open; failure refuses to start
    std::uint32_t max_batch = 256;  // writes grouped into one transaction (group commit)
    duration tombstone_retention{std::chrono::hours(24 * 180)};  // children must sync within this
    duration retry_log_retention{std::chrono::hours(24 * 30)};
    std::uint64_t audit_max_rows = 1'000'000;  // oldest pruned beyond this, besides audit.retention
};

struct limits_params {
    std::uint64_t max_header_bytes = 16 * 1024;
    std::uint64_t max_request_body = 16 * 1024 * 1024;
    std::uint64_t max_response_body = 64 * 1024 * 1024;
    std::uint64_t max_resource_bytes = 4 * 1024 * 1024;
    std::uint32_t max_json_depth = 64;
    std::uint32_t max_xml_depth = 32;
    std::uint64_t max_xml_text_bytes = 1024 * 1024;  // one element's text or attribute
    std::uint32_t max_feed_entries = 1000;           // entries in one feed page
};

struct node_config {
    std::string instance_id;  // this node's id in the tree; required when a parent is set
    std::string data_dir = "/var/lib/edgesync";
    log::level log_level = log::level::info;
    server_params server;
    parent_params parent;
    local_params local;
    std::map<std::string, category_def> categories;  // built-ins merged with the file's
    direction_params pull;
    direction_params push;
    retry_params retry;
    conflict_policy conflicts = conflict_policy::manual;
    audit_params audit;
    feeds_params feeds;
    store_params store;
    limits_params limits;

    bool has_parent() const noexcept { return !parent.url.empty(); }
};

// One problem found in a config file. path is a JSON path: "$", "$.pull.interval",
// "$.server.users[1].name".
struct problem {
    enum class severity : std::uint8_t { error, warning };
    severity level = severity::error;
    std::string path;
    std::string message;
};

struct load_result {
    std::optional<node_config> config;  // set when there is no error (warnings allowed)
    std::vector<problem> problems;
    // Every JSON path the reader looked at (present or not), array indices kept. Tests use it to
    // prove the example config mentions every field.
    std::vector<std::string> visited_paths;
    // Paths of secrets written inline; load_config_file() refuses them when the file is readable
    // by others.
    std::vector<std::string> inline_secret_paths;
};

// Client names a category may use: sync::client_registry::standard()'s (fhir, rest, bahmni, and
// what code registered before the config is loaded).
std::vector<std::string> known_clients();

// The built-in category table (sync2 defaults, FHIR R4 types).
const std::vector<category_def>& builtin_categories();

// Parses and validates. `text` is the file content; `source` names it in messages. Relative paths
// in the config (data_dir, certificates, secret files) are taken relative to `base_dir`, the
// config file's folder, and stored absolute.
load_result parse_config(std::string_view text, std::string_view base_dir);

// Reads the file, parses it and checks its permissions: a file other users may write, or may read
// while it holds an inline secret, is an error naming its mode and the chmod that fixes it (as is
// a *_file secret others may read or write, in parse_config).
load_result load_config_file(const std::string& path);

// "FILE: PATH: message" (or "FILE: warning: PATH: message").
std::string format_problem(std::string_view source, const problem& p);

}  // namespace edgesync::config
