// The atom feed reader on real OpenMRS/Bahmni pages (../shared/fixtures/openmrs/atomfeed/), on the
// reconstructed samples of atomfeed-protocol.md §1.5, split at every byte offset, and on hostile
// input: each refusal has its own name.
#include "agent/feed/atom_reader.hpp"
#include "agent/feed/entry_content.hpp"
#include "support/catch_net.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace edgesync;
using feed::errc;

namespace {


const std::string k_fixtures = EDGESYNC_SHARED_DIR "/fixtures/openmrs/atomfeed/";

// The ```xml blocks of the protocol reference, in order.
std::vector<std::string> reference_samples() {
    const std::string doc = test::read_file(EDGESYNC_SHARED_DIR "/reference/atomfeed-protocol.md");
    std::vector<std::string> out;
    for (std::size_t pos = 0; (pos = doc.find("```xml\n", pos)) != std::string::npos;) {
        pos += 7;
        const auto end = doc.find("```", pos);
        out.push_back(doc.substr(pos, end - pos));
        pos = end + 3;
    }
    return out;
}

// An oracle that does not share the reader's code: the entries' ids, terms and contents found by
// plain string search (std::regex is avoided: GCC 12 warns inside it at -O1).
struct expected_entry {
    std::string id, content;
    std::vector<std::string> terms;
};
std::string between(const std::string& s, const std::string& open, const std::string& close, std::size_t from = 0) {
    const auto a = s.find(open, from);
    if (a == std::string::npos) return {};
    const auto b = s.find(close, a + open.size());
    return b == std::string::npos ? std::string() : s.substr(a + open.size(), b - a - open.size());
}
std::vector<expected_entry> by_search(const std::string& xml) {
    std::vector<expected_entry> out;
    for (std::size_t pos = 0; (pos = xml.find("<entry>", pos)) != std::string::npos;) {
        const auto end = xml.find("</entry>", pos);
        const std::string body = xml.substr(pos, end - pos);
        expected_entry e;
        e.id = between(body, "<id>", "</id>");
        e.content = between(body, "<![CDATA[", "]]>");
        for (std::size_t t = 0; (t = body.find("term=\"", t)) != std::string::npos; t += 6)
            e.terms.push_back(between(body, "term=\"", "\"", t));
        out.push_back(e);
        pos = end;
    }
    return out;
}

void check_against_oracle(const feed::parsed_page& p, const std::string& xml) {
    const auto want = by_search(xml);
    REQUIRE(p.entries.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        CAPTURE(i);
        CHECK(p.entries[i].id == want[i].id);
        CHECK(p.entries[i].categories == want[i].terms);
        CHECK(p.entries[i].content == want[i].content);
        CHECK(p.entries[i].content_type == "application/vnd.atomfeed+xml");
        CHECK(p.entries[i].id.rfind("tag:atomfeed.ict4h.org:", 0) == 0);
        CHECK(feed::entry_event_uuid(p.entries[i]).size() == 36);
        CHECK(p.entries[i].updated == p.entries[i].published);
    }
}

bool same_entries(const std::vector<feed::feed_entry>& a, const std::vector<feed::feed_entry>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].id != b[i].id || a[i].categories != b[i].categories || a[i].content != b[i].content ||
            a[i].title != b[i].title || a[i].updated != b[i].updated)
            return false;
    return true;
}

}  // namespace

TEST_CASE("the reader reads a real Bahmni patient feed page", "[agent][feed]") {
    const std::string xml = test::read_file(k_fixtures + "patient-feed-page-32.extracted.xml");
    auto p = feed::parse_page(xml);
    REQUIRE_FALSE(p.error);
    CHECK(p.header.title == "Patient AOP");
    CHECK(p.header.id == "bec795b1-3d17-451d-b43e-a094019f6984+32");
    CHECK(p.header.self == "http://www.example.com/openmrs/ws/atomfeed/patient/recent");
    CHECK(p.header.via == "http://www.example.com/openmrs/ws/atomfeed/patient/32");
    CHECK(p.header.prev_archive == "http://www.example.com/openmrs/ws/atomfeed/patient/31");
    CHECK(p.header.next_archive.empty());
    CHECK(p.header.updated == "2018-04-26T10:56:10Z");
    check_against_oracle(p, xml);
    REQUIRE(p.entries.size() == 3);
    const auto& e = p.entries[0];
    CHECK(e.id == "tag:atomfeed.ict4h.org:6fdab6f5-2cd2-4207-b8bb-c2884d6179f6");
    CHECK(e.title == "Patient");
    CHECK(feed::entry_category(e) == "patient");
    CHECK(feed::entry_action(e).empty());  // Bahmni entries carry no action
    auto links = feed::parse_entry_content(e.content);
    REQUIRE(links);
    CHECK(links->single == "/openmrs/ws/rest/v1/patient/e8aa08f6-86cd-42f9-8924-1b3ea021aeb4?v=full");
    CHECK(links->link_for("fhir") == links->single);
}

TEST_CASE("the reader reads a real Bahmni encounter feed page", "[agent][feed]") {
    const std::string xml = test::read_file(k_fixtures + "bahmni-encounter-feed-page-335.extracted.xml");
    auto p = feed::parse_page(xml);
    REQUIRE_FALSE(p.error);
    CHECK(p.header.via == "https://13.232.58.186/openmrs/ws/atomfeed/encounter/335");
    CHECK(p.header.prev_archive == "https://13.232.58.186/openmrs/ws/atomfeed/encounter/334");
    check_against_oracle(p, xml);
    for (const auto& e : p.entries) {
        CHECK(feed::entry_category(e) == "Encounter");
        auto links = feed::parse_entry_content(e.content);
        REQUIRE(links);
        CHECK(links->single.rfind("/openmrs/ws/rest/v1/bahmnicore/bahmniencounter/", 0) == 0);
    }
}

TEST_CASE("the reader reads the reconstructed samples of the protocol reference", "[agent][feed]") {
    const auto samples = reference_samples();
    REQUIRE(samples.size() >= 3);
    SECTION("recent page with two entries") {
        auto p = feed::parse_page(samples[0]);
        REQUIRE_FALSE(p.error);
        CHECK(p.header.self == "http://192.168.33.10:8080/openmrs/ws/atomfeed/patient/recent");
        CHECK(p.header.via == "http://192.168.33.10:8080/openmrs/ws/atomfeed/patient/36");
        CHECK(p.header.prev_archive == "http://192.168.33.10:8080/openmrs/ws/atomfeed/patient/35");
        CHECK(p.entries.size() == 2);
        check_against_oracle(p, samples[0]);
    }
    SECTION("archived page with both archive links") {
        auto p = feed::parse_page(samples[1]);
        REQUIRE_FALSE(p.error);
        CHECK(p.header.next_archive == "http://192.168.33.10:8080/openmrs/ws/atomfeed/patient/36");
        CHECK(p.header.prev_archive == "http://192.168.33.10:8080/openmrs/ws/atomfeed/patient/34");
        CHECK(p.header.self == p.header.via);
        CHECK(p.entries.size() == 5);
        check_against_oracle(p, samples[1]);
    }
    SECTION("an openmrs-module-atomfeed entry: action category and JSON links") {
        const std::string doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\r\n" +
                                samples[2] + "</feed>\r\n\r\n";
        auto p = feed::parse_page(doc);
        REQUIRE_FALSE(p.error);
        REQUIRE(p.entries.size() == 1);
        const auto& e = p.entries[0];
        CHECK(feed::entry_action(e) == "CREATED");
        CHECK(feed::entry_category(e) == "patient");
        auto links = feed::parse_entry_content(e.content);
        REQUIRE(links);
        CHECK(links->named.at("rest") == "/ws/rest/v1/patient/8d5b6a1e-1c2f-4d3b-9a7e-5f6c7d8e9a0b?v=full");
        CHECK(links->link_for("fhir") == "/ws/fhir/Patient/8d5b6a1e-1c2f-4d3b-9a7e-5f6c7d8e9a0b");
        CHECK(links->link_for("other").empty());
    }
}

TEST_CASE("every feed fixture split at every byte offset yields the same entries", "[agent][feed]") {
    std::vector<std::string> docs = {test::read_file(k_fixtures + "patient-feed-page-32.extracted.xml"),
                                     test::read_file(k_fixtures + "bahmni-encounter-feed-page-335.extracted.xml")};
    for (const auto& s : reference_samples())
        if (s.rfind("<?xml", 0) == 0) docs.push_back(s);
    for (const auto& doc : docs) {
        const auto whole = feed::parse_page(doc);
        REQUIRE_FALSE(whole.error);
        for (std::size_t cut = 0; cut <= doc.size(); ++cut) {
            std::vector<feed::feed_entry> got;
            feed::atom_reader r({}, [&](feed::feed_entry&& e) { got.push_back(std::move(e)); });
            REQUIRE_FALSE(r.feed(std::string_view(doc).substr(0, cut)));
            REQUIRE_FALSE(r.feed(std::string_view(doc).substr(cut)));
            REQUIRE_FALSE(r.finish());
            CAPTURE(cut);
            REQUIRE(same_entries(got, whole.entries));
            REQUIRE(r.header().via == whole.header.via);
        }
        // And one byte at a time.
        std::vector<feed::feed_entry> got;
        feed::atom_reader r({}, [&](feed::feed_entry&& e) { got.push_back(std::move(e)); });
        for (char c : doc) REQUIRE_FALSE(r.feed(std::string_view(&c, 1)));
        REQUIRE_FALSE(r.finish());
        CHECK(same_entries(got, whole.entries));
    }
}

TEST_CASE("entries are delivered as they complete, before the page ends", "[agent][feed]") {
    const std::string xml = test::read_file(k_fixtures + "patient-feed-page-32.extracted.xml");
    std::size_t seen = 0;
    feed::atom_reader r({}, [&](feed::feed_entry&&) { ++seen; });
    const auto first_end = xml.find("</entry>") + 8;
    REQUIRE_FALSE(r.feed(std::string_view(xml).substr(0, first_end + 1)));
    CHECK(seen == 1);
}

TEST_CASE("an empty feed (page 0) has links and no entries", "[agent][feed]") {
    auto p = feed::parse_page(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Event feed</title>"
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"http://h/openmrs/ws/atomfeed/x/recent\" />"
        "<link rel=\"via\" type=\"application/atom+xml\" href=\"http://h/openmrs/ws/atomfeed/x/0\" /><id>p+0</id>"
        "<updated>2024-01-01T00:00:00Z</updated></feed>");
    REQUIRE_FALSE(p.error);
    CHECK(p.entries.empty());
    CHECK(p.header.via == "http://h/openmrs/ws/atomfeed/x/0");
}

TEST_CASE("escaped content, foreign elements and other namespaces are handled", "[agent][feed]") {
    auto p = feed::parse_page(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:x=\"urn:x\"><x:meta><x:deep>ignored</x:deep></x:meta>"
        "<entry><x:id>not this</x:id><id>tag:atomfeed.ict4h.org:11111111-2222-4333-8444-555555555555</id>"
        "<category term=\"UPDATED\"/><category term=\"patient\"/>"
        "<content type=\"application/vnd.atomfeed+xml\">{&quot;rest&quot;:&quot;/ws/rest/v1/patient/u?v=full&amp;x=1&quot;}</content>"
        "</entry></feed>");
    REQUIRE_FALSE(p.error);
    REQUIRE(p.entries.size() == 1);
    CHECK(p.entries[0].id == "tag:atomfeed.ict4h.org:11111111-2222-4333-8444-555555555555");
    CHECK(feed::entry_action(p.entries[0]) == "UPDATED");
    auto links = feed::parse_entry_content(p.entries[0].content);
    REQUIRE(links);
    CHECK(links->named.at("rest") == "/ws/rest/v1/patient/u?v=full&x=1");
}

TEST_CASE("hostile or broken pages are refused by name, never half-read", "[agent][feed]") {
    feed::reader_limits small;
    small.max_depth = 8;
    small.max_text_bytes = 1024;
    small.max_entries = 3;
    const std::string head = "<feed xmlns=\"http://www.w3.org/2005/Atom\">";
    auto expect = [&](const std::string& doc, errc want) {
        auto p = feed::parse_page(doc, small);
        CAPTURE(doc.substr(0, 120), p.detail);
        CHECK(p.error == want);
        CHECK_FALSE(p.detail.empty());
    };
    expect("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry></feed>", errc::malformed_xml);
    expect(head + "<entry><id>x</id>", errc::truncated);
    expect("", errc::truncated);
    expect("<rss version=\"2.0\"></rss>", errc::not_an_atom_feed);
    expect("<feed></feed>", errc::not_an_atom_feed);  // no Atom namespace
    expect("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>" + head +
               "<title>&lol2;</title></feed>",
           errc::dtd_not_allowed);
    expect("<!DOCTYPE feed SYSTEM \"file:///etc/passwd\">" + head + "</feed>", errc::dtd_not_allowed);
    expect(head + std::string(20, 'x') + "<a><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a></a></feed>", errc::too_deep);
    expect(head + "<link rel=\"via\" href=\"" + std::string(5000, 'h') + "\"/></feed>", errc::text_too_large);
    expect(head + "<entry><content>" + std::string(5000, 'c') + "</content></entry></feed>", errc::text_too_large);
    expect(head + "<entry/><entry/><entry/><entry/></feed>", errc::too_many_entries);
    expect(head + "<title>&undefined;</title></feed>", errc::malformed_xml);

    // A huge token fed in pieces (an attribute that never ends) is refused before it is buffered
    // whole.
    feed::atom_reader r(small, [](feed::feed_entry&&) {});
    REQUIRE_FALSE(r.feed(head + "<link href=\""));
    boost::system::error_code ec;
    for (int i = 0; i < 200 && !ec; ++i) ec = r.feed(std::string(4096, 'a'));
    CHECK(ec == errc::text_too_large);
    // Sticky: the reader stays failed.
    CHECK(r.feed("\"/></feed>") == errc::text_too_large);
    CHECK(r.finish() == errc::text_too_large);

    // Entries before the fault were delivered; none after it.
    std::size_t seen = 0;
    feed::atom_reader r2(small, [&](feed::feed_entry&&) { ++seen; });
    CHECK(r2.feed(head + "<entry><id>a</id></entry><entry><id>b</id></entry><entry><id>") == boost::system::error_code{});
    CHECK(r2.feed("x</entry>") == errc::malformed_xml);
    CHECK(seen == 2);
}

TEST_CASE("entry content: JSON link maps and single URLs, anything else refused", "[agent][feed]") {
    const std::string fixture = test::read_file(k_fixtures + "entry-content-rest-fhir-links.extracted.json");
    auto links = feed::parse_entry_content(std::string_view(fixture).substr(0, fixture.find_last_not_of("\r\n") + 1));
    REQUIRE(links);
    CHECK(links->named.at("rest") == "/ws/rest/v1/patient/ab6cba2e-8e03-41ec-a551-aab6e04b27f6?v=full");
    CHECK(links->named.at("fhir") == "/ws/fhir2/R4/Patient/ab6cba2e-8e03-41ec-a551-aab6e04b27f6");
    CHECK(feed::parse_entry_content("https://h/openmrs/ws/rest/v1/patient/x")->single == "https://h/openmrs/ws/rest/v1/patient/x");
    for (const char* bad : {"", "{}", "{\"rest\":1}", "[\"/x\"]", "{\"rest\":\"/x\"", "not a url", "relative/path", "{\"a\":{\"b\":\"c\"}}"})
        CHECK(feed::parse_entry_content(bad).error() == errc::bad_entry_content);
}
