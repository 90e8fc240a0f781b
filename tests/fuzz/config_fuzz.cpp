// libFuzzer target: the config reader, config::parse_config() — JSONC (comments, trailing commas),
// the duplicate-key pass, the schema with its bounds, secrets and file references, cross-section
// checks — on arbitrary text, with an empty scratch folder as the config's folder.
//
// Contract:
//  - never crash, hang, leak, throw or trip a sanitizer;
//  - a config comes back exactly when no problem is an error; every problem has a JSON path from
//    "$" and a message, and format_problem names the file;
//  - an accepted config holds only values within the bounds the reader states (ports, counts,
//    sizes, durations, jitter), categories and clients that exist, no category listed twice,
//    valid unique user names each with a credential and a role, absolute file paths, and an
//    instance_id whenever there is a parent;
//  - the reading is a function of the text: the same text twice, or with a comment before and
//    after it, gives the same problems.
//
// The reader opens the files a config names (secrets, certificates), so inputs naming anything
// under /dev, /proc or /sys are skipped: /dev/zero as a password_file would be read for ever.
#include "contract.hpp"

#include "agent/common/log.hpp"
#include "agent/config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace {

using namespace edgesync;
using fuzz::broken;
namespace json = boost::json;

const std::string& scratch_dir() {
    static const std::string dir = [] {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/edgesync-fuzz-config-XXXXXX";
        if (!::mkdtemp(templ.data())) broken("cannot make a scratch folder", templ);
        static const struct cleanup {
            std::string d;
            ~cleanup() {
                std::error_code ec;
                std::filesystem::remove_all(d, ec);
            }
        } c{templ};
        return templ;
    }();
    return dir;
}

bool names_a_device(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string: {
            const std::string_view s = v.get_string();
            return s.find("/dev") != std::string_view::npos || s.find("/proc") != std::string_view::npos ||
                   s.find("/sys") != std::string_view::npos;
        }
        case json::kind::object:
            for (const auto& kv : v.get_object())
                if (names_a_device(kv.value())) return true;
            return false;
        case json::kind::array:
            for (const auto& e : v.get_array())
                if (names_a_device(e)) return true;
            return false;
        default: return false;
    }
}

std::string problems_text(const config::load_result& r) {
    std::string out;
    for (const auto& p : r.problems) out += config::format_problem("f", p) + "\n";
    return out;
}

template <class T>
void within(const T& v, const T& lo, const T& hi, const char* what) {
    if (v < lo || v > hi) broken("an accepted config holds a value out of bounds", what);
}

void check_accepted(const config::node_config& c) {
    using namespace std::chrono_literals;
    using edgesync::duration;
    constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
    if (c.server.listen_port == 0) broken("an accepted config listens on port 0");
    within<std::uint32_t>(c.server.max_connections, 1, 10'000, "server.max_connections");
    within<duration>(c.server.header_timeout, 1s, 10min, "server.timeouts.header");
    within<duration>(c.server.shutdown_grace, 0s, 10min, "server.timeouts.shutdown_grace");
    within<std::uint32_t>(c.parent.max_connections, 1, 64, "parent.max_connections");
    within<std::uint32_t>(c.parent.max_redirects, 0, 10, "parent.max_redirects");
    within<std::uint64_t>(c.limits.max_header_bytes, 1 * KiB, 1 * MiB, "limits.max_header_bytes");
    within<std::uint64_t>(c.limits.max_request_body, 1 * KiB, 1 * GiB, "limits.max_request_body");
    within<std::uint64_t>(c.limits.max_resource_bytes, 1 * KiB, 256 * MiB, "limits.max_resource_bytes");
    within<std::uint32_t>(c.limits.max_json_depth, 4, 1000, "limits.max_json_depth");
    within<std::uint64_t>(c.store.cache_bytes, 1 * MiB, 1024 * MiB, "store.cache_size");
    within<std::uint32_t>(c.feeds.page_size, 1, 1000, "feeds.page_size");
    for (const auto* d : {&c.pull, &c.push}) {
        within(d->jitter, 0.0, 0.5, "jitter");
        within<std::uint32_t>(d->concurrency, 1, 64, "concurrency");
        within<std::uint32_t>(d->batch_size, 1, 1000, "batch_size");
        if (d->backoff_max < d->backoff_initial) broken("an accepted config backs off less than its initial backoff");
        std::set<std::string> seen;
        for (const auto& cat : d->categories) {
            if (!c.categories.count(cat)) broken("an accepted config syncs an unknown category", cat);
            if (!seen.insert(cat).second) broken("an accepted config lists a category twice", cat);
        }
        const auto clients = config::known_clients();
        for (const auto& [cat, client] : d->clients) {
            if (!c.categories.count(cat)) broken("an accepted config sets a client for an unknown category", cat);
            if (std::find(clients.begin(), clients.end(), client) == clients.end()) broken("an accepted config names an unknown client", client);
        }
    }
    if (c.retry.backoff_max < c.retry.backoff_initial) broken("an accepted config retries sooner than its initial backoff");
    std::set<std::string> names;
    for (const auto& u : c.server.users) {
        if (u.name.empty() || u.name.size() > 64 || !names.insert(u.name).second) broken("an accepted config has a bad or repeated user name", u.name);
        if (u.password_hash.empty() && u.token_sha256.empty()) broken("an accepted config has a user without a credential", u.name);
        if (u.roles.empty()) broken("an accepted config has a user without a role", u.name);
        for (const auto& cat : u.categories)
            if (!c.categories.count(cat)) broken("an accepted config restricts a user to an unknown category", cat);
    }
    for (const auto& [name, def] : c.categories)
        if (def.fhir_type.empty() && def.rest_resource.empty()) broken("an accepted config has a category with no representation", name);
    if (c.has_parent() && c.instance_id.empty()) broken("an accepted config has a parent but no instance_id");
    if (c.data_dir.empty() || c.data_dir.front() != '/') broken("an accepted config's data_dir is not absolute", c.data_dir);
    for (const std::string* f : {&c.server.tls.cert_file, &c.server.tls.key_file, &c.server.tls.client_ca_file, &c.parent.tls.ca_file,
                                 &c.parent.tls.ca_dir, &c.parent.tls.client_cert_file, &c.parent.tls.client_key_file})
        if (!f->empty() && f->front() != '/') broken("an accepted config holds a relative file path", *f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = (log::set_level(log::level::error), true);
    (void)quiet;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    {
        json::parse_options o;
        o.allow_comments = o.allow_trailing_commas = true;
        boost::system::error_code ec;
        const json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, o);
        if (!ec && names_a_device(v)) return 0;
    }
    const std::string& dir = scratch_dir();

    const config::load_result r = config::parse_config(text, dir);
    const bool has_error = std::any_of(r.problems.begin(), r.problems.end(),
                                       [](const config::problem& p) { return p.level == config::problem::severity::error; });
    if (has_error == r.config.has_value()) broken(has_error ? "a config came back despite an error" : "no config and no error");
    for (const auto& p : r.problems) {
        if (p.path.empty() || p.path.front() != '$') broken("a problem without a JSON path", p.path + ": " + p.message);
        if (p.message.empty()) broken("a problem without a message", p.path);
        if (config::format_problem("edgesync.jsonc", p).rfind("edgesync.jsonc: ", 0) != 0) broken("format_problem does not name the file");
    }
    for (const auto& v : r.visited_paths)
        if (v.empty() || v.front() != '$') broken("a visited path not from $", v);
    if (r.config) check_accepted(*r.config);

    const std::string first = problems_text(r);
    if (problems_text(config::parse_config(text, dir)) != first) broken("the same text read twice gives other problems");
    // Comments around a document change nothing (a syntax error's position would, so only then).
    const bool syntax_error = !r.problems.empty() && r.problems.front().path == "$" && r.problems.front().message.rfind("invalid JSON", 0) == 0;
    if (!syntax_error) {
        const std::string wrapped = "/* before */ " + std::string(text) + "\n// after\n";
        if (problems_text(config::parse_config(wrapped, dir)) != first) broken("a comment around the document changes the problems");
    }
    return 0;
}
