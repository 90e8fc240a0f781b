#include "agent/feed/walk.hpp"

#include "net/url.hpp"

#include <algorithm>

namespace edgesync::feed {

std::string_view feed_id_prefix(std::string_view id) noexcept {
    const auto plus = id.rfind('+');
    return plus == std::string_view::npos ? id : id.substr(0, plus);
}

namespace {

// ".../patient/36" with prev-archive ".../patient/35": ".../patient/1". nullopt when the pages are
// not numbered that way, or when page 1 is the prev-archive anyway.
std::optional<std::string> first_page_guess(const std::string& via, const std::string& prev) {
    const auto slash = via.rfind('/');
    if (slash == std::string::npos || slash + 1 >= via.size() || via.size() - slash > 19) return std::nullopt;
    std::uint64_t n = 0;
    for (std::size_t i = slash + 1; i < via.size(); ++i) {
        if (via[i] < '0' || via[i] > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(via[i] - '0');
    }
    const std::string base = via.substr(0, slash + 1);
    if (n <= 2 || prev != base + std::to_string(n - 1)) return std::nullopt;
    return base + "1";
}

}  // namespace

feed_walk::feed_walk(walk_options o) : opts_(std::move(o)) {
    if (auto u = net::parse_url(opts_.feed_url)) {
        net::url origin = *u;
        origin.target = "/";
        origin_ = origin.to_string();
        origin_.pop_back();  // no trailing '/'
    }
}

std::string feed_walk::rebase(const std::string& href) const {
    auto u = net::parse_url(href);
    if (!u || origin_.empty()) return href;
    return origin_ + u->target;
}

feed_walk::step feed_walk::start() {
    if (opts_.marker && !opts_.marker->page_url.empty()) {
        phase_ = phase::at_marker;
        return fetch{rebase(opts_.marker->page_url)};
    }
    phase_ = phase::rewind;
    return fetch{opts_.feed_url};
}

feed_walk::step feed_walk::next_after(const page_header& h) {
    if (h.next_archive.empty()) {
        phase_ = phase::finished;
        return done{};
    }
    return fetch{rebase(h.next_archive)};
}

feed_walk::page_outcome feed_walk::on_page(const page_header& h, std::vector<feed_entry> entries) {
    page_outcome out;
    out.via = rebase(h.via.empty() ? h.self : h.via);
    out.prefix = std::string(feed_id_prefix(h.id));
    if (++pages_ > opts_.max_pages) {
        out.next = broken{"more than " + std::to_string(opts_.max_pages) + " pages in one run"};
        return out;
    }
    switch (phase_) {
        case phase::rewind: {
            if (std::find(visited_.begin(), visited_.end(), out.via) != visited_.end()) {
                out.next = broken{"prev-archive links loop back to " + out.via};
                return out;
            }
            visited_.push_back(out.via);
            if (!h.prev_archive.empty()) {
                const std::string prev = rebase(h.prev_archive);
                if (visited_.size() == 1)
                    if (auto first = first_page_guess(out.via, prev)) {
                        phase_ = phase::probe_first;
                        fallback_ = prev;
                        out.next = fetch{*first};
                        return out;
                    }
                out.next = fetch{prev};
                return out;
            }
            phase_ = phase::forward;  // the oldest page: everything on it is new
            out.entries = std::move(entries);
            out.next = next_after(h);
            return out;
        }
        case phase::probe_first:
            if (!h.prev_archive.empty()) {  // not the oldest after all: walk back as usual
                phase_ = phase::rewind;
                out.next = fetch{fallback_};
                return out;
            }
            phase_ = phase::forward;
            out.entries = std::move(entries);
            out.next = next_after(h);
            return out;
        case phase::at_marker: {
            const walk_marker& m = *opts_.marker;
            if (!m.feed_prefix.empty() && !out.prefix.empty() && m.feed_prefix != out.prefix) {
                out.next = prefix_changed{m.feed_prefix, out.prefix};
                return out;
            }
            auto first_new = entries.begin();
            if (!m.last_read_entry_id.empty()) {
                auto it = std::find_if(entries.begin(), entries.end(),
                                       [&](const feed_entry& e) { return e.id == m.last_read_entry_id; });
                if (it == entries.end()) {
                    out.next = marker_lost{"entry " + m.last_read_entry_id + " is not on " + out.via};
                    return out;
                }
                first_new = it + 1;
            }
            phase_ = phase::forward;
            out.entries.assign(std::make_move_iterator(first_new), std::make_move_iterator(entries.end()));
            out.next = next_after(h);
            return out;
        }
        case phase::forward:
            out.entries = std::move(entries);
            out.next = next_after(h);
            return out;
        case phase::finished:
            out.next = done{};
            return out;
    }
    out.next = done{};
    return out;
}

feed_walk::step feed_walk::on_missing() {
    if (phase_ == phase::probe_first) {
        phase_ = phase::rewind;
        return fetch{fallback_};
    }
    if (phase_ == phase::at_marker) return marker_lost{"the marked page " + rebase(opts_.marker->page_url) + " does not exist"};
    return broken{"a page the feed links to does not exist"};
}

}  // namespace edgesync::feed
