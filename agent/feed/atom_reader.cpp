#include "agent/feed/atom_reader.hpp"

// Debian builds expat with DTD support; the header declares the billion-laughs knobs only when
// the consumer says so.
#define XML_DTD 1
#include <expat.h>

#include <array>
#include <cstring>

namespace edgesync::feed {
namespace {

constexpr std::string_view k_atom = "http://www.w3.org/2005/Atom";
constexpr char k_ns_sep = '\x01';  // expat joins namespace URI and local name with this

constexpr std::array<std::string_view, 7> k_actions{"CREATED", "UPDATED", "VOIDED", "UNVOIDED",
                                                   "RETIRED", "UNRETIRED", "DELETED"};

bool is_action(std::string_view term) noexcept {
    for (auto a : k_actions)
        if (a == term) return true;
    return false;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// Which text we are collecting, if any.
enum class field : std::uint8_t { none, feed_title, feed_id, feed_updated, title, id, updated, published, content };

}  // namespace

std::string_view entry_action(const feed_entry& e) noexcept {
    for (const auto& c : e.categories)
        if (is_action(c)) return c;
    return {};
}

std::string_view entry_category(const feed_entry& e) noexcept {
    for (const auto& c : e.categories)
        if (!is_action(c)) return c;
    return {};
}

std::string_view entry_event_uuid(const feed_entry& e) noexcept {
    std::string_view id = e.id;
    const auto colon = id.rfind(':');
    return colon == std::string_view::npos ? id : id.substr(colon + 1);
}

struct atom_reader::impl {
    reader_limits limits;
    entry_handler on_entry;
    XML_Parser parser = nullptr;
    page_header header;
    std::size_t delivered = 0;
    boost::system::error_code error;
    std::string detail;

    // Parse state. depth counts open elements; in_entry is the depth of the open <entry> (0: none).
    std::uint32_t depth = 0;
    std::uint32_t entry_depth = 0;
    bool saw_root = false;
    field collecting = field::none;
    std::uint32_t collecting_depth = 0;
    std::string text;
    feed_entry entry;

    // Input accounting for the one-token bound: expat buffers a token until it is complete, so a
    // token is bounded by refusing input that runs far past the last event.
    std::uint64_t fed = 0;
    std::uint64_t last_event = 0;

    void fail(errc e, std::string what) {
        if (error) return;
        error = make_error_code(e);
        detail = std::move(what) + " (line " + std::to_string(XML_GetCurrentLineNumber(parser)) + ", column " +
                 std::to_string(XML_GetCurrentColumnNumber(parser)) + ")";
        XML_StopParser(parser, XML_FALSE);
    }

    void touch() {
        const auto at = XML_GetCurrentByteIndex(parser);
        if (at >= 0) last_event = static_cast<std::uint64_t>(at);
    }

    static std::string_view local_atom_name(const XML_Char* name) {
        std::string_view n(name);
        const auto sep = n.find(k_ns_sep);
        if (sep == std::string_view::npos) return {};  // no namespace: not Atom
        if (n.substr(0, sep) != k_atom) return {};
        return n.substr(sep + 1);
    }

    static std::string display_name(const XML_Char* name) {
        std::string n(name);
        const auto sep = n.find(k_ns_sep);
        if (sep != std::string::npos) n = "{" + n.substr(0, sep) + "}" + n.substr(sep + 1);
        return n;
    }

    static const XML_Char* attr(const XML_Char** atts, const char* name) {
        for (; atts && atts[0]; atts += 2)
            if (std::strcmp(atts[0], name) == 0) return atts[1];
        return nullptr;
    }

    void start(const XML_Char* name, const XML_Char** atts) {
        touch();
        if (++depth > limits.max_depth) return fail(errc::too_deep, "nesting deeper than " + std::to_string(limits.max_depth));
        for (const XML_Char** a = atts; a && a[0]; a += 2)
            if (std::strlen(a[1]) > limits.max_text_bytes) return fail(errc::text_too_large, std::string("attribute ") + a[0]);
        const std::string_view local = local_atom_name(name);
        if (depth == 1) {
            if (local != "feed") return fail(errc::not_an_atom_feed, "root element is <" + display_name(name) + ">");
            saw_root = true;
            return;
        }
        if (local.empty() || collecting != field::none) return;  // foreign element, or markup inside collected text
        if (entry_depth == 0) {
            if (depth != 2) return;
            if (local == "entry") {
                if (delivered >= limits.max_entries)
                    return fail(errc::too_many_entries, "more than " + std::to_string(limits.max_entries) + " entries");
                entry_depth = depth;
                entry = {};
            } else if (local == "link") {
                const XML_Char* rel = attr(atts, "rel");
                const XML_Char* href = attr(atts, "href");
                if (!rel || !href) return;
                const std::string_view r(rel);
                if (r == "self") header.self = href;
                else if (r == "via") header.via = href;
                else if (r == "prev-archive") header.prev_archive = href;
                else if (r == "next-archive") header.next_archive = href;
            } else if (local == "title") {
                begin(field::feed_title);
            } else if (local == "id") {
                begin(field::feed_id);
            } else if (local == "updated") {
                begin(field::feed_updated);
            }
            return;
        }
        if (depth != entry_depth + 1) return;  // deeper inside an entry: ignored
        if (local == "category") {
            if (const XML_Char* term = attr(atts, "term")) entry.categories.emplace_back(term);
        } else if (local == "title") {
            begin(field::title);
        } else if (local == "id") {
            begin(field::id);
        } else if (local == "updated") {
            begin(field::updated);
        } else if (local == "published") {
            begin(field::published);
        } else if (local == "content") {
            const XML_Char* type = attr(atts, "type");
            entry.content_type = type ? type : "";
            begin(field::content);
        }
    }

    void begin(field f) {
        collecting = f;
        collecting_depth = depth;
        text.clear();
    }

    void end(const XML_Char*) {
        touch();
        if (collecting != field::none && depth == collecting_depth) {
            std::string value(trim(text));
            switch (collecting) {
                case field::feed_title: header.title = std::move(value); break;
                case field::feed_id: header.id = std::move(value); break;
                case field::feed_updated: header.updated = std::move(value); break;
                case field::title: entry.title = std::move(value); break;
                case field::id: entry.id = std::move(value); break;
                case field::updated: entry.updated = std::move(value); break;
                case field::published: entry.published = std::move(value); break;
                case field::content: entry.content = std::move(value); break;
                case field::none: break;
            }
            collecting = field::none;
            text.clear();
        }
        if (entry_depth != 0 && depth == entry_depth) {
            entry_depth = 0;
            ++delivered;
            on_entry(std::move(entry));
            entry = {};
        }
        --depth;
    }

    void chars(const XML_Char* s, int len) {
        // Character data comes in pieces, so it is never the token expat holds back; only note
        // progress when the bound could come into view (the call is not free, and whitespace
        // between elements is most of a page's events).
        if (fed - last_event > limits.max_text_bytes / 2) touch();
        if (collecting == field::none) return;
        if (text.size() + static_cast<std::size_t>(len) > limits.max_text_bytes)
            return fail(errc::text_too_large, "text longer than " + std::to_string(limits.max_text_bytes) + " bytes");
        text.append(s, static_cast<std::size_t>(len));
    }

    static void on_start(void* self, const XML_Char* name, const XML_Char** atts) { static_cast<impl*>(self)->start(name, atts); }
    static void on_end(void* self, const XML_Char* name) { static_cast<impl*>(self)->end(name); }
    static void on_chars(void* self, const XML_Char* s, int len) { static_cast<impl*>(self)->chars(s, len); }
    static void on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
        static_cast<impl*>(self)->fail(errc::dtd_not_allowed, "<!DOCTYPE> in a feed");
    }
    static int on_external_entity(XML_Parser, const XML_Char*, const XML_Char*, const XML_Char*, const XML_Char*) {
        return XML_STATUS_ERROR;  // never fetched (unreachable: DTDs are refused first)
    }

    boost::system::error_code parse(const char* data, std::size_t size, bool final) {
        if (error) return error;
        fed += size;
        if (!final && fed - last_event > limits.max_text_bytes + 64 * 1024) {
            fail(errc::text_too_large, "a single token longer than " + std::to_string(limits.max_text_bytes) + " bytes");
            return error;
        }
        if (XML_Parse(parser, data, static_cast<int>(size), final ? XML_TRUE : XML_FALSE) == XML_STATUS_ERROR && !error) {
            const XML_Error code = XML_GetErrorCode(parser);
            const bool incomplete = code == XML_ERROR_NO_ELEMENTS || code == XML_ERROR_UNCLOSED_TOKEN ||
                                    code == XML_ERROR_PARTIAL_CHAR || code == XML_ERROR_UNCLOSED_CDATA_SECTION;
            const errc e = code == XML_ERROR_AMPLIFICATION_LIMIT_BREACH ? errc::entity_expansion
                           : final && incomplete                       ? errc::truncated
                                                                       : errc::malformed_xml;
            fail(e, XML_ErrorString(code));
        }
        if (!error && final && (!saw_root || depth != 0)) fail(errc::truncated, "the document is incomplete");
        return error;
    }
};

atom_reader::atom_reader(reader_limits limits, entry_handler on_entry) : impl_(std::make_unique<impl>()) {
    impl_->limits = limits;
    impl_->on_entry = std::move(on_entry);
    impl_->parser = XML_ParserCreateNS(nullptr, k_ns_sep);
    XML_SetUserData(impl_->parser, impl_.get());
    XML_SetElementHandler(impl_->parser, &impl::on_start, &impl::on_end);
    XML_SetCharacterDataHandler(impl_->parser, &impl::on_chars);
    XML_SetStartDoctypeDeclHandler(impl_->parser, &impl::on_doctype);
    XML_SetExternalEntityRefHandler(impl_->parser, &impl::on_external_entity);
    XML_SetParamEntityParsing(impl_->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(impl_->parser, 20.0f);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(impl_->parser, 1024 * 1024);
}

atom_reader::~atom_reader() {
    if (impl_->parser) XML_ParserFree(impl_->parser);
}

boost::system::error_code atom_reader::feed(std::string_view bytes) {
    // expat takes an int length; hand larger buffers over in slices.
    constexpr std::size_t k_slice = 1 << 20;
    for (std::size_t off = 0; off < bytes.size() || (bytes.empty() && off == 0); off += k_slice) {
        const std::size_t n = std::min(k_slice, bytes.size() - off);
        if (auto ec = impl_->parse(bytes.data() + off, n, false)) return ec;
        if (bytes.empty()) break;
    }
    return impl_->error;
}

boost::system::error_code atom_reader::finish() { return impl_->parse(nullptr, 0, true); }

const page_header& atom_reader::header() const noexcept { return impl_->header; }
std::size_t atom_reader::entries() const noexcept { return impl_->delivered; }
const std::string& atom_reader::error_detail() const noexcept { return impl_->detail; }

parsed_page parse_page(std::string_view body, reader_limits limits) {
    parsed_page out;
    atom_reader r(limits, [&](feed_entry&& e) { out.entries.push_back(std::move(e)); });
    out.error = r.feed(body);
    if (!out.error) out.error = r.finish();
    out.detail = r.error_detail();
    out.header = r.header();
    return out;
}

}  // namespace edgesync::feed
