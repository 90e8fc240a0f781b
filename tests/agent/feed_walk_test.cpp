// The walk over a feed's pages (sans-I/O): first run from the oldest page, resuming after a marker,
// rebasing hrefs onto the configured origin, and the cases where the ICT4H client stalls forever.
#include "agent/feed/walk.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace edgesync;
using feed::feed_walk;

namespace {

// A feed of `pages` numbered pages of 3 entries ("e<page>.<i>"), written with links to `host`.
struct fake_feed {
    std::string host = "http://parent.internal:8080";
    int pages = 3;
    std::string prefix = "feed-a";

    std::string url(int n) const { return host + "/openmrs/ws/atomfeed/patient/" + std::to_string(n); }
    std::pair<feed::page_header, std::vector<feed::feed_entry>> page(int n, bool recent = false) const {
        feed::page_header h;
        h.self = recent ? host + "/openmrs/ws/atomfeed/patient/recent" : url(n);
        h.via = url(n);
        if (n > 1) h.prev_archive = url(n - 1);
        if (n < pages) h.next_archive = url(n + 1);
        h.id = prefix + "+" + std::to_string(n);
        std::vector<feed::feed_entry> entries;
        for (int i = 1; i <= 3; ++i) {
            feed::feed_entry e;
            e.id = "tag:atomfeed.ict4h.org:e" + std::to_string(n) + "." + std::to_string(i);
            entries.push_back(e);
        }
        return {h, entries};
    }
};

constexpr const char* k_configured = "https://district.example.org/openmrs/ws/atomfeed/patient/recent";

// Drives a walk against the fake feed; returns the processed entry ids and the final step.
std::pair<std::vector<std::string>, feed_walk::step> drive(feed_walk& w, const fake_feed& f, std::vector<std::string>* fetched = nullptr,
                                                           const std::map<std::string, int>& missing = {}) {
    std::vector<std::string> ids;
    feed_walk::step s = w.start();
    for (int guard = 0; guard < 100; ++guard) {
        auto* fetch = std::get_if<feed_walk::fetch>(&s);
        if (!fetch) break;
        if (fetched) fetched->push_back(fetch->url);
        REQUIRE_THAT(fetch->url, Catch::Matchers::StartsWith("https://district.example.org/openmrs/ws/atomfeed/patient/"));
        const std::string tail = fetch->url.substr(fetch->url.rfind('/') + 1);
        if (missing.count(tail)) {
            s = w.on_missing();
            continue;
        }
        const bool recent = tail == "recent";
        const int n = recent ? f.pages : std::stoi(tail);
        auto [h, entries] = f.page(n, recent);
        auto out = w.on_page(h, entries);
        CHECK_THAT(out.via, Catch::Matchers::StartsWith("https://district.example.org/"));
        for (const auto& e : out.entries) ids.push_back(e.id);
        s = out.next;
    }
    return {ids, s};
}

}  // namespace

TEST_CASE("first run: back to the oldest page by prev-archive, then forward, every entry once", "[agent][feed]") {
    fake_feed f;
    feed_walk w({k_configured, std::nullopt});
    std::vector<std::string> fetched;
    auto [ids, last] = drive(w, f, &fetched);
    CHECK(std::holds_alternative<feed_walk::done>(last));
    CHECK(ids == std::vector<std::string>{"tag:atomfeed.ict4h.org:e1.1", "tag:atomfeed.ict4h.org:e1.2", "tag:atomfeed.ict4h.org:e1.3",
                                          "tag:atomfeed.ict4h.org:e2.1", "tag:atomfeed.ict4h.org:e2.2", "tag:atomfeed.ict4h.org:e2.3",
                                          "tag:atomfeed.ict4h.org:e3.1", "tag:atomfeed.ict4h.org:e3.2", "tag:atomfeed.ict4h.org:e3.3"});
    // recent, then page 1 directly (the pages are numbered), then 2, 3 forward — all rebased onto
    // the configured origin.
    CHECK(fetched == std::vector<std::string>{k_configured, "https://district.example.org/openmrs/ws/atomfeed/patient/1",
                                              "https://district.example.org/openmrs/ws/atomfeed/patient/2",
                                              "https://district.example.org/openmrs/ws/atomfeed/patient/3"});
}

TEST_CASE("first run: when page 1 is missing or not the oldest, the walk goes back by prev-archive instead", "[agent][feed]") {
    const std::string base = "https://district.example.org/openmrs/ws/atomfeed/patient/";
    auto recent_page = [&] {
        feed::page_header h;
        h.via = base + "5";
        h.prev_archive = base + "4";
        h.id = "feed-a+5";
        return h;
    };
    {
        feed_walk w({k_configured, std::nullopt});
        REQUIRE(std::get<feed_walk::fetch>(w.start()).url == k_configured);
        auto out = w.on_page(recent_page(), {});
        CHECK(out.entries.empty());  // recent's entries come last, on the way forward
        REQUIRE(std::get<feed_walk::fetch>(out.next).url == base + "1");
        auto back = w.on_missing();
        CHECK(std::get<feed_walk::fetch>(back).url == base + "4");
    }
    {
        feed_walk w({k_configured, std::nullopt});
        w.start();
        auto out = w.on_page(recent_page(), {});
        REQUIRE(std::get<feed_walk::fetch>(out.next).url == base + "1");
        feed::page_header not_oldest;
        not_oldest.via = base + "1";
        not_oldest.prev_archive = base + "0";
        feed::feed_entry e;
        e.id = "tag:atomfeed.ict4h.org:x";
        auto probe = w.on_page(not_oldest, {e});
        CHECK(probe.entries.empty());  // not processed: it is not known to be the start
        CHECK(std::get<feed_walk::fetch>(probe.next).url == base + "4");
    }
}

TEST_CASE("with a marker: the marked page, after the marked entry, then onward", "[agent][feed]") {
    fake_feed f;
    SECTION("mid-page") {
        feed_walk w({k_configured, feed::walk_marker{"tag:atomfeed.ict4h.org:e2.2", f.url(2), "feed-a"}});
        auto [ids, last] = drive(w, f);
        CHECK(std::holds_alternative<feed_walk::done>(last));
        CHECK(ids == std::vector<std::string>{"tag:atomfeed.ict4h.org:e2.3", "tag:atomfeed.ict4h.org:e3.1",
                                              "tag:atomfeed.ict4h.org:e3.2", "tag:atomfeed.ict4h.org:e3.3"});
    }
    SECTION("the last entry of the newest page: nothing new") {
        feed_walk w({k_configured, feed::walk_marker{"tag:atomfeed.ict4h.org:e3.3", f.url(3), ""}});
        auto [ids, last] = drive(w, f);
        CHECK(ids.empty());
        CHECK(std::holds_alternative<feed_walk::done>(last));
    }
    SECTION("a page with no entry id: the whole page") {
        feed_walk w({k_configured, feed::walk_marker{"", f.url(3), ""}});
        auto [ids, last] = drive(w, f);
        CHECK(ids.size() == 3);
    }
}

TEST_CASE("a lost marker is reported, never a silent stall", "[agent][feed]") {
    fake_feed f;
    SECTION("the marked entry is gone from its page (rows deleted, feed recreated)") {
        feed_walk w({k_configured, feed::walk_marker{"tag:atomfeed.ict4h.org:gone", f.url(2), "feed-a"}});
        auto [ids, last] = drive(w, f);
        CHECK(ids.empty());
        auto* lost = std::get_if<feed_walk::marker_lost>(&last);
        REQUIRE(lost);
        CHECK_THAT(lost->why, Catch::Matchers::Contains("tag:atomfeed.ict4h.org:gone"));
    }
    SECTION("the marked page no longer exists (parent restored from an older backup)") {
        feed_walk w({k_configured, feed::walk_marker{"tag:atomfeed.ict4h.org:e9.1", f.url(9), "feed-a"}});
        auto [ids, last] = drive(w, f, nullptr, {{"9", 1}});
        CHECK(std::holds_alternative<feed_walk::marker_lost>(last));
    }
    SECTION("the feed id prefix changed: another feed lives at this URL now") {
        fake_feed other = f;
        other.prefix = "feed-b";
        feed_walk w({k_configured, feed::walk_marker{"tag:atomfeed.ict4h.org:e2.2", f.url(2), "feed-a"}});
        auto [ids, last] = drive(w, other);
        auto* changed = std::get_if<feed_walk::prefix_changed>(&last);
        REQUIRE(changed);
        CHECK(changed->was == "feed-a");
        CHECK(changed->now == "feed-b");
        CHECK(ids.empty());
    }
}

TEST_CASE("broken archive links end the run by name", "[agent][feed]") {
    feed_walk w({k_configured, std::nullopt});
    REQUIRE(std::holds_alternative<feed_walk::fetch>(w.start()));
    feed::page_header h;
    h.via = "http://x/ws/atomfeed/p/2";
    h.prev_archive = "http://x/ws/atomfeed/p/2";  // points at itself
    auto first = w.on_page(h, {});
    REQUIRE(std::holds_alternative<feed_walk::fetch>(first.next));
    auto second = w.on_page(h, {});
    CHECK(std::holds_alternative<feed_walk::broken>(second.next));
}

TEST_CASE("hrefs naming another host or port are rebased onto the configured origin", "[agent][feed]") {
    feed_walk w({"http://127.0.0.1:8081/ws/atomfeed/patient/recent", std::nullopt});
    CHECK(w.rebase("https://openmrs:8443/openmrs/ws/atomfeed/patient/7?x=1") == "http://127.0.0.1:8081/openmrs/ws/atomfeed/patient/7?x=1");
    CHECK(w.rebase("http://127.0.0.1:8081/ws/atomfeed/patient/7") == "http://127.0.0.1:8081/ws/atomfeed/patient/7");
    CHECK(feed::feed_id_prefix("bec795b1-3d17-451d-b43e-a094019f6984+36") == "bec795b1-3d17-451d-b43e-a094019f6984");
}
