#include "agent/sync/fingerprint.hpp"

#include "net/auth.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <vector>

namespace edgesync::sync {
namespace {

// `rest`: an OpenMRS REST representation (no resourceType at the top), whose `display` and
// `resourceVersion` are computed by the server at every depth (and refused on writes). In FHIR a
// `display` (of a Coding, a Reference) is content.
bool volatile_key(std::string_view key, bool in_meta, bool rest) {
    if (in_meta) return key == "versionId" || key == "lastUpdated";
    return key == "links" || key == "auditInfo" || (rest && (key == "display" || key == "resourceVersion"));
}

void write_canonical(std::string& out, const boost::json::value& v, bool in_meta, bool rest) {
    switch (v.kind()) {
        case boost::json::kind::object: {
            const auto& o = v.get_object();
            std::vector<std::pair<std::string_view, const boost::json::value*>> fields;
            for (const auto& kv : o)
                if (!volatile_key(kv.key(), in_meta, rest)) fields.emplace_back(kv.key(), &kv.value());
            std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            out += '{';
            bool first = true;
            for (const auto& [k, val] : fields) {
                if (k == "meta" && val->is_object() && val->get_object().size() <= 2) {
                    // A meta holding only server bookkeeping says nothing: leave it out entirely.
                    bool only_volatile = true;
                    for (const auto& m : val->get_object()) only_volatile &= volatile_key(m.key(), true, rest);
                    if (only_volatile) continue;
                }
                if (!first) out += ',';
                first = false;
                out += boost::json::serialize(boost::json::value(boost::json::string(k)));
                out += ':';
                write_canonical(out, *val, k == "meta", rest);
            }
            out += '}';
            return;
        }
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) out += ',';
                first = false;
                write_canonical(out, e, false, rest);
            }
            out += ']';
            return;
        }
        default: out += boost::json::serialize(v);
    }
}

}  // namespace

std::string canonical_json(const boost::json::value& v) {
    std::string out;
    const bool rest = v.is_object() && !v.get_object().contains("resourceType");
    write_canonical(out, v, false, rest);
    return out;
}

std::string fingerprint(const boost::json::value& v) { return net::sha256_hex(canonical_json(v)); }

}  // namespace edgesync::sync
