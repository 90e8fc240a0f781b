// libFuzzer target: api::bundle_reader (the streamed FHIR Bundle reader behind batch/transaction
// requests and searchset answers) fed the input in pieces of a size the input chooses, checked
// against Boost.JSON's json::parse of the whole document with the same depth limit.
//
// Contract:
//  - never crash, hang, leak or trip a sanitizer;
//  - every failure is a boost::json syntax error, a bundle_errc, or the entry handler's own error
//    (which stops the read and is what write() returns);
//  - limits hold: at most max_entries entries; each entry within max_entry_bytes (keys and
//    strings, 8 per scalar) and within max_depth counting the Bundle's own two levels;
//  - the reader agrees with json::parse: a syntax error from the reader is one json::parse finds
//    too; on success the document parses, every entry delivered is an element of Bundle.entry in
//    order (the last elements delivered are exactly that array), and resourceType, type, total and
//    the next link are the document's; not_a_bundle only when resourceType is not "Bundle";
//  - the index given to the handler counts entries from 0.
//
// Input: byte 0 = flags (bit 0: small limits; bit 1: the handler refuses entry number byte 2),
// byte 1 = piece size (0 = the whole body at once), byte 2 = that entry number, then the body.
#include "contract.hpp"

#include "agent/api/bundle_reader.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace edgesync;
namespace json = boost::json;
using boost::system::error_code;

class refusal_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "fuzz.entry_handler"; }
    std::string message(int) const override { return "entry refused"; }
};
const error_code k_refused(1, [] () -> const refusal_category& {
    static const refusal_category c;
    return c;
}());

// The reader's measure of an entry: key and string bytes, 8 per other scalar.
std::uint64_t weight(const json::value& v) {
    switch (v.kind()) {
        case json::kind::object: {
            std::uint64_t n = 0;
            for (const auto& kv : v.get_object()) n += kv.key().size() + weight(kv.value());
            return n;
        }
        case json::kind::array: {
            std::uint64_t n = 0;
            for (const auto& e : v.get_array()) n += weight(e);
            return n;
        }
        case json::kind::string: return v.get_string().size();
        default: return 8;
    }
}

std::size_t depth(const json::value& v) {
    std::size_t d = 0;
    if (v.is_object())
        for (const auto& kv : v.get_object()) d = std::max(d, depth(kv.value()));
    else if (v.is_array())
        for (const auto& e : v.get_array()) d = std::max(d, depth(e));
    else
        return 0;
    return d + 1;
}

const json::string* string_at(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v ? v->if_string() : nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const bool small = (data[0] & 1) != 0, refuse = (data[0] & 2) != 0;
    const std::size_t piece = data[1] == 0 ? size : data[1];
    const std::size_t refuse_at = data[2];
    const std::string_view body(reinterpret_cast<const char*>(data) + 3, size - 3);

    api::bundle_limits limits;
    if (small) {
        limits.max_depth = 8;
        limits.max_entries = 8;
        limits.max_entry_bytes = 512;
    } else {
        limits.max_entries = 4096;
    }

    std::vector<json::value> entries;
    api::bundle_reader reader(
        [&](json::value entry, std::size_t index) -> error_code {
            if (index != entries.size()) fuzz::broken("entry index out of step", std::to_string(index));
            if (!entry.is_object()) fuzz::broken("an entry that is not an object");
            if (weight(entry) > limits.max_entry_bytes) fuzz::broken("an entry over max_entry_bytes", std::to_string(weight(entry)));
            if (depth(entry) + 2 > limits.max_depth) fuzz::broken("an entry deeper than max_depth", std::to_string(depth(entry)));
            entries.push_back(std::move(entry));
            if (refuse && index == refuse_at) return k_refused;
            return {};
        },
        limits);

    error_code ec;
    for (std::size_t pos = 0; pos < body.size() && !ec; pos += piece) ec = reader.write(body.substr(pos, piece));
    const bool failed_in_write = static_cast<bool>(ec);
    if (!ec) ec = reader.finish();

    if (entries.size() > limits.max_entries) fuzz::broken("more entries than max_entries");
    if (reader.entries() != entries.size()) fuzz::broken("entries() disagrees with the entries delivered");
    const bool is_json_error = ec.category() == json::make_error_code(json::error::syntax).category();
    if (ec && !is_json_error && ec.category() != api::bundle_category() && ec != k_refused)
        fuzz::broken("a failure outside the named errors", std::string(ec.category().name()) + ": " + ec.message());
    if (ec == k_refused && !(refuse && entries.size() == refuse_at + 1)) fuzz::broken("a refusal nobody made");
    if (refuse && entries.size() > refuse_at + 1) fuzz::broken("entries delivered after the handler refused");

    // The whole document, as json::parse sees it.
    json::parse_options opts;
    opts.max_depth = limits.max_depth;
    error_code pec;
    const json::value doc = json::parse(json::string_view(body.data(), body.size()), pec, {}, opts);
    if (is_json_error) {
        if (!pec) fuzz::broken("the reader reports a syntax error json::parse does not", ec.message());
        return 0;
    }
    if (ec == api::bundle_errc::not_a_bundle) {
        if (pec) fuzz::broken("finish() got past a document json::parse refuses", pec.message());
        const auto* rt = doc.is_object() ? string_at(doc.get_object(), "resourceType") : nullptr;
        if (rt && *rt == "Bundle") fuzz::broken("not_a_bundle for a Bundle");
        return 0;
    }
    if (ec) return 0;
    (void)failed_in_write;
    if (pec) fuzz::broken("the reader accepts what json::parse refuses", pec.message());
    if (!doc.is_object()) fuzz::broken("the reader accepts a document that is not an object");
    const auto& o = doc.get_object();
    const auto* rt = string_at(o, "resourceType");
    if (reader.resource_type() != "Bundle") fuzz::broken("finish() accepted a resourceType other than Bundle");
    if (rt && rt->size() < 4096 && *rt != "Bundle") fuzz::broken("resourceType differs from the document's", std::string(*rt));
    if (const auto* t = string_at(o, "type"); t && t->size() < 4096 && reader.type() != std::string_view(*t))
        fuzz::broken("type differs from the document's", reader.type());
    if (!o.contains("type") && !reader.type().empty()) fuzz::broken("a type the document does not have");
    if (const auto* tv = o.if_contains("total"); tv && tv->is_int64() && reader.total() != tv->get_int64())
        fuzz::broken("total differs from the document's");
    if (!o.contains("total") && reader.total()) fuzz::broken("a total the document does not have");
    if (const auto* lv = o.if_contains("link"); lv && lv->is_array()) {
        std::string next;
        for (const auto& l : lv->get_array()) {
            const auto* lo = l.if_object();
            const auto* rel = lo ? string_at(*lo, "relation") : nullptr;
            const auto* u = lo ? string_at(*lo, "url") : nullptr;
            if (rel && *rel == "next" && u) next = std::string(*u);
        }
        if (!next.empty() && reader.next_link() != next) fuzz::broken("the next link differs from the document's", reader.next_link());
    } else if (!o.contains("link") && !reader.next_link().empty()) {
        fuzz::broken("a next link the document does not have");
    }
    if (const auto* ev = o.if_contains("entry")) {
        if (!ev->is_array()) fuzz::broken("the reader accepts an entry that is not an array");
        const auto& arr = ev->get_array();
        if (entries.size() < arr.size()) fuzz::broken("fewer entries delivered than Bundle.entry holds");
        for (std::size_t i = 0; i < arr.size(); ++i)
            if (entries[entries.size() - arr.size() + i] != arr[i]) fuzz::broken("an entry differs from the document's", std::to_string(i));
    } else if (!entries.empty()) {
        fuzz::broken("entries delivered from a document without Bundle.entry");
    }
    return 0;
}
