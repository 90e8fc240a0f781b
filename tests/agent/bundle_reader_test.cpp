// The incremental Bundle reader: entries arrive one by one as their text does, equal to what a
// whole-document parse gives, top-level fields are found in any key order, and every malformed or
// oversized Bundle is refused with its own error.
#include "agent/api/bundle_reader.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace edgesync;
namespace json = boost::json;
using boost::system::error_code;

namespace {

std::string fixture(const std::string& rel) { return test::read_file(std::string(EDGESYNC_SHARED_DIR) + "/fixtures/openmrs/" + rel); }

struct collected {
    std::vector<json::value> entries;
    api::bundle_reader reader;
    explicit collected(api::bundle_limits l = {})
        : reader([this](json::value v, std::size_t i) -> error_code {
              CHECK(i == entries.size());
              entries.push_back(std::move(v));
              return {};
          }, l) {}
    // Feeds `doc` in pieces of `step` bytes, then finishes.
    error_code feed(const std::string& doc, std::size_t step) {
        for (std::size_t at = 0; at < doc.size(); at += step)
            if (auto ec = reader.write(std::string_view(doc).substr(at, step))) return ec;
        return reader.finish();
    }
};

std::string entry_of(int i) {
    return R"({"fullUrl":"urn:uuid:)" + std::to_string(i) + R"(","resource":{"resourceType":"Patient","id":"p)" + std::to_string(i) +
           R"(","name":[{"family":"N\u00e9\"e","given":["A","B"]}],"active":true,"deceasedBoolean":false,"multipleBirthInteger":2,"x":1.5,"y":null,"z":18446744073709551615},"request":{"method":"PUT","url":"Patient/p)" +
           std::to_string(i) + R"("}})";
}

}  // namespace

TEST_CASE("Bundle reader: entries equal a whole parse, in order, at any piece size, keys in any order") {
    std::string doc = R"({"entry":[)";
    for (int i = 0; i < 20; ++i) doc += (i ? "," : "") + entry_of(i);
    doc += R"(],"meta":{"tag":[{"code":"x"}]},"link":[{"relation":"self","url":"a"},{"relation":"next","url":"http://h/R4?_getpages=1"}],"total":20,"type":"batch","resourceType":"Bundle"})";
    const json::value whole = json::parse(doc);
    for (std::size_t step : {std::size_t(1), std::size_t(7), std::size_t(4096), doc.size()}) {
        collected c;
        REQUIRE_FALSE(c.feed(doc, step));
        REQUIRE(c.entries.size() == 20);
        for (std::size_t i = 0; i < 20; ++i) CHECK(c.entries[i] == whole.at("entry").at(i));
        CHECK(c.reader.resource_type() == "Bundle");
        CHECK(c.reader.type() == "batch");
        CHECK(c.reader.total() == 20);
        CHECK(c.reader.next_link() == "http://h/R4?_getpages=1");
    }
}

TEST_CASE("Bundle reader: each entry is delivered when its closing brace arrives, before the rest of the body") {
    const std::string doc = R"({"resourceType":"Bundle","type":"batch","entry":[)" + entry_of(1) + "," + entry_of(2) + "]}";
    collected c;
    const std::string first = R"({"resourceType":"Bundle","type":"batch","entry":[)" + entry_of(1);
    REQUIRE_FALSE(c.reader.write(first.substr(0, first.size() - 1)));
    CHECK(c.entries.empty());
    REQUIRE_FALSE(c.reader.write(first.substr(first.size() - 1)));
    CHECK(c.entries.size() == 1);
    REQUIRE_FALSE(c.reader.write(doc.substr(first.size())));
    REQUIRE_FALSE(c.reader.finish());
    CHECK(c.entries.size() == 2);
}

TEST_CASE("Bundle reader: the recorded OpenMRS searchsets give the same entries, total and next link as a DOM parse") {
    for (const char* name : {"fdp-patient-searchset-bundle.json", "fdp-observation-searchset-bundle.json", "ozone-medication-request-bundle.json",
                             "ozone-service-request-bundle.json", "ozone-observation-weight-bundle.json", "ozone-empty-searchset-bundle.json",
                             "fdp-transaction-response-bundle.json"}) {
        INFO(name);
        const std::string doc = fixture(std::string("fhir-r4/server-captures/") + name);
        const json::value whole = json::parse(doc);
        collected c;
        REQUIRE_FALSE(c.feed(doc, 333));
        const auto* entries = whole.as_object().if_contains("entry");
        REQUIRE(c.entries.size() == (entries ? entries->as_array().size() : 0));
        for (std::size_t i = 0; i < c.entries.size(); ++i) CHECK(c.entries[i] == entries->as_array()[i]);
        CHECK(c.reader.type() == whole.at("type").as_string());
        if (const auto* t = whole.as_object().if_contains("total")) CHECK(c.reader.total() == t->to_number<std::int64_t>());
        else CHECK_FALSE(c.reader.total());
        std::string next;
        if (const auto* links = whole.as_object().if_contains("link"))
            for (const auto& l : links->as_array())
                if (l.at("relation") == "next") next = std::string(l.at("url").as_string());
        CHECK(c.reader.next_link() == next);
    }
}

TEST_CASE("Bundle reader: malformed, misshapen and oversized Bundles each get their own error") {
    auto error_for = [](const std::string& doc, api::bundle_limits l = {}) {
        collected c(l);
        return c.feed(doc, 5);
    };
    CHECK(error_for(R"({"resourceType":"Bundle","entry":{}})") == api::bundle_errc::bad_entry_array);
    CHECK(error_for(R"({"resourceType":"Bundle","entry":"x"})") == api::bundle_errc::bad_entry_array);
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{},3]})") == api::bundle_errc::bad_entry_array);
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[[]]})") == api::bundle_errc::bad_entry_array);
    CHECK(error_for(R"([1,2])") == api::bundle_errc::not_an_object);
    CHECK(error_for(R"("Bundle")") == api::bundle_errc::not_an_object);
    CHECK(error_for(R"({"resourceType":"Patient","entry":[]})") == api::bundle_errc::not_a_bundle);
    CHECK(error_for(R"({"type":"batch"})") == api::bundle_errc::not_a_bundle);
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{}, )") == boost::json::error::incomplete);
    CHECK(error_for(R"({"resourceType":"Bundle",,})") == boost::json::error::syntax);
    api::bundle_limits few;
    few.max_entries = 2;
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{},{}]})", few) == error_code());
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{},{},{}]})", few) == api::bundle_errc::too_many_entries);
    api::bundle_limits small;
    small.max_entry_bytes = 100;
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{"a":")" + std::string(90, 'x') + R"("}]})", small) == error_code());
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{"a":")" + std::string(101, 'x') + R"("}]})", small) == api::bundle_errc::entry_too_large);
    api::bundle_limits shallow;
    shallow.max_depth = 5;
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{"a":{"b":[1]}}]})", shallow) == error_code());
    CHECK(error_for(R"({"resourceType":"Bundle","entry":[{"a":{"b":[[1]]}}]})", shallow) == boost::json::error::too_deep);
}

TEST_CASE("Bundle reader: an error from the entry handler stops the read and is returned") {
    int seen = 0;
    api::bundle_reader r([&](json::value, std::size_t i) -> error_code {
        ++seen;
        return i == 1 ? make_error_code(boost::system::errc::operation_canceled) : error_code();
    });
    const auto ec = r.write(R"({"resourceType":"Bundle","entry":[{},{},{}]})");
    CHECK(ec == boost::system::errc::operation_canceled);
    CHECK(seen == 2);
}
