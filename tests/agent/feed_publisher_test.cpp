// The node's own feeds: paging rules, the bytes of a page, and the published feed read back over
// real HTTP by our reader and by Python's feedparser (an independent Atom implementation).
#include "agent/feed/atom_reader.hpp"
#include "agent/feed/fetch.hpp"
#include "agent/feed/publisher.hpp"
#include "agent/feed/runner.hpp"
#include "agent/feed/walk.hpp"
#include "net/auth.hpp"
#include "net/http_server.hpp"
#include "store/store.hpp"
#include "support/canned_server.hpp"
#include "support/catch_net.hpp"
#include "support/process.hpp"
#include "support/run.hpp"
#include "support/temp_dir.hpp"
#include "tests/store/store_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>

#include <thread>

using namespace edgesync;
namespace asio = boost::asio;

namespace {

constexpr const char* k_token = "feed-reader-token";

struct published_node {
    test::temp_dir tmp;
    std::unique_ptr<store::store> st;
    asio::io_context ioc;
    std::unique_ptr<net::http_server> server;
    std::uint16_t port = 0;
    std::vector<std::string> patient_events;  // event uuids in commit order

    explicit published_node(int patients, std::uint32_t page_size = 50) {
        store::store_options o;
        o.path = tmp.file("edgesync.db");
        std::string why;
        auto s = store::store::open(o, why);
        REQUIRE(s);
        st = std::move(*s);
        for (int i = 0; i < patients; ++i) {
            auto r = test::put_sync(*st, test::sample_write(static_cast<std::uint64_t>(i)));
            REQUIRE(r);
        }
        auto loc = test::sample_write(9999);
        loc.category = "location";
        loc.key = {"rest", "location", test::sample_uuid(9999)};
        REQUIRE(test::put_sync(*st, loc));
        auto ev = test::read_sync<std::vector<store::event_record>>(
            *st, [](store::sql::connection& db) { return store::events_after(db, "patient", 0, 100000); });
        REQUIRE(ev);
        for (const auto& e : *ev) patient_events.push_back(e.uuid);

        auto routes = std::make_shared<net::router>();
        feed::publisher_params p;
        p.page_size = page_size;
        p.roles = net::role_sync_peer | net::role_admin;
        p.identity.id_prefix = st->status().store_epoch;
        feed::add_feed_routes(*routes, *st, p);
        net::user_entry child{"child", "", net::sha256_hex(k_token), net::role_sync_peer, {}};
        auto auth = std::make_shared<net::authenticator>(std::vector<net::user_entry>{child});
        server = std::make_unique<net::http_server>(ioc.get_executor(), net::server_params{}, routes, auth);
        REQUIRE_FALSE(server->listen({asio::ip::make_address("127.0.0.1"), 0}));
        port = server->local_endpoint().port();
    }

    std::string get(const std::string& path, const std::string& extra_headers = "", bool auth = true) {
        const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
                                (auth ? std::string("Authorization: Bearer ") + k_token + "\r\n" : std::string()) +
                                extra_headers + "Connection: close\r\n\r\n";
        return test::run_until_done(ioc, test::raw_exchange(ioc, {asio::ip::make_address("127.0.0.1"), port}, req));
    }
};

std::string body_of(const std::string& response) { return test::parse_raw_response(response).body; }

std::string header_of(const std::string& response, const std::string& name) { return test::parse_raw_response(response).header(name); }

}  // namespace

TEST_CASE("paging: pages of page_size entries, the newest partly full, page 0 only for an empty feed", "[agent][feed]") {
    auto empty = feed::plan_page(0, 50, std::nullopt);
    CHECK(empty.exists);
    CHECK(empty.number == 0);
    CHECK_FALSE(feed::plan_page(0, 50, 1).exists);
    auto recent = feed::plan_page(120, 50, std::nullopt);
    CHECK(recent.number == 3);
    CHECK(recent.first_seq == 101);
    CHECK(recent.last_seq == 120);
    CHECK_FALSE(recent.archived());
    auto one = feed::plan_page(120, 50, 1);
    CHECK(one.archived());
    CHECK(one.first_seq == 1);
    CHECK(one.last_seq == 50);
    CHECK_FALSE(feed::plan_page(120, 50, 4).exists);
    CHECK_FALSE(feed::plan_page(120, 50, 0).exists);
    CHECK(feed::plan_page(100, 50, std::nullopt).number == 2);  // exactly full: no empty page 3
}

TEST_CASE("a page's bytes follow the atomfeed publisher's layout", "[agent][feed]") {
    feed::feed_identity id;
    id.id_prefix = "epoch";
    const auto plan = feed::plan_page(120, 50, 2);
    const std::string head = feed::render_head(id, plan, "http://n/ws/atomfeed/patient", false, "2024-03-05T09:14:27Z");
    CHECK_THAT(head, Catch::Matchers::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\r\n"));
    CHECK_THAT(head, Catch::Matchers::Contains("<link rel=\"self\" type=\"application/atom+xml\" href=\"http://n/ws/atomfeed/patient/2\" />"));
    CHECK_THAT(head, Catch::Matchers::Contains("rel=\"next-archive\" type=\"application/atom+xml\" href=\"http://n/ws/atomfeed/patient/3\""));
    CHECK_THAT(head, Catch::Matchers::Contains("rel=\"prev-archive\" type=\"application/atom+xml\" href=\"http://n/ws/atomfeed/patient/1\""));
    CHECK_THAT(head, Catch::Matchers::Contains("<id>epoch+2</id>"));
    store::event_record e;
    e.uuid = "0c3e5b7a-2d6f-4a51-9a0e-1f2b3c4d5e6f";
    e.title = "Patient";
    e.category = "patient";
    e.tags = "CREATED";
    e.timestamp = 1709630067000;
    e.object = "{\"fhir\":\"/ws/fhir2/R4/Patient/x\",\"odd\":\"]]>\"}";
    const std::string entry = feed::render_entry(e);
    CHECK_THAT(entry, Catch::Matchers::Contains("<category term=\"patient\" />\r\n    <category term=\"CREATED\" />"));
    CHECK_THAT(entry, Catch::Matchers::Contains("<id>tag:atomfeed.ict4h.org:0c3e5b7a-2d6f-4a51-9a0e-1f2b3c4d5e6f</id>"));
    CHECK_THAT(entry, Catch::Matchers::Contains("<updated>2024-03-05T09:14:27Z</updated>"));
    // Even content holding "]]>" reads back exactly.
    auto back = feed::parse_page(head + entry + std::string(feed::k_feed_tail));
    REQUIRE_FALSE(back.error);
    REQUIRE(back.entries.size() == 1);
    CHECK(back.entries[0].content == e.object);
    CHECK(feed::entry_action(back.entries[0]) == "CREATED");
}

TEST_CASE("the published feed read back over HTTP: every event once, in order, from the newest page back", "[agent][feed]") {
    published_node node(120);
    const std::string recent = node.get("/ws/atomfeed/patient/recent");
    REQUIRE_THAT(recent, Catch::Matchers::StartsWith("HTTP/1.1 200"));
    CHECK(header_of(recent, "Content-Type") == "application/atom+xml;charset=UTF-8");
    CHECK(header_of(recent, "Cache-Control") == "no-cache");
    auto page = feed::parse_page(body_of(recent));
    REQUIRE_FALSE(page.error);
    const std::string base = "http://127.0.0.1:" + std::to_string(node.port) + "/ws/atomfeed/patient";
    CHECK(page.header.self == base + "/recent");
    CHECK(page.header.via == base + "/3");
    CHECK(page.header.next_archive.empty());
    CHECK(page.entries.size() == 20);

    // Walk back by prev-archive, then read forward: every event exactly once, in commit order.
    std::vector<std::vector<std::string>> pages;
    std::string at = page.header.via;
    for (int guard = 0; guard < 10 && !at.empty(); ++guard) {
        const std::string resp = node.get(at.substr(at.find("/ws/")));
        REQUIRE_THAT(resp, Catch::Matchers::StartsWith("HTTP/1.1 200"));
        auto p = feed::parse_page(body_of(resp));
        REQUIRE_FALSE(p.error);
        std::vector<std::string> ids;
        for (const auto& e : p.entries) {
            ids.emplace_back(feed::entry_event_uuid(e));
            CHECK(feed::entry_action(e) == "CREATED");
            CHECK(feed::entry_category(e) == "patient");
        }
        pages.insert(pages.begin(), ids);
        at = p.header.prev_archive;
    }
    std::vector<std::string> all;
    for (const auto& p : pages) all.insert(all.end(), p.begin(), p.end());
    CHECK(all == node.patient_events);

    // An archived page: immutable, with a strong ETag; a matching If-None-Match answers 304.
    const std::string first = node.get("/ws/atomfeed/patient/1");
    CHECK(header_of(first, "Cache-Control") == "public, max-age=31536000, immutable");
    const std::string etag = header_of(first, "ETag");
    REQUIRE_FALSE(etag.empty());
    CHECK(etag.front() == '"');
    CHECK_THAT(node.get("/ws/atomfeed/patient/1", "If-None-Match: " + etag + "\r\n"), Catch::Matchers::StartsWith("HTTP/1.1 304"));
    // The newest page's ETag changes when an event arrives.
    const std::string recent_etag = header_of(recent, "ETag");
    CHECK_THAT(node.get("/ws/atomfeed/patient/recent", "If-None-Match: " + recent_etag + "\r\n"), Catch::Matchers::StartsWith("HTTP/1.1 304"));
    REQUIRE(test::put_sync(*node.st, test::sample_write(500)));
    const std::string after = node.get("/ws/atomfeed/patient/recent", "If-None-Match: " + recent_etag + "\r\n");
    CHECK_THAT(after, Catch::Matchers::StartsWith("HTTP/1.1 200"));
    CHECK(header_of(after, "ETag") != recent_etag);
}

TEST_CASE("feed requests: case-insensitive categories, clear 404s and 400s, credentials required", "[agent][feed]") {
    published_node node(3);
    auto upper = feed::parse_page(body_of(node.get("/ws/atomfeed/PATIENT/recent")));
    REQUIRE_FALSE(upper.error);
    CHECK(upper.entries.size() == 3);
    const std::string missing = node.get("/ws/atomfeed/patient/7");
    CHECK_THAT(missing, Catch::Matchers::StartsWith("HTTP/1.1 404"));
    CHECK_THAT(missing, Catch::Matchers::Contains("does not exist; the newest is 1"));
    CHECK_THAT(node.get("/ws/atomfeed/patient/abc"), Catch::Matchers::StartsWith("HTTP/1.1 400"));
    // An unknown category is an empty feed (page 0), as OpenMRS serves it.
    auto empty = feed::parse_page(body_of(node.get("/ws/atomfeed/visit/recent")));
    REQUIRE_FALSE(empty.error);
    CHECK(empty.entries.empty());
    CHECK_THAT(empty.header.via, Catch::Matchers::EndsWith("/ws/atomfeed/visit/0"));
    CHECK_THAT(node.get("/ws/atomfeed/visit/0"), Catch::Matchers::StartsWith("HTTP/1.1 200"));
    CHECK_THAT(node.get("/ws/atomfeed/patient/recent", "", false), Catch::Matchers::StartsWith("HTTP/1.1 401"));
}

TEST_CASE("Python's feedparser reads the published feed without complaint and rebuilds the event list", "[agent][feed][external]") {
    // Debian's interpreter, where python3-feedparser (cross/deps.sh) installs; not whatever
    // python3 comes first on PATH.
    const std::string python = test::find_program("/usr/bin/python3");
    REQUIRE_FALSE(python.empty());
    published_node node(75, 20);
    const std::string script = node.tmp.write("read_feed.py", R"py(
import sys, urllib.request, feedparser
base, token = sys.argv[1], sys.argv[2]
def fetch(url):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()
pages, url = [], base + "/ws/atomfeed/patient/recent"
while url:
    d = feedparser.parse(fetch(url))
    if d.bozo:
        print("bozo", url, d.bozo_exception)
        sys.exit(1)
    pages.insert(0, [e.id.rsplit(":", 1)[1] for e in d.entries])
    url = next((l.href for l in d.feed.links if l.rel == "prev-archive"), None)
for p in pages:
    for i in p:
        print(i)
)py");
    std::optional<test::command_result> result;
    std::thread runner([&] {
        result = test::run_command({python, script, "http://127.0.0.1:" + std::to_string(node.port), k_token},
                                   node.tmp.file("py.out"), std::chrono::seconds(60));
    });
    test::run_until(node.ioc, [&] { return result.has_value(); }, std::chrono::seconds(90));
    runner.join();
    REQUIRE(result);
    INFO(result->output);
    REQUIRE(result->status == 0);
    std::vector<std::string> ids;
    std::istringstream in(result->output);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) ids.push_back(line);
    CHECK(ids == node.patient_events);
}

namespace {

// Runs a whole walk over the node's feed through the HTTP client, as a child would.
struct walk_result {
    std::vector<std::string> events;
    std::string last_via, last_id;
    feed::feed_walk::step end;
};
asio::awaitable<walk_result> walk_over_http(net::http_client& client, feed::walk_options opts) {
    walk_result out;
    feed::feed_walk w(std::move(opts));
    feed::feed_walk::step s = w.start();
    const std::string auth = std::string("Bearer ") + k_token;
    const feed::reader_limits limits;
    while (auto* f = std::get_if<feed::feed_walk::fetch>(&s)) {
        const std::string url = f->url;
        auto page = co_await feed::fetch_page(client, url, auth, limits);
        if (page.missing) {
            s = w.on_missing();
            continue;
        }
        REQUIRE_FALSE(page.ec);
        auto outcome = w.on_page(page.header, std::move(page.entries));
        for (const auto& e : outcome.entries) {
            out.events.emplace_back(feed::entry_event_uuid(e));
            out.last_id = e.id;
            out.last_via = outcome.via;
        }
        s = outcome.next;
    }
    out.end = s;
    co_return out;
}

}  // namespace

TEST_CASE("a child walks the published feed over HTTP: all of it, then only what is new, and a lost marker is named", "[agent][feed]") {
    published_node node(120);
    net::http_client client(node.ioc.get_executor(), net::client_params{});
    const std::string recent = "http://127.0.0.1:" + std::to_string(node.port) + "/ws/atomfeed/patient/recent";

    auto first = test::run_until_done(node.ioc, walk_over_http(client, {recent, std::nullopt}));
    CHECK(std::holds_alternative<feed::feed_walk::done>(first.end));
    CHECK(first.events == node.patient_events);

    // Ten more events; a walk from the marker reads exactly those.
    for (std::uint64_t i = 1000; i < 1010; ++i) REQUIRE(test::put_sync(*node.st, test::sample_write(i)));
    feed::walk_marker m{first.last_id, first.last_via, ""};
    auto second = test::run_until_done(node.ioc, walk_over_http(client, {recent, m}));
    CHECK(second.events.size() == 10);
    CHECK(std::holds_alternative<feed::feed_walk::done>(second.end));

    // A marker whose page no longer exists (the parent was restored from an older backup).
    feed::walk_marker gone{"tag:atomfeed.ict4h.org:x", recent.substr(0, recent.size() - 6) + "99", ""};
    auto third = test::run_until_done(node.ioc, walk_over_http(client, {recent, gone}));
    CHECK(std::holds_alternative<feed::feed_walk::marker_lost>(third.end));
}

TEST_CASE("links naming another host (a parent behind a proxy) are rebased, and that host is never contacted", "[agent][feed]") {
    published_node node(60);
    // Re-publish with a public URL that is not where the child reaches the node.
    auto routes = std::make_shared<net::router>();
    feed::publisher_params p;
    p.page_size = 25;
    p.roles = net::role_sync_peer;
    p.public_url = "https://openmrs.internal:8443";
    p.identity.id_prefix = "epoch";
    feed::add_feed_routes(*routes, *node.st, p);
    net::user_entry child{"child", "", net::sha256_hex(k_token), net::role_sync_peer, {}};
    net::http_server proxied(node.ioc.get_executor(), net::server_params{}, routes,
                             std::make_shared<net::authenticator>(std::vector<net::user_entry>{child}));
    REQUIRE_FALSE(proxied.listen({asio::ip::make_address("127.0.0.1"), 0}));
    const std::string recent = "http://127.0.0.1:" + std::to_string(proxied.local_endpoint().port()) + "/ws/atomfeed/patient/recent";
    net::http_client client(node.ioc.get_executor(), net::client_params{});
    auto r = test::run_until_done(node.ioc, walk_over_http(client, {recent, std::nullopt}));
    CHECK(std::holds_alternative<feed::feed_walk::done>(r.end));
    CHECK(r.events == node.patient_events);
    CHECK_THAT(r.last_via, Catch::Matchers::StartsWith("http://127.0.0.1:"));
}

namespace {

// A child's side: its own store (markers, audit) and a processor that commits each entry's marker
// (standing in for the pull replicator, which commits the resource with it).
struct child_side {
    test::temp_dir tmp;
    std::unique_ptr<store::store> st;
    std::vector<std::string> processed;
    child_side() {
        store::store_options o;
        o.path = tmp.file("child.db");
        std::string why;
        auto s = store::store::open(o, why);
        REQUIRE(s);
        st = std::move(*s);
    }
    feed::entry_processor processor() {
        return [this](const feed::feed_entry& e, const store::marker& next) -> asio::awaitable<boost::system::error_code> {
            processed.emplace_back(feed::entry_event_uuid(e));
            if (processed.size() % 3 == 0) co_return feed::entry_skipped();  // the runner moves the marker
            auto job = [next](store::write_context& c) -> store::result<bool> {
                if (auto ec = store::set_marker(c.db(), next, c.now())) return store::result<bool>(boost::system::in_place_error, ec);
                return true;
            };
            auto r = co_await st->write<bool>(std::move(job));
            co_return r ? boost::system::error_code{} : r.error();
        };
    }
    std::vector<store::audit_entry> audit() {
        store::audit_filter f;
        f.limit = 100;
        return *test::read_sync<std::vector<store::audit_entry>>(*st, [f](store::sql::connection& db) { return store::list_audit(db, f); });
    }
};

}  // namespace

TEST_CASE("feed runs: all events once, then only new ones, resuming from the stored marker", "[agent][feed]") {
    published_node parent(70);
    child_side child;
    net::http_client client(parent.ioc.get_executor(), net::client_params{});
    feed::run_params p;
    p.feed_url = "http://127.0.0.1:" + std::to_string(parent.port) + "/ws/atomfeed/patient/recent";
    p.authorization = std::string("Bearer ") + k_token;
    auto first = test::run_until_done(parent.ioc, feed::run_feed(client, *child.st, p, child.processor()));
    CHECK_FALSE(first.error);
    CHECK(first.processed == 70);
    CHECK(child.processed == parent.patient_events);
    auto none = test::run_until_done(parent.ioc, feed::run_feed(client, *child.st, p, child.processor()));
    CHECK(none.processed == 0);
    for (std::uint64_t i = 2000; i < 2005; ++i) REQUIRE(test::put_sync(*parent.st, test::sample_write(i)));
    auto more = test::run_until_done(parent.ioc, feed::run_feed(client, *child.st, p, child.processor()));
    CHECK(more.processed == 5);
    CHECK(child.processed.size() == 75);
    CHECK(child.audit().empty());
}

TEST_CASE("a lost marker is logged, flagged, audited, then re-read from the start or paused", "[agent][feed]") {
    published_node parent(30);
    child_side child;
    net::http_client client(parent.ioc.get_executor(), net::client_params{});
    feed::run_params p;
    p.feed_url = "http://127.0.0.1:" + std::to_string(parent.port) + "/ws/atomfeed/patient/recent";
    p.authorization = std::string("Bearer ") + k_token;
    p.category = "patient";
    p.peer = "parent";
    // The parent "was restored from a backup": our marker names an entry its feed no longer has.
    const store::marker stale{p.feed_url, "tag:atomfeed.ict4h.org:not-there-any-more", p.feed_url.substr(0, p.feed_url.size() - 6) + "1"};
    REQUIRE(test::write_sync<bool>(*child.st, [stale](store::write_context& c) -> store::result<bool> {
        if (auto ec = store::set_marker(c.db(), stale, c.now())) return store::result<bool>(boost::system::in_place_error, ec);
        return true;
    }));

    SECTION("pause: nothing moves, the operator is told") {
        p.policy = feed::on_marker_lost::pause;
        auto r = test::run_until_done(parent.ioc, feed::run_feed(client, *child.st, p, child.processor()));
        CHECK(r.marker_lost);
        CHECK(r.paused);
        CHECK(r.processed == 0);
        auto m = test::read_sync<std::optional<store::marker>>(*child.st, [url = p.feed_url](store::sql::connection& db) { return store::get_marker(db, url); });
        CHECK((*m)->last_read_entry_id == stale.last_read_entry_id);
    }
    SECTION("restart (the default): the whole feed again, idempotently") {
        auto r = test::run_until_done(parent.ioc, feed::run_feed(client, *child.st, p, child.processor()));
        CHECK(r.marker_lost);
        CHECK_FALSE(r.paused);
        CHECK_FALSE(r.error);
        CHECK(child.processed == parent.patient_events);
        // And the next run carries on normally from the new marker.
        auto next = test::run_until_done(parent.ioc, feed::run_feed(client, *child.st, p, child.processor()));
        CHECK_FALSE(next.marker_lost);
        CHECK(next.processed == 0);
    }
    auto audit = child.audit();
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].action == "MARKER_LOST");
    CHECK(audit[0].status == "failure");
    CHECK(audit[0].category == "patient");
    CHECK_THAT(audit[0].error, Catch::Matchers::Contains("not-there-any-more"));
}

TEST_CASE("a new feed at the same URL (the parent's store was recreated) is noticed by its id", "[agent][feed]") {
    child_side child;
    feed::run_params p;
    p.authorization = std::string("Bearer ") + k_token;
    std::uint16_t port = 0;
    {
        published_node parent(12);
        port = parent.port;
        net::http_client client(parent.ioc.get_executor(), net::client_params{});
        p.feed_url = "http://127.0.0.1:" + std::to_string(port) + "/ws/atomfeed/patient/recent";
        auto r = test::run_until_done(parent.ioc, feed::run_feed(client, *child.st, p, child.processor()));
        REQUIRE(r.processed == 12);
    }
    // A new parent store whose first page happens to hold an entry id we never saw: the prefix tells.
    published_node reborn(12);
    net::http_client client(reborn.ioc.get_executor(), net::client_params{});
    p.feed_url = "http://127.0.0.1:" + std::to_string(reborn.port) + "/ws/atomfeed/patient/recent";
    // Same URL as far as the marker knows: move the stored marker over to the new port.
    auto moved = test::write_sync<bool>(*child.st, [&](store::write_context& c) -> store::result<bool> {
        auto old = store::get_marker(c.db(), "http://127.0.0.1:" + std::to_string(port) + "/ws/atomfeed/patient/recent");
        if (!old || !*old) return store::result<bool>(boost::system::in_place_error, store::errc::not_found);
        auto prefix = store::get_meta(c.db(), "feed_prefix http://127.0.0.1:" + std::to_string(port) + "/ws/atomfeed/patient/recent");
        store::marker m{p.feed_url, (*old)->last_read_entry_id, p.feed_url.substr(0, p.feed_url.size() - 6) + "1"};
        if (auto ec = store::set_marker(c.db(), m, c.now())) return store::result<bool>(boost::system::in_place_error, ec);
        if (auto ec = store::set_meta(c.db(), "feed_prefix " + p.feed_url, prefix->value_or(""))) return store::result<bool>(boost::system::in_place_error, ec);
        return true;
    });
    REQUIRE(moved);
    child.processed.clear();
    auto r = test::run_until_done(reborn.ioc, feed::run_feed(client, *child.st, p, child.processor()));
    CHECK(r.marker_lost);
    CHECK(child.processed == reborn.patient_events);
    CHECK_THAT(child.audit().at(0).error, Catch::Matchers::Contains("feed id changed"));
}

TEST_CASE("a CR LF smuggled into a feed category cannot inject a response header", "[agent][feed]") {
    published_node node(1);
    const std::string r = node.get("/ws/atomfeed/x%0d%0aSet-Cookie:%20a=b/recent");
    CHECK_THAT(r, Catch::Matchers::StartsWith("HTTP/1.1 404"));
    CHECK(r.find("Set-Cookie") == std::string::npos);
    CHECK_THAT(node.get("/ws/atomfeed/pa%22tient/recent"), Catch::Matchers::StartsWith("HTTP/1.1 404"));
}
