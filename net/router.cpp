#include "net/router.hpp"

#include <algorithm>

namespace edgesync::net {

reply reply::text(http::status s, std::string body, std::string_view content_type) {
    reply r;
    r.status = s;
    r.headers.set(http::field::content_type, content_type);
    r.body = std::move(body);
    return r;
}

reply reply::json(http::status s, std::string body, std::string_view content_type) { return text(s, std::move(body), content_type); }

std::string_view request_context::param(std::string_view name) const {
    for (const auto& [k, v] : params)
        if (k == name) return v;
    return {};
}

std::optional<std::string> request_context::query_param(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        auto eq = item.find('=');
        auto key = percent_decode(item.substr(0, eq), true);
        if (!key || *key != name) continue;
        if (eq == std::string_view::npos) return std::string();
        return percent_decode(item.substr(eq + 1), true);
    }
    return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    auto hexval = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') return std::nullopt;
        out += c;
    }
    return out;
}

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    if (!path.empty() && path.front() == '/') pos = 1;
    while (pos <= path.size()) {
        auto slash = path.find('/', pos);
        out.push_back(path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    return out;
}

bool is_param(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
bool is_rest(std::string_view seg) { return is_param(seg) && seg.size() > 5 && seg.substr(seg.size() - 4) == "...}"; }

// Number of literal segments matched, or -1 when the pattern does not match.
int try_match(const router::route& r, const std::vector<std::string>& segs,
              std::vector<std::pair<std::string, std::string>>& params) {
    params.clear();
    int literals = 0;
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
        const std::string& p = r.segments[i];
        if (is_rest(p)) {
            if (i >= segs.size()) return -1;
            std::string rest;
            for (std::size_t j = i; j < segs.size(); ++j) {
                if (segs[j].empty()) return -1;
                if (j > i) rest += '/';
                rest += segs[j];
            }
            params.emplace_back(p.substr(1, p.size() - 5), rest);
            return literals;
        }
        if (i >= segs.size()) return -1;
        if (is_param(p)) {
            if (segs[i].empty()) return -1;
            params.emplace_back(p.substr(1, p.size() - 2), segs[i]);
        } else if (p == segs[i]) {
            ++literals;
        } else {
            return -1;
        }
    }
    return r.segments.size() == segs.size() ? literals : -1;
}

}  // namespace

void router::add(http::verb method, std::string_view pattern, std::uint8_t roles, handler h) {
    route r{method, {}, roles, std::move(h)};
    for (auto seg : split_path(pattern)) r.segments.emplace_back(seg);
    routes_.push_back(std::move(r));
}

router::match_result router::match(http::verb method, std::string_view path) const {
    match_result out;
    std::vector<std::string> segs;
    for (auto raw : split_path(path)) {
        auto d = percent_decode(raw);
        if (!d || d->find('/') != std::string::npos) return out;  // encoded slashes never split or join segments
        segs.push_back(std::move(*d));
    }
    int best = -1;
    std::vector<std::pair<std::string, std::string>> params;
    std::vector<std::string> allowed;
    for (const auto& r : routes_) {
        int score = try_match(r, segs, params);
        if (score < 0) continue;
        if (r.method != method && !(method == http::verb::head && r.method == http::verb::get)) {
            std::string m(http::to_string(r.method));
            if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) allowed.push_back(m);
            continue;
        }
        if (score > best) {
            best = score;
            out.found = &r;
            out.params = params;
        }
    }
    if (!out.found) {
        for (const auto& m : allowed) out.allow += (out.allow.empty() ? "" : ", ") + m;
    }
    return out;
}

void router::set_refusal_format(std::string prefix, refusal_formatter f) {
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    refusal_formats_.emplace_back(std::move(prefix), std::move(f));
}

reply router::refusal(std::string_view path, http::status s, std::string_view message) const {
    const refusal_formatter* best = nullptr;
    std::size_t best_len = 0;
    for (const auto& [prefix, f] : refusal_formats_) {
        const bool under = path.rfind(prefix, 0) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '/');
        if (under && (!best || prefix.size() > best_len)) {
            best = &f;
            best_len = prefix.size();
        }
    }
    if (best) return (*best)(s, message);
    return reply::text(s, std::string(message) + "\n");
}

}  // namespace edgesync::net
