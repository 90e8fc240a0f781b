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

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    // Boost.JSON's serializer table: the short escapes, \u00xx (lower-case hex) for the other
    // control characters, every other byte as it is.
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the bytes not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        out += '\\';
        switch (c) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '\b': out += 'b'; break;
            case '\t': out += 't'; break;
            case '\n': out += 'n'; break;
            case '\f': out += 'f'; break;
            case '\r': out += 'r'; break;
            default:
                out += "u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

namespace {

void write_canonical(std::string& out, const boost::json::value& v, bool in_meta, bool rest) {
    switch (v.kind()) {
        case boost::json::kind::object: {
            const auto& o = v.get_object();
            std::vector<std::pair<std::string_view, const boost::json::value*>> fields;
            fields.reserve(o.size());
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
                append_json_string(out, k);
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
        case boost::json::kind::string: append_json_string(out, v.get_string()); return;
        case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
        case boost::json::kind::null: out += "null"; return;
        default: out += boost::json::serialize(v);  // numbers: exactly as Boost.JSON writes them
    }
}

}  // namespace

std::string canonical_json(const boost::json::value& v) {
    std::string out;
    out.reserve(2048);
    const bool rest = v.is_object() && !v.get_object().contains("resourceType");
    write_canonical(out, v, false, rest);
    return out;
}

std::string fingerprint(const boost::json::value& v) { return net::sha256_hex(canonical_json(v)); }

}  // namespace edgesync::sync
