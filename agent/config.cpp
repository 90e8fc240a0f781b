#include "agent/config.hpp"

#include "agent/net_setup.hpp"
#include "agent/sync/clients.hpp"
#include "net/tls.hpp"
#include "net/url.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace edgesync::config {
namespace json = boost::json;

std::string_view to_string(role r) noexcept {
    switch (r) {
        case role::admin: return "admin";
        case role::sync_peer: return "sync-peer";
        case role::local_app: return "local-app";
    }
    return "?";
}

std::string_view to_string(conflict_policy p) noexcept {
    switch (p) {
        case conflict_policy::manual: return "manual";
        case conflict_policy::parent_wins: return "parent-wins";
        case conflict_policy::child_wins: return "child-wins";
        case conflict_policy::newest_wins: return "newest-wins";
    }
    return "?";
}

std::vector<std::string> known_clients() { return sync::client_registry::standard().names(); }

const std::vector<category_def>& builtin_categories() {
    // sync2's default configuration (categories, REST link templates) with the FHIR R4 resource
    // types the OpenMRS FHIR2 module serves them as. Sub-resources carry {parent-uuid}.
    static const std::vector<category_def> k_builtin{
        {"location", "Location", "location", "fhir"},
        {"privilege", "", "privilege", "rest"},
        {"form", "", "form", "rest"},
        {"concept", "", "concept", "rest"},
        {"visittype", "", "visittype", "rest"},
        {"user", "", "user", "rest"},
        {"program", "", "program", "rest"},
        {"programenrollment", "", "programenrollment", "rest"},
        {"cohort", "Group", "cohort", "fhir"},
        {"provider", "Practitioner", "provider", "fhir"},
        {"person", "Person", "person", "fhir"},
        {"patient", "Patient", "patient", "fhir"},
        {"person_name", "", "person/{parent-uuid}/name", "rest"},
        {"person_address", "", "person/{parent-uuid}/address", "rest"},
        {"person_attribute", "", "person/{parent-uuid}/attribute", "rest"},
        {"patient_identifier", "", "patient/{parent-uuid}/identifier", "rest"},
        {"relationship", "RelatedPerson", "relationship", "rest"},
        {"allergy", "AllergyIntolerance", "allergy", "fhir"},
        {"condition", "Condition", "condition", "fhir"},
        {"drug", "Medication", "drug", "fhir"},
        {"visit", "Encounter", "visit", "fhir"},
        {"encounter", "Encounter", "encounter", "fhir"},
        {"observation", "Observation", "obs", "fhir"},
        {"order", "", "order", "rest"},
        {"drug_order", "MedicationRequest", "order", "fhir"},
        {"test_order", "ServiceRequest", "order", "fhir"},
    };
    return k_builtin;
}

namespace {

// The categories sync2 enables by default, in an order that keeps dependencies ahead of their
// dependants (locations before visits, patients before their encounters and observations).
const std::vector<std::string>& default_sync_categories() {
    static const std::vector<std::string> k_default{
        "location", "privilege", "form", "cohort", "person", "patient", "person_name", "person_address",
        "person_attribute", "patient_identifier", "allergy", "visit", "encounter", "observation",
        "drug_order", "test_order"};
    return k_default;
}

// ---- small text helpers ---------------------------------------------------------------------

// Optimal string alignment distance (Levenshtein plus adjacent transposition).
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

// " (did you mean \"x\"?)" when a candidate is close enough to be a typo, else "".
template <class Range>
std::string did_you_mean(std::string_view word, const Range& candidates) {
    std::string best;
    std::size_t best_d = std::numeric_limits<std::size_t>::max();
    for (const auto& c : candidates) {
        std::string_view cv(c);
        std::size_t d = edit_distance(word, cv);
        if (d < best_d) {
            best_d = d;
            best = std::string(cv);
        }
    }
    std::size_t allowed = std::max<std::size_t>(1, std::min(word.size(), best.size()) / 3);
    if (best.empty() || best_d > allowed) return "";
    return " (did you mean \"" + best + "\"?)";
}

template <class Range>
std::string one_of(const Range& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ", ";
        out += '"';
        out += n;
        out += '"';
    }
    return out;
}

bool is_identifier_key(std::string_view k) {
    if (k.empty()) return false;
    return std::all_of(k.begin(), k.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

std::string child_path(const std::string& parent, std::string_view key) {
    if (is_identifier_key(key)) return parent + "." + std::string(key);
    return parent + "[" + json::serialize(json::string(key)) + "]";
}

constexpr std::uint64_t k_max_secret_file_bytes = 64 * 1024;
constexpr std::uint64_t k_max_config_file_bytes = 4 * 1024 * 1024;

std::string index_path(const std::string& parent, std::size_t i) { return parent + "[" + std::to_string(i) + "]"; }

// A file's permission bits as chmod takes them ("0644"), and what "other" users may do with it.
std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}
std::string others_may(mode_t mode) {
    const bool r = (mode & S_IROTH) != 0, w = (mode & S_IWOTH) != 0;
    return r && w ? "read and change" : r ? "read" : "change";
}

// How a value is shown back in a message: the type, and the value itself when short.
std::string describe(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null: return "null";
        case json::kind::bool_: return v.get_bool() ? "true" : "false";
        case json::kind::object: return "an object";
        case json::kind::array: return "an array";
        case json::kind::string: {
            const auto& s = v.get_string();
            if (s.size() > 40) return "a string of " + std::to_string(s.size()) + " characters";
            return json::serialize(v);
        }
        default: return "the number " + json::serialize(v);
    }
}

bool matches_charset(std::string_view s, std::string_view extra) {
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
    });
}

bool is_base64(std::string_view s) {
    if (s.empty() || s.size() % 4 != 0) return false;
    std::size_t pad = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '=') {
            if (i + 2 < s.size()) return false;
            ++pad;
            continue;
        }
        if (pad) return false;
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
    }
    return true;
}

std::size_t base64_decoded_size(std::string_view s) {
    std::size_t pad = static_cast<std::size_t>(std::count(s.begin(), s.end(), '='));
    return s.size() / 4 * 3 - pad;
}

bool is_lower_hex(std::string_view s, std::size_t len) {
    return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string absolute_path(std::string_view base_dir, const std::string& p) {
    if (p.empty() || p.front() == '/') return p;
    std::string base(base_dir.empty() ? "." : base_dir);
    if (base.back() != '/') base += '/';
    return base + p;
}

// ---- the reader -----------------------------------------------------------------------------

struct context {
    std::vector<problem>& problems;
    std::vector<std::string>& visited;
    std::string_view base_dir;

    void error(std::string path, std::string msg) {
        problems.push_back({problem::severity::error, std::move(path), std::move(msg)});
    }
    void warning(std::string path, std::string msg) {
        problems.push_back({problem::severity::warning, std::move(path), std::move(msg)});
    }
};

// Reads one JSON object field by field. Every accessor marks its key as known; finish() reports
// the keys nobody asked for. A wrong or out-of-range value is reported and the default is kept,
// so reading continues and every problem in the file is found in one pass.
class object_reader {
public:
    object_reader(context& cx, const json::object& obj, std::string path)
        : cx_(cx), obj_(obj), path_(std::move(path)) {}

    object_reader(const object_reader&) = delete;
    object_reader& operator=(const object_reader&) = delete;

    const std::string& path() const noexcept { return path_; }
    context& cx() noexcept { return cx_; }
    std::string path_of(std::string_view key) const { return child_path(path_, key); }

    // The value at key, or nullptr when absent. Marks the key as known and visited.
    const json::value* find(std::string_view key) {
        known_.emplace_back(key);
        cx_.visited.push_back(path_of(key));
        auto it = obj_.find(key);
        return it == obj_.end() ? nullptr : &it->value();
    }

    bool has(std::string_view key) const { return obj_.contains(key); }

    void string(std::string_view key, std::string& out) {
        if (const auto* v = find(key)) read_string(*v, path_of(key), out);
    }

    void boolean(std::string_view key, bool& out) {
        const auto* v = find(key);
        if (!v) return;
        if (!v->is_bool()) return type_error(key, "true or false", *v);
        out = v->get_bool();
    }

    template <class Int>
    void integer(std::string_view key, Int& out, std::uint64_t min, std::uint64_t max) {
        const auto* v = find(key);
        if (!v) return;
        std::uint64_t n = 0;
        if (v->is_uint64()) {
            n = v->get_uint64();
        } else if (v->is_int64() && v->get_int64() >= 0) {
            n = static_cast<std::uint64_t>(v->get_int64());
        } else if (v->is_int64() || (v->is_double() && v->get_double() < 0)) {
            return range_error(key, min, max, describe(*v));
        } else {
            return type_error(key, "a whole number", *v);
        }
        if (n < min || n > max) return range_error(key, min, max, std::to_string(n));
        out = static_cast<Int>(n);
    }

    void number(std::string_view key, double& out, double min, double max) {
        const auto* v = find(key);
        if (!v) return;
        if (!v->is_number()) return type_error(key, "a number", *v);
        double d = v->to_number<double>();
        if (d < min || d > max) {
            std::ostringstream msg;
            msg << "must be between " << min << " and " << max << ", got " << json::serialize(*v);
            return cx_.error(path_of(key), msg.str());
        }
        out = d;
    }

    void duration_field(std::string_view key, duration& out, duration min, duration max) {
        const auto* v = find(key);
        if (!v) return;
        if (!v->is_string())
            return type_error(key, "a duration string like \"30s\", \"5m\" or \"1h30m\"", *v);
        auto d = parse_duration(v->get_string());
        if (!d) {
            return cx_.error(path_of(key), "expected a duration like \"250ms\", \"30s\", \"5m\", \"1h30m\" or \"7d\", got " +
                                               describe(*v));
        }
        if (*d < min || *d > max) {
            return cx_.error(path_of(key), "must be between " + format_duration(min) + " and " + format_duration(max) +
                                               ", got " + describe(*v));
        }
        out = *d;
    }

    void size_field(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
        const auto* v = find(key);
        if (!v) return;
        std::optional<std::uint64_t> n;
        if (v->is_uint64()) n = v->get_uint64();
        else if (v->is_int64() && v->get_int64() >= 0) n = static_cast<std::uint64_t>(v->get_int64());
        else if (v->is_string()) n = parse_size(v->get_string());
        else if (!v->is_int64()) return type_error(key, "a size like 65536, \"64KiB\" or \"8MiB\"", *v);
        if (!n) return cx_.error(path_of(key), "expected a size like 65536, \"64KiB\" or \"8MiB\", got " + describe(*v));
        if (*n < min || *n > max) {
            return cx_.error(path_of(key), "must be between " + format_size(min) + " and " + format_size(max) +
                                               ", got " + describe(*v));
        }
        out = *n;
    }

    template <class E>
    void choice(std::string_view key, E& out, std::initializer_list<std::pair<std::string_view, E>> options) {
        const auto* v = find(key);
        if (!v) return;
        std::vector<std::string_view> names;
        for (const auto& o : options) names.push_back(o.first);
        if (!v->is_string()) return type_error(key, "one of " + one_of(names), *v);
        for (const auto& o : options) {
            if (v->get_string() == o.first) {
                out = o.second;
                return;
            }
        }
        cx_.error(path_of(key), "expected one of " + one_of(names) + ", got " + describe(*v) +
                                    did_you_mean(v->get_string(), names));
    }

    void string_list(std::string_view key, std::vector<std::string>& out) {
        const auto* v = find(key);
        if (!v) return;
        if (!v->is_array()) return type_error(key, "an array of strings", *v);
        std::vector<std::string> items;
        bool ok = true;
        const auto& arr = v->get_array();
        for (std::size_t i = 0; i < arr.size(); ++i) {
            std::string s;
            if (!read_string(arr[i], index_path(path_of(key), i), s)) ok = false;
            items.push_back(std::move(s));
        }
        if (ok) out = std::move(items);
    }

    void object(std::string_view key, const std::function<void(object_reader&)>& body) {
        const auto* v = find(key);
        if (!v) {
            // Absent: still walk it with an empty object, so nested defaults are visited and
            // cross-field checks inside see a consistent (default) section.
            static const json::object k_empty;
            object_reader r(cx_, k_empty, path_of(key));
            body(r);
            return;
        }
        if (!v->is_object()) return type_error(key, "an object", *v);
        object_reader r(cx_, v->get_object(), path_of(key));
        body(r);
        r.finish();
    }

    void object_array(std::string_view key, const std::function<void(object_reader&, std::size_t)>& body) {
        const auto* v = find(key);
        if (!v) return;
        if (!v->is_array()) return type_error(key, "an array of objects", *v);
        const auto& arr = v->get_array();
        for (std::size_t i = 0; i < arr.size(); ++i) {
            std::string p = index_path(path_of(key), i);
            if (!arr[i].is_object()) {
                cx_.error(p, "expected an object, got " + describe(arr[i]));
                continue;
            }
            object_reader r(cx_, arr[i].get_object(), p);
            body(r, i);
            r.finish();
        }
    }

    // Each member of the object at key, with its own path. Members are not "known keys".
    void members(std::string_view key, const std::function<void(std::string_view, const json::value&, const std::string&)>& body) {
        const auto* v = find(key);
        if (!v) return;
        if (!v->is_object()) return type_error(key, "an object", *v);
        const std::string base = path_of(key);
        for (const auto& m : v->get_object()) body(m.key(), m.value(), child_path(base, m.key()));
    }

    // A path to a file; made absolute relative to the config's folder. Existence is checked by
    // the caller when the feature that uses it is on.
    void file_path(std::string_view key, std::string& out) {
        string(key, out);
        out = absolute_path(cx_.base_dir, out);
    }

    // A credential given inline as `key` or read from the file named by `key`_file (one of the
    // two). A file readable by others is a warning; so is an inline secret in a config file
    // readable by others (the caller checks that, it knows the file's mode).
    void secret_field(std::string_view key, secret& out, std::vector<std::string>* inline_secret_paths) {
        std::string inline_value, file;
        std::string file_key = std::string(key) + "_file";
        string(key, inline_value);
        const bool has_inline = has(key);
        string(file_key, file);
        if (has_inline && !file.empty()) {
            return cx_.error(path_of(file_key), "give either \"" + std::string(key) + "\" or \"" + file_key + "\", not both");
        }
        if (has_inline) {
            if (!inline_value.empty() && inline_secret_paths) inline_secret_paths->push_back(path_of(key));
            out = secret(std::move(inline_value));
            return;
        }
        if (file.empty()) return;
        file = absolute_path(cx_.base_dir, file);
        // A secret file holds one token or password: a regular file of a few bytes. Anything else
        // (/dev/zero, a FIFO, a log named by mistake) is refused before it is read, so a wrong
        // path can never read without end.
        // One stat serves these checks and the permission check below.
        struct stat st {};
        const bool stated = ::stat(file.c_str(), &st) == 0;
        if (stated && !S_ISREG(st.st_mode)) return cx_.error(path_of(file_key), "\"" + file + "\" is not a regular file");
        if (stated && static_cast<std::uint64_t>(st.st_size) > k_max_secret_file_bytes)
            return cx_.error(path_of(file_key), "\"" + file + "\" is " + std::to_string(st.st_size) + " bytes; a secret file holds one secret of at most " +
                                                    std::to_string(k_max_secret_file_bytes) + " bytes");
        std::ifstream in(file, std::ios::binary);
        if (!in) return cx_.error(path_of(file_key), "cannot read \"" + file + "\": " + std::strerror(errno));
        std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
        if (content.empty()) return cx_.error(path_of(file_key), "\"" + file + "\" is empty");
        if (stated && (st.st_mode & (S_IROTH | S_IWOTH))) {
            return cx_.error(path_of(file_key), "\"" + file + "\" holds a secret and other users may " + others_may(st.st_mode) +
                                                    " it (mode " + mode_text(st.st_mode) + "); run: chmod 600 " + file +
                                                    " (or chown root:edgesync " + file + " && chmod 640 " + file + ")");
        }
        out = secret(std::move(content));
    }

    void finish() {
        for (const auto& m : obj_) {
            if (std::find(known_.begin(), known_.end(), std::string_view(m.key())) != known_.end()) continue;
            cx_.error(path_of(m.key()), "unknown key" + did_you_mean(m.key(), known_));
        }
    }

private:
    bool read_string(const json::value& v, const std::string& path, std::string& out) {
        if (!v.is_string()) {
            cx_.error(path, "expected a string, got " + describe(v));
            return false;
        }
        out = std::string(v.get_string());
        return true;
    }

    void type_error(std::string_view key, const std::string& expected, const json::value& got) {
        cx_.error(path_of(key), "expected " + expected + ", got " + describe(got));
    }

    void range_error(std::string_view key, std::uint64_t min, std::uint64_t max, const std::string& got) {
        cx_.error(path_of(key), "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + got);
    }

    context& cx_;
    const json::object& obj_;
    std::string path_;
    std::vector<std::string> known_;
};

// ---- syntax pass: positions of syntax errors, and duplicate keys ----------------------------
//
// boost::json::parse keeps only the last of duplicate keys, silently. A config with a key given
// twice is almost always a mistake (two "pull" sections merged by hand), so a first pass with a
// SAX handler tracks the keys of every open object and reports duplicates with their path.
struct syntax_handler {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    struct frame {
        bool is_object = false;
        std::string path;
        std::set<std::string> keys;
        std::size_t next_index = 0;
    };
    std::vector<frame> stack;
    std::string pending_key;
    std::vector<std::string> duplicate_paths;

    // Path of the value that starts now, and bookkeeping for the container it sits in. Called
    // exactly once per value, at its first callback.
    std::string value_path() {
        if (stack.empty()) return "$";
        frame& f = stack.back();
        if (!f.is_object) return index_path(f.path, f.next_index++);
        std::string p = child_path(f.path, pending_key);
        pending_key.clear();
        return p;
    }
    bool in_string = false;  // between the first part of a string value and its end

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
        std::string p = value_path();
        stack.push_back({true, std::move(p), {}, 0});
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        stack.pop_back();
        return true;
    }
    bool on_array_begin(boost::system::error_code&) {
        std::string p = value_path();
        stack.push_back({false, std::move(p), {}, 0});
        return true;
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        stack.pop_back();
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        pending_key.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
        pending_key.append(s.data(), s.size());
        frame& f = stack.back();
        if (!f.keys.insert(pending_key).second) duplicate_paths.push_back(child_path(f.path, pending_key));
        return true;
    }
    bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) {
        if (!in_string) value_path();
        in_string = true;
        return true;
    }
    bool on_string(json::string_view, std::size_t, boost::system::error_code&) {
        if (!in_string) value_path();
        in_string = false;
        return true;
    }
    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return scalar(); }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return scalar(); }
    bool on_double(double, json::string_view, boost::system::error_code&) { return scalar(); }
    bool on_bool(bool, boost::system::error_code&) { return scalar(); }
    bool on_null(boost::system::error_code&) { return scalar(); }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

    bool scalar() {
        value_path();
        return true;
    }
};

json::parse_options config_parse_options() {
    json::parse_options opt;
    opt.allow_comments = true;
    opt.allow_trailing_commas = true;
    opt.max_depth = 32;
    return opt;
}

// line:column (1-based) of a byte offset.
std::string position_of(std::string_view text, std::size_t offset) {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// ---- sections -------------------------------------------------------------------------------

std::vector<role> read_roles(object_reader& r) {
    std::vector<std::string> names;
    r.string_list("roles", names);
    std::vector<role> roles;
    static constexpr std::array<std::string_view, 3> k_roles{"admin", "sync-peer", "local-app"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto& n = names[i];
        if (n == "admin") roles.push_back(role::admin);
        else if (n == "sync-peer") roles.push_back(role::sync_peer);
        else if (n == "local-app") roles.push_back(role::local_app);
        else
            r.cx().error(index_path(r.path_of("roles"), i),
                         "unknown role \"" + n + "\", expected one of " + one_of(k_roles) + did_you_mean(n, k_roles));
    }
    return roles;
}

void read_server(object_reader& r, server_params& s) {
    std::string listen = s.listen_host + ":" + std::to_string(s.listen_port);
    r.string("listen", listen);
    if (r.has("listen")) {
        // ADDRESS:PORT with a numeric address ("0.0.0.0:8090", "[::]:8090"): a listener never
        // resolves names.
        std::string host, port;
        if (!listen.empty() && listen.front() == '[') {
            auto close = listen.find("]:");
            if (close != std::string::npos) {
                host = listen.substr(1, close - 1);
                port = listen.substr(close + 2);
            }
        } else if (auto colon = listen.rfind(':'); colon != std::string::npos) {
            host = listen.substr(0, colon);
            port = listen.substr(colon + 1);
        }
        in_addr a4{};
        in6_addr a6{};
        bool host_ok = inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
        unsigned long p = 0;
        bool port_ok = !port.empty() && port.size() <= 5 &&
                       std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (port_ok) p = std::stoul(port);
        if (!host_ok || !port_ok || p == 0 || p > 65535) {
            r.cx().error(r.path_of("listen"),
                         "expected ADDRESS:PORT with a numeric address and a port 1-65535, e.g. \"0.0.0.0:8090\" or "
                         "\"[::]:8090\", got \"" + listen + "\"");
        } else {
            s.listen_host = host;
            s.listen_port = static_cast<std::uint16_t>(p);
        }
    }
    r.string("public_url", s.public_url);
    if (!s.public_url.empty()) {
        std::string why;
        if (!net::parse_url(s.public_url, &why)) r.cx().error(r.path_of("public_url"), why);
    }
    r.object("tls", [&](object_reader& t) {
        t.boolean("enabled", s.tls.enabled);
        t.file_path("cert_file", s.tls.cert_file);
        t.file_path("key_file", s.tls.key_file);
        t.file_path("client_ca_file", s.tls.client_ca_file);
        t.choice("min_version", s.tls.min_version, {{"1.2", std::string("1.2")}, {"1.3", std::string("1.3")}});
        if (s.tls.enabled) {
            if (s.tls.cert_file.empty()) t.cx().error(t.path_of("cert_file"), "required when TLS is enabled");
            if (s.tls.key_file.empty()) t.cx().error(t.path_of("key_file"), "required when TLS is enabled");
        }
    });
    r.integer("max_connections", s.max_connections, 1, 10'000);
    r.integer("gzip_level", s.gzip_level, 1, 9);
    r.object("timeouts", [&](object_reader& t) {
        using namespace std::chrono_literals;
        t.duration_field("header", s.header_timeout, 1s, 10min);
        t.duration_field("body", s.body_timeout, 1s, 1h);
        t.duration_field("handler", s.handler_timeout, 1s, 1h);
        t.duration_field("write", s.write_timeout, 1s, 1h);
        t.duration_field("idle", s.idle_timeout, 1s, 1h);
        t.duration_field("shutdown_grace", s.shutdown_grace, 0s, 10min);
    });
    std::map<std::string, std::size_t> first_seen;
    r.object_array("users", [&](object_reader& u, std::size_t i) {
        user usr;
        u.string("name", usr.name);
        if (!u.has("name")) {
            u.cx().error(u.path_of("name"), "required");
        } else if (usr.name.empty() || usr.name.size() > 64 || !matches_charset(usr.name, "._@-")) {
            u.cx().error(u.path_of("name"), "expected 1-64 characters from A-Z a-z 0-9 . _ @ -, got \"" + usr.name + "\"");
        } else if (auto [it, fresh] = first_seen.emplace(usr.name, i); !fresh) {
            u.cx().error(u.path_of("name"), "duplicate user \"" + usr.name + "\" (first defined at " +
                                                index_path(r.path_of("users"), it->second) + ")");
        }
        u.string("password_hash", usr.password_hash);
        if (!usr.password_hash.empty()) {
            // pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>
            std::vector<std::string> parts;
            std::stringstream ss(usr.password_hash);
            for (std::string part; std::getline(ss, part, '$');) parts.push_back(part);
            bool ok = parts.size() == 4 && parts[0] == "pbkdf2-sha256" && !parts[1].empty() && parts[1].size() <= 8 &&
                      std::all_of(parts[1].begin(), parts[1].end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                      std::stoul(parts[1]) >= 10'000 && is_base64(parts[2]) && base64_decoded_size(parts[2]) >= 8 &&
                      is_base64(parts[3]) && base64_decoded_size(parts[3]) == 32;
            if (!ok) {
                u.cx().error(u.path_of("password_hash"),
                             "expected \"pbkdf2-sha256$<iterations >= 10000>$<salt, base64>$<32-byte hash, base64>\"");
            }
        }
        u.string("token_sha256", usr.token_sha256);
        if (!usr.token_sha256.empty() && !is_lower_hex(usr.token_sha256, 64))
            u.cx().error(u.path_of("token_sha256"), "expected 64 lower-case hex digits (the SHA-256 of the token)");
        if (usr.password_hash.empty() && usr.token_sha256.empty() && u.has("name"))
            u.cx().error(u.path(), "user \"" + usr.name + "\" has no credential: set password_hash or token_sha256");
        usr.roles = read_roles(u);
        if (usr.roles.empty() && !u.has("roles")) u.cx().error(u.path_of("roles"), "required: at least one of \"admin\", \"sync-peer\", \"local-app\"");
        u.string_list("categories", usr.categories);
        s.users.push_back(std::move(usr));
    });
}

void read_parent(object_reader& r, parent_params& p, std::vector<std::string>& inline_secrets) {
    r.string("url", p.url);
    if (!p.url.empty()) {
        std::string why;
        auto u = net::parse_url(p.url, &why);
        if (!u) {
            r.cx().error(r.path_of("url"), "parent URL must be an http:// or https:// URL: " + why + ", got \"" + p.url + "\"");
        } else if (!u->is_tls() && !net::is_loopback_host(u->host)) {
            r.cx().warning(r.path_of("url"), "plain http to a remote parent: credentials and patient data cross the link unencrypted");
        }
    } else if (r.has("url")) {
        r.cx().error(r.path_of("url"), "must not be empty; remove the key for a node without a parent");
    }
    r.string("username", p.username);
    r.secret_field("password", p.password, &inline_secrets);
    r.secret_field("token", p.token, &inline_secrets);
    if (!p.token.empty() && (!p.username.empty() || !p.password.empty()))
        r.cx().error(r.path_of("token"), "give either a token or username/password, not both");
    if (!p.username.empty() && p.password.empty())
        r.cx().error(r.path_of("password"), "required when username is set (or use password_file)");
    if (!p.url.empty() && p.username.empty() && p.token.empty())
        r.cx().warning(r.path_of("username"), "no credentials for the parent: it will refuse every request unless it allows anonymous access");
    r.object("tls", [&](object_reader& t) {
        t.file_path("ca_file", p.tls.ca_file);
        t.file_path("ca_dir", p.tls.ca_dir);
        t.string_list("pins", p.tls.pins);
        for (std::size_t i = 0; i < p.tls.pins.size(); ++i) {
            const auto& pin = p.tls.pins[i];
            bool ok = (pin.rfind("sha256/", 0) == 0 && is_base64(pin.substr(7)) && base64_decoded_size(pin.substr(7)) == 32) ||
                      is_lower_hex(pin, 64);
            if (!ok)
                t.cx().error(index_path(t.path_of("pins"), i),
                             "expected \"sha256/<base64 of 32 bytes>\" or 64 lower-case hex digits");
        }
        t.file_path("client_cert_file", p.tls.client_cert_file);
        t.file_path("client_key_file", p.tls.client_key_file);
        if (p.tls.client_cert_file.empty() != p.tls.client_key_file.empty())
            t.cx().error(t.path_of(p.tls.client_cert_file.empty() ? "client_cert_file" : "client_key_file"),
                         "client_cert_file and client_key_file go together");
        t.string("server_name", p.tls.server_name);
        t.boolean("insecure", p.tls.insecure);
        if (p.tls.insecure) t.cx().warning(t.path_of("insecure"), "TLS verification of the parent is OFF: anyone on the path can impersonate it");
    });
    r.string("proxy", p.proxy);
    if (!p.proxy.empty()) {
        std::string why;
        auto u = net::parse_url(p.proxy, &why);
        if (!u) r.cx().error(r.path_of("proxy"), "expected http://host:port: " + why);
        else if (u->is_tls()) r.cx().error(r.path_of("proxy"), "expected an http:// proxy (CONNECT tunnel); https proxies are not supported");
    }
    r.object("timeouts", [&](object_reader& t) {
        using namespace std::chrono_literals;
        t.duration_field("resolve", p.resolve_timeout, 100ms, 10min);
        t.duration_field("connect", p.connect_timeout, 100ms, 10min);
        t.duration_field("tls_handshake", p.tls_timeout, 100ms, 10min);
        t.duration_field("write", p.write_timeout, 100ms, 1h);
        t.duration_field("first_byte", p.first_byte_timeout, 100ms, 1h);
        t.duration_field("body_idle", p.body_idle_timeout, 100ms, 1h);
    });
    r.integer("max_connections", p.max_connections, 1, 64);
    r.integer("max_redirects", p.max_redirects, 0, 10);
}

void read_direction(object_reader& r, direction_params& d) {
    using namespace std::chrono_literals;
    r.boolean("enabled", d.enabled);
    r.duration_field("interval", d.interval, 1s, 24h * 30);
    r.number("jitter", d.jitter, 0.0, 0.5);
    d.categories = default_sync_categories();
    r.string_list("categories", d.categories);
    r.members("clients", [&](std::string_view category, const json::value& v, const std::string& path) {
        if (!v.is_string()) return r.cx().error(path, "expected a client name, got " + describe(v));
        d.clients[std::string(category)] = std::string(v.get_string());
    });
    r.integer("concurrency", d.concurrency, 1, 64);
    r.integer("batch_size", d.batch_size, 1, 1000);
    r.duration_field("backoff_initial", d.backoff_initial, 100ms, 24h);
    r.duration_field("backoff_max", d.backoff_max, 1s, 7 * 24h);
    if (d.backoff_max < d.backoff_initial)
        r.cx().error(r.path_of("backoff_max"), "must not be shorter than backoff_initial (" + format_duration(d.backoff_initial) + ")");
}

void read_categories(object_reader& r, std::map<std::string, category_def>& cats) {
    for (const auto& c : builtin_categories()) cats[c.name] = c;
    r.members("categories", [&](std::string_view name, const json::value& v, const std::string& path) {
        if (name.empty() || name.size() > 64 || !matches_charset(name, "_")) {
            return r.cx().error(path, "category names use a-z, 0-9 and _ (1-64 characters)");
        }
        if (!v.is_object()) return r.cx().error(path, "expected an object, got " + describe(v));
        category_def def = cats.count(std::string(name)) ? cats[std::string(name)] : category_def{std::string(name), "", "", ""};
        object_reader c(r.cx(), v.get_object(), path);
        c.string("fhir_type", def.fhir_type);
        c.string("rest_resource", def.rest_resource);
        c.string("client", def.client);
        c.finish();
        if (def.rest_resource.empty() && def.fhir_type.empty())
            r.cx().error(path, "a category needs a fhir_type, a rest_resource or both");
        if (def.client.empty()) def.client = def.fhir_type.empty() ? "rest" : "fhir";
        cats[std::string(name)] = def;
    });
}

// Categories and clients named in pull/push (and users) must exist; a FHIR client needs a FHIR
// type. Done after every section is read, because "categories" may define new ones.
void check_direction_refs(context& cx, const std::string& path, const direction_params& d,
                          const std::map<std::string, category_def>& cats) {
    std::vector<std::string> names;
    for (const auto& [n, def] : cats) names.push_back(n);
    const auto clients = known_clients();
    std::set<std::string> seen;
    for (std::size_t i = 0; i < d.categories.size(); ++i) {
        const auto& c = d.categories[i];
        const std::string p = index_path(path + ".categories", i);
        if (!cats.count(c)) cx.error(p, "unknown category \"" + c + "\"" + did_you_mean(c, names));
        else if (!seen.insert(c).second) cx.error(p, "category \"" + c + "\" is listed twice");
    }
    for (const auto& [category, client] : d.clients) {
        const std::string p = child_path(path + ".clients", category);
        auto it = cats.find(category);
        if (it == cats.end()) {
            cx.error(p, "unknown category \"" + category + "\"" + did_you_mean(category, names));
            continue;
        }
        if (std::find(clients.begin(), clients.end(), client) == clients.end()) {
            cx.error(p, "unknown client \"" + client + "\", expected one of " + one_of(clients) + did_you_mean(client, clients));
        } else if (client == "fhir" && it->second.fhir_type.empty()) {
            cx.error(p, "category \"" + category + "\" has no FHIR type; use \"rest\" or set categories." + category + ".fhir_type");
        } else if (client == "rest" && it->second.rest_resource.empty()) {
            cx.error(p, "category \"" + category + "\" has no REST resource; use \"fhir\" or set categories." + category + ".rest_resource");
        }
    }
}

void read_root(object_reader& r, node_config& c, std::vector<std::string>& inline_secrets) {
    r.string("instance_id", c.instance_id);
    if (r.has("instance_id") && (c.instance_id.empty() || c.instance_id.size() > 64 || !matches_charset(c.instance_id, "._-")))
        r.cx().error(r.path_of("instance_id"), "expected 1-64 characters from A-Z a-z 0-9 . _ -, got \"" + c.instance_id + "\"");
    r.file_path("data_dir", c.data_dir);
    if (r.has("data_dir") && c.data_dir.empty()) r.cx().error(r.path_of("data_dir"), "must not be empty");
    r.object("log", [&](object_reader& l) {
        l.choice("level", c.log_level,
                 {{"trace", log::level::trace}, {"debug", log::level::debug}, {"info", log::level::info},
                  {"warn", log::level::warn}, {"error", log::level::error}});
    });
    r.object("server", [&](object_reader& s) { read_server(s, c.server); });
    r.object("parent", [&](object_reader& p) { read_parent(p, c.parent, inline_secrets); });
    r.object("local", [&](object_reader& l) {
        l.choice("backend", c.local.backend, {{"embedded", backend_kind::embedded}, {"openmrs", backend_kind::openmrs}});
        l.object("openmrs", [&](object_reader& o) {
            o.string("url", c.local.openmrs_url);
            o.string("username", c.local.openmrs_username);
            o.secret_field("password", c.local.openmrs_password, &inline_secrets);
            if (!c.local.openmrs_url.empty()) {
                std::string why;
                auto u = net::parse_url(c.local.openmrs_url, &why);
                if (!u) o.cx().error(o.path_of("url"), "expected an http(s) URL: " + why);
            }
        });
        if (c.local.backend == backend_kind::openmrs && c.local.openmrs_url.empty())
            l.cx().error(l.path_of("openmrs") + ".url", "required when backend is \"openmrs\"");
    });
    read_categories(r, c.categories);
    r.object("pull", [&](object_reader& d) { read_direction(d, c.pull); });
    r.object("push", [&](object_reader& d) { read_direction(d, c.push); });
    r.object("retry", [&](object_reader& t) {
        using namespace std::chrono_literals;
        t.integer("queue_cap", c.retry.queue_cap, 1, 10'000'000);
        t.integer("max_attempts", c.retry.max_attempts, 1, 1000);
        t.duration_field("backoff_initial", c.retry.backoff_initial, 1s, 24h);
        t.duration_field("backoff_max", c.retry.backoff_max, 1s, 30 * 24h);
        t.boolean("continue_on_failure", c.retry.continue_on_failure);
        if (c.retry.backoff_max < c.retry.backoff_initial)
            t.cx().error(t.path_of("backoff_max"), "must not be shorter than backoff_initial (" + format_duration(c.retry.backoff_initial) + ")");
    });
    r.object("conflicts", [&](object_reader& t) {
        t.choice("policy", c.conflicts,
                 {{"manual", conflict_policy::manual}, {"parent-wins", conflict_policy::parent_wins},
                  {"child-wins", conflict_policy::child_wins}, {"newest-wins", conflict_policy::newest_wins}});
    });
    r.object("audit", [&](object_reader& t) {
        using namespace std::chrono_literals;
        t.boolean("success", c.audit.success);
        t.boolean("failure", c.audit.failure);
        t.duration_field("retention", c.audit.retention, 1h, 3650 * 24h);
        t.boolean("payloads", c.audit.payloads);
        if (c.audit.payloads) t.cx().warning(t.path_of("payloads"), "audit rows will hold patient data");
    });
    r.object("feeds", [&](object_reader& t) {
        t.integer("page_size", c.feeds.page_size, 1, 1000);
        t.choice("on_marker_lost", c.feeds.on_marker_lost,
                 {{"restart", marker_lost_policy::restart}, {"pause", marker_lost_policy::pause}});
    });
    r.object("store", [&](object_reader& t) {
        using namespace std::chrono_literals;
        constexpr std::uint64_t MiB = 1024 * 1024;
        t.size_field("cache_size", c.store.cache_bytes, 1 * MiB, 1024 * MiB);
        t.choice("synchronous", c.store.synchronous, {{"full", sync_mode::full}, {"normal", sync_mode::normal}});
        t.choice("integrity_check", c.store.integrity_check,
                 {{"quick", integrity_mode::quick}, {"full", integrity_mode::full}, {"off", integrity_mode::off}});
        t.integer("max_batch", c.store.max_batch, 1, 10'000);
        t.duration_field("tombstone_retention", c.store.tombstone_retention, 24h, 3650 * 24h);
        t.duration_field("retry_log_retention", c.store.retry_log_retention, 1h, 3650 * 24h);
        t.integer("audit_max_rows", c.store.audit_max_rows, 1000, 1'000'000'000);
        if (c.store.synchronous == sync_mode::normal)
            t.cx().warning(t.path_of("synchronous"), "\"normal\": a power cut may lose the last acknowledged writes");
    });
    r.object("limits", [&](object_reader& t) {
        constexpr std::uint64_t KiB = 1024, MiB = 1024 * 1024, GiB = MiB * 1024;
        t.size_field("max_header_bytes", c.limits.max_header_bytes, 1 * KiB, 1 * MiB);
        t.size_field("max_request_body", c.limits.max_request_body, 1 * KiB, 1 * GiB);
        t.size_field("max_response_body", c.limits.max_response_body, 1 * KiB, 4 * GiB);
        t.size_field("max_resource_bytes", c.limits.max_resource_bytes, 1 * KiB, 256 * MiB);
        t.integer("max_json_depth", c.limits.max_json_depth, 4, 1000);
        t.integer("max_xml_depth", c.limits.max_xml_depth, 4, 256);
        t.size_field("max_xml_text_bytes", c.limits.max_xml_text_bytes, 1 * KiB, 64 * MiB);
        t.integer("max_feed_entries", c.limits.max_feed_entries, 1, 100'000);
    });

    // Cross-section checks.
    if (c.has_parent() && c.instance_id.empty())
        r.cx().error(r.path_of("instance_id"), "required when parent.url is set (the parent tells its children apart by it)");
    check_direction_refs(r.cx(), r.path_of("pull"), c.pull, c.categories);
    check_direction_refs(r.cx(), r.path_of("push"), c.push, c.categories);
    std::vector<std::string> names;
    for (const auto& [n, def] : c.categories) names.push_back(n);
    for (std::size_t i = 0; i < c.server.users.size(); ++i) {
        const auto& u = c.server.users[i];
        // A category limit is checked by the FHIR and REST routes only. On a user that is not just
        // a local app it would look like a limit and not be one: the feeds (sync-peer) and the
        // admin API (admin) answer whatever the categories say.
        const bool other_role = std::any_of(u.roles.begin(), u.roles.end(), [](role x) { return x != role::local_app; });
        if (!u.categories.empty() && (other_role || u.roles.empty()))
            r.cx().error(index_path("$.server.users", i) + ".categories",
                         "categories limit a user whose only role is \"local-app\"; \"" + u.name +
                             "\" has another role, whose routes (the feeds, the admin API) do not check them: give the app a user of its own");
        for (std::size_t j = 0; j < u.categories.size(); ++j) {
            if (!c.categories.count(u.categories[j])) {
                r.cx().error(index_path(index_path("$.server.users", i) + ".categories", j),
                             "unknown category \"" + u.categories[j] + "\"" + did_you_mean(u.categories[j], names));
            }
        }
    }
    if (c.local.backend == backend_kind::openmrs && c.local.openmrs_username.empty())
        r.cx().error("$.local.openmrs.username", "required when backend is \"openmrs\"");
    bool server_files_ok = true, parent_files_ok = true;
    if (c.server.tls.enabled) {
        for (auto [key, file] : {std::pair{"cert_file", &c.server.tls.cert_file}, std::pair{"key_file", &c.server.tls.key_file},
                                 std::pair{"client_ca_file", &c.server.tls.client_ca_file}}) {
            if (!file->empty() && ::access(file->c_str(), R_OK) != 0) {
                r.cx().error(std::string("$.server.tls.") + key, "cannot read \"" + *file + "\": " + std::strerror(errno));
                server_files_ok = false;
            }
        }
    }
    for (auto [key, file] : {std::pair{"ca_file", &c.parent.tls.ca_file}, std::pair{"ca_dir", &c.parent.tls.ca_dir},
                             std::pair{"client_cert_file", &c.parent.tls.client_cert_file},
                             std::pair{"client_key_file", &c.parent.tls.client_key_file}}) {
        if (!file->empty() && ::access(file->c_str(), R_OK) != 0) {
            r.cx().error(std::string("$.parent.tls.") + key, "cannot read \"" + *file + "\": " + std::strerror(errno));
            parent_files_ok = false;
        }
    }
    // The TLS material itself (a certificate that does not parse, a key of another certificate,
    // no CA bundle), so that check-config catches what would stop the node at start-up.
    if (c.server.tls.enabled && server_files_ok && !c.server.tls.cert_file.empty() && !c.server.tls.key_file.empty()) {
        std::string why;
        if (!agent::make_server_tls(c.server, why)) r.cx().error("$.server.tls", why);
    }
    std::string raw_pin;
    const bool pins_ok = std::all_of(c.parent.tls.pins.begin(), c.parent.tls.pins.end(),
                                     [&](const std::string& p) { return net::parse_pin(p, raw_pin); });  // else reported above
    if (c.has_parent() && parent_files_ok && pins_ok) {
        auto u = net::parse_url(c.parent.url);
        std::string why;
        if (u && u->is_tls() && !net::make_client_tls(agent::parent_tls_params(c.parent.tls), &why)) r.cx().error("$.parent.tls", why);
    }
}

}  // namespace

load_result parse_config(std::string_view text, std::string_view base_dir) {
    load_result out;
    context cx{out.problems, out.visited_paths, base_dir};

    // Pass 1: syntax (with a position) and duplicate keys.
    {
        json::basic_parser<syntax_handler> p(config_parse_options());
        boost::system::error_code ec;
        std::size_t n = p.write_some(false, text.data(), text.size(), ec);
        if (ec) {
            cx.error("$", "invalid JSON at " + position_of(text, n) + ": " + ec.message());
            return out;
        }
        for (auto& dup : p.handler().duplicate_paths) cx.error(dup, "duplicate key (each key may appear once per object)");
    }
    // Pass 2: the value tree, then the schema.
    boost::system::error_code ec;
    json::value root = json::parse(json::string_view(text.data(), text.size()), ec, {}, config_parse_options());
    if (ec) {
        cx.error("$", "invalid JSON: " + ec.message());
        return out;
    }
    if (!root.is_object()) {
        cx.error("$", "expected an object at the top level, got " + describe(root));
        return out;
    }
    node_config c;
    std::vector<std::string> inline_secrets;
    object_reader r(cx, root.get_object(), "$");
    read_root(r, c, inline_secrets);
    r.finish();
    out.inline_secret_paths = std::move(inline_secrets);
    bool has_error = std::any_of(out.problems.begin(), out.problems.end(),
                                 [](const problem& p) { return p.level == problem::severity::error; });
    if (!has_error) out.config = std::move(c);
    return out;
}

load_result load_config_file(const std::string& path) {
    load_result out;
    // The config is a regular file of a few KB; anything else is refused before it is read.
    // One stat serves these checks and the permission check after parsing.
    struct stat st {};
    const bool stated = ::stat(path.c_str(), &st) == 0;
    if (stated && !S_ISREG(st.st_mode)) {
        out.problems.push_back({problem::severity::error, "$", "not a regular file"});
        return out;
    }
    if (stated && static_cast<std::uint64_t>(st.st_size) > k_max_config_file_bytes) {
        out.problems.push_back({problem::severity::error, "$", "the file is " + std::to_string(st.st_size) + " bytes; a config is at most " +
                                                                   std::to_string(k_max_config_file_bytes) + " bytes"});
        return out;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        out.problems.push_back({problem::severity::error, "$", std::string("cannot read the file: ") + std::strerror(errno)});
        return out;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    out = parse_config(text, dir);
    // As ssh does with its keys: a file others may change (anyone on the machine could make
    // themselves an admin, or point the parent URL at a host of theirs and collect the node's
    // credentials), or one others may read while it holds a secret, is refused, naming the mode
    // and the fix. The package installs it root:edgesync 0640.
    if (stated) {
        const std::string fix = "run: chmod 600 " + path + " (or chown root:edgesync " + path + " && chmod 640 " + path + ")";
        std::vector<problem> refusals;
        if (st.st_mode & S_IWOTH) {
            refusals.push_back({problem::severity::error, "$",
                                "other users may change this file (mode " + mode_text(st.st_mode) + "), and with it who may call this node and "
                                "where its credentials go; " + fix});
        } else if (st.st_mode & S_IROTH) {
            for (const auto& p : out.inline_secret_paths)
                refusals.push_back({problem::severity::error, p,
                                    "a secret is written in a file other users may read (mode " + mode_text(st.st_mode) + "); " + fix +
                                        ", or move the secret to a *_file of mode 0600"});
        }
        if (!refusals.empty()) {
            out.problems.insert(out.problems.begin(), refusals.begin(), refusals.end());
            out.config.reset();
        }
    }
    return out;
}

std::string format_problem(std::string_view source, const problem& p) {
    std::string out(source);
    out += ": ";
    if (p.level == problem::severity::warning) out += "warning: ";
    out += p.path;
    out += ": ";
    out += p.message;
    return out;
}

}  // namespace edgesync::config
