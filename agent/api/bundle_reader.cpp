#include "agent/api/bundle_reader.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value_stack.hpp>

namespace edgesync::api {

namespace json = boost::json;
using boost::system::error_code;

namespace {

class bundle_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "edgesync.bundle"; }
    std::string message(int ev) const override {
        switch (static_cast<bundle_errc>(ev)) {
        case bundle_errc::not_an_object: return "the Bundle is not a JSON object";
        case bundle_errc::bad_entry_array: return "Bundle.entry must be an array of objects";
        case bundle_errc::too_many_entries: return "the Bundle has more entries than allowed";
        case bundle_errc::entry_too_large: return "a Bundle entry exceeds the size limit";
        case bundle_errc::not_a_bundle: return "resourceType is not Bundle";
        }
        return "unknown bundle error";
    }
};

// Where a value at the Bundle's top level goes.
enum class capture : std::uint8_t { none, entry, link };

// The SAX handler. `depth` is the number of containers open before the event. While capturing,
// every event is forwarded to `vs` until the container that started the capture closes; outside a
// capture only the top-level scalars we keep are looked at and everything else is skipped.
struct handler {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    bundle_reader::entry_handler on_entry;
    bundle_limits limits;

    std::size_t depth = 0;
    std::string key;          // the current key at depth 1 (assembled from parts)
    bool key_done = false;
    bool in_entry_array = false;  // the container open at depth 2 is Bundle.entry
    std::string scalar;       // a top-level string being assembled (bounded)

    json::value_stack vs;
    capture capturing = capture::none;
    std::size_t capture_depth = 0;  // depth inside the captured container
    std::uint64_t capture_bytes = 0;

    std::string resource_type, type, next_link;
    std::optional<std::int64_t> total;
    std::size_t entries = 0;

    bool fail(error_code& ec, bundle_errc e) {
        ec = e;
        return false;
    }
    bool count(error_code& ec, std::size_t bytes) {
        capture_bytes += bytes;
        if (capturing == capture::entry && capture_bytes > limits.max_entry_bytes) return fail(ec, bundle_errc::entry_too_large);
        // A link array is metadata: the same bound keeps it from growing without limit.
        if (capturing == capture::link && capture_bytes > limits.max_entry_bytes) return fail(ec, bundle_errc::entry_too_large);
        return true;
    }
    void start(capture c) {
        // Each captured value lives in an arena of its own (freed whole when the last value that
        // uses it goes, so a caller may keep the entry): one allocation per few KB instead of one
        // per key and string.
        vs.reset(json::make_shared_resource<json::monotonic_resource>(4096));
        capturing = c;
        capture_depth = depth + 1;
        capture_bytes = 0;
    }
    // A captured container has closed: deliver it.
    bool finish_capture(error_code& ec) {
        json::value v = vs.release();
        const capture c = capturing;
        capturing = capture::none;
        if (c == capture::entry) {
            if (auto e = on_entry(std::move(v), entries++)) {
                ec = e;
                return false;
            }
        } else if (c == capture::link && v.is_array()) {
            for (const auto& l : v.as_array()) {
                const auto* o = l.if_object();
                const auto* rel = o ? o->if_contains("relation") : nullptr;
                const auto* url = o ? o->if_contains("url") : nullptr;
                if (rel && rel->is_string() && rel->as_string() == "next" && url && url->is_string()) next_link = std::string(url->as_string());
            }
        }
        return true;
    }
    // A value (container or scalar) begins at `depth`; decides whether it is captured or refused.
    bool value_begins(error_code& ec, bool is_object, bool is_array) {
        if (capturing != capture::none) return true;
        if (depth == 0 && !is_object) return fail(ec, bundle_errc::not_an_object);
        if (depth == 1 && key == "entry") {
            if (!is_array) return fail(ec, bundle_errc::bad_entry_array);
            in_entry_array = true;
        } else if (depth == 1 && key == "link" && is_array) {
            start(capture::link);
        } else if (depth == 2 && in_entry_array) {
            if (!is_object) return fail(ec, bundle_errc::bad_entry_array);
            if (entries >= limits.max_entries) return fail(ec, bundle_errc::too_many_entries);
            start(capture::entry);
        }
        return true;
    }
    bool scalar_at_top() const { return capturing == capture::none && depth == 1; }
    bool scalar_ok(error_code& ec) {
        if (capturing == capture::none && depth == 2 && in_entry_array) return fail(ec, bundle_errc::bad_entry_array);
        if (capturing == capture::none && depth == 1 && key == "entry") return fail(ec, bundle_errc::bad_entry_array);
        if (capturing == capture::none && depth == 0) return fail(ec, bundle_errc::not_an_object);
        return true;
    }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code& ec) {
        if (!value_begins(ec, true, false)) return false;
        ++depth;
        return true;
    }
    bool on_object_end(std::size_t n, error_code& ec) {
        --depth;
        if (capturing == capture::none) return true;
        vs.push_object(n);
        return depth + 1 == capture_depth ? finish_capture(ec) : true;
    }
    bool on_array_begin(error_code& ec) {
        if (!value_begins(ec, false, true)) return false;
        ++depth;
        return true;
    }
    bool on_array_end(std::size_t n, error_code& ec) {
        --depth;
        if (depth == 1 && in_entry_array && capturing == capture::none) {
            in_entry_array = false;
            return true;
        }
        if (capturing == capture::none) return true;
        vs.push_array(n);
        return depth + 1 == capture_depth ? finish_capture(ec) : true;
    }
    bool on_key_part(json::string_view s, std::size_t, error_code& ec) {
        if (capturing != capture::none) {
            vs.push_chars(s);
            return count(ec, s.size());
        }
        if (depth == 1) {
            if (key_done) key.clear(), key_done = false;
            if (key.size() < 256) key.append(s.data(), s.size());
        }
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code& ec) {
        if (capturing != capture::none) {
            vs.push_key(s);
            return count(ec, s.size());
        }
        if (depth == 1) {
            if (key_done) key.clear();
            if (key.size() < 256) key.append(s.data(), s.size());
            key_done = true;
        }
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, error_code& ec) {
        if (!scalar_ok(ec)) return false;
        if (capturing != capture::none) {
            vs.push_chars(s);
            return count(ec, s.size());
        }
        if (scalar_at_top() && scalar.size() < 4096) scalar.append(s.data(), s.size());
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code& ec) {
        if (!scalar_ok(ec)) return false;
        if (capturing != capture::none) {
            vs.push_string(s);
            return count(ec, s.size());
        }
        if (scalar_at_top()) {
            if (scalar.size() < 4096) scalar.append(s.data(), s.size());
            if (key == "resourceType") resource_type = scalar;
            else if (key == "type") type = scalar;
            scalar.clear();
        }
        return true;
    }
    bool on_number_part(json::string_view, error_code& ec) { return scalar_ok(ec); }
    bool on_int64(std::int64_t v, json::string_view, error_code& ec) {
        if (!scalar_ok(ec)) return false;
        if (capturing != capture::none) {
            vs.push_int64(v);
            return count(ec, 8);
        }
        if (scalar_at_top() && key == "total") total = v;
        return true;
    }
    bool on_uint64(std::uint64_t v, json::string_view, error_code& ec) {
        if (!scalar_ok(ec)) return false;
        if (capturing != capture::none) {
            vs.push_uint64(v);
            return count(ec, 8);
        }
        return true;
    }
    bool on_double(double v, json::string_view, error_code& ec) {
        if (!scalar_ok(ec)) return false;
        if (capturing != capture::none) {
            vs.push_double(v);
            return count(ec, 8);
        }
        return true;
    }
    bool on_bool(bool v, error_code& ec) {
        if (!scalar_ok(ec)) return false;
        if (capturing != capture::none) {
            vs.push_bool(v);
            return count(ec, 8);
        }
        return true;
    }
    bool on_null(error_code& ec) {
        if (!scalar_ok(ec)) return false;
        if (capturing != capture::none) {
            vs.push_null();
            return count(ec, 8);
        }
        return true;
    }
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }
};

json::parse_options options_for(const bundle_limits& l) {
    json::parse_options o;
    o.max_depth = l.max_depth;
    return o;
}

}  // namespace

const boost::system::error_category& bundle_category() noexcept {
    static const bundle_category_impl c;
    return c;
}

struct bundle_reader::impl {
    json::basic_parser<handler> parser;
    impl(entry_handler h, bundle_limits l) : parser(options_for(l)) {
        parser.handler().on_entry = std::move(h);
        parser.handler().limits = l;
    }
};

bundle_reader::bundle_reader(entry_handler on_entry, bundle_limits limits)
    : impl_(std::make_unique<impl>(std::move(on_entry), limits)) {}
bundle_reader::~bundle_reader() = default;

error_code bundle_reader::write(std::string_view piece) {
    error_code ec;
    auto& p = impl_->parser;
    const std::size_t n = p.done() ? 0 : p.write_some(true, piece.data(), piece.size(), ec);
    // After the document only whitespace may follow, as json::parse has it: basic_parser leaves
    // the rest of this piece unread, and would begin a second document with the next piece (so a
    // split right after one Bundle let a second one through). Found by tests/fuzz/bundle_reader.
    if (!ec && piece.find_first_not_of(" \t\r\n", n) != std::string_view::npos) ec = json::error::extra_data;
    return ec;
}

error_code bundle_reader::finish() {
    error_code ec;
    impl_->parser.write_some(false, nullptr, 0, ec);
    if (ec) return ec;
    if (impl_->parser.handler().resource_type != "Bundle") return bundle_errc::not_a_bundle;
    return {};
}

const std::string& bundle_reader::resource_type() const noexcept { return impl_->parser.handler().resource_type; }
const std::string& bundle_reader::type() const noexcept { return impl_->parser.handler().type; }
std::optional<std::int64_t> bundle_reader::total() const noexcept { return impl_->parser.handler().total; }
const std::string& bundle_reader::next_link() const noexcept { return impl_->parser.handler().next_link; }
std::size_t bundle_reader::entries() const noexcept { return impl_->parser.handler().entries; }

}  // namespace edgesync::api
