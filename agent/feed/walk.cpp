#include "agent/feed/walk.hpp"

#include "net/url.hpp"

#include <algorithm>

namespace edgesync::feed {

std::string_view feed_id_prefix(std::string_view id) noexcept {
    const auto plus = id.rfind('+');
    return plus == std::string_view::npos ? id : id.substr(0, plus);
}

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
                out.next = fetch{rebase(h.prev_archive)};
                return out;
            }
            phase_ = phase::forward;  // the oldest page: everything on it is new
            out.entries = std::move(entries);
            out.next = next_after(h);
            return out;
        }
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
    if (phase_ == phase::at_marker) return marker_lost{"the marked page " + rebase(opts_.marker->page_url) + " does not exist"};
    return broken{"a page the feed links to does not exist"};
}

}  // namespace edgesync::feed
