#include "agent/backend/openmrs.hpp"

#include "agent/api/bundle_reader.hpp"
#include "agent/api/fhir.hpp"
#include "agent/common/log.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace edgesync::backend {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

void strip_read_only(json::value& v) {
    if (auto* o = v.if_object()) {
        for (const char* k : {"links", "display", "auditInfo", "resourceVersion"}) o->erase(k);
        for (auto& kv : *o) strip_read_only(kv.value());
    } else if (auto* a = v.if_array()) {
        for (auto& e : *a) strip_read_only(e);
    }
}

// What the server said was wrong: an OperationOutcome's diagnostics, an OpenMRS REST error's
// message, or the start of the body.
std::string problem_of(const net::client_response& r) {
    error_code pe;
    json::value v = json::parse(r.body, pe);
    if (!pe && v.is_object()) {
        const auto& o = v.as_object();
        if (const auto* issue = o.if_contains("issue"); issue && issue->is_array() && !issue->as_array().empty()) {
            const auto* first = issue->as_array()[0].if_object();
            if (const auto* d = first ? first->if_contains("diagnostics") : nullptr; d && d->is_string()) return std::string(d->as_string());
        }
        if (const auto* e = o.if_contains("error"); e && e->is_object())
            if (const auto* m = e->as_object().if_contains("message"); m && m->is_string()) return std::string(m->as_string());
    }
    std::string head = r.body.substr(0, 200);
    for (char& c : head)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return head;
}

error_code error_for_status(unsigned status) {
    if (status == 401 || status == 403 || status == 407) return errc::unauthorized;
    if (status >= 400 && status < 500 && status != 408 && status != 429) return errc::refused;
    return errc::unavailable;
}

// A FHIR resource's version and modification time, from its meta.
void read_fhir_meta(const json::object& resource, local_resource& out) {
    const auto* meta = resource.if_contains("meta");
    if (!meta || !meta->is_object()) return;
    if (const auto* vid = meta->as_object().if_contains("versionId"); vid && vid->is_string()) out.version = std::string(vid->as_string());
    if (const auto* lu = meta->as_object().if_contains("lastUpdated"); lu && lu->is_string())
        out.last_updated = parse_openmrs_time(lu->as_string()).value_or(0);
}

std::string strip_etag(std::string_view e) {
    if (e.substr(0, 2) == "W/") e.remove_prefix(2);
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    return std::string(e);
}

class openmrs_backend final : public local_backend {
public:
    openmrs_backend(net::http_client& client, store::store& st, openmrs_params p) : client_(client), st_(st), p_(std::move(p)) {
        while (!p_.base_url.empty() && p_.base_url.back() == '/') p_.base_url.pop_back();
    }

    std::string_view kind() const noexcept override { return "openmrs"; }
    std::string feed_key(const std::string& category) const override { return p_.base_url + "/ws/atomfeed/" + category + "/recent"; }

    asio::awaitable<feed::run_status> read_feed(std::string category, feed::entry_processor process, feed::entries_hook ahead) override {
        feed::run_params rp;
        rp.feed_url = feed_key(category);
        rp.authorization = p_.authorization;
        rp.limits = p_.limits;
        rp.policy = p_.on_marker_lost;
        rp.direction = "push";
        rp.category = category;
        rp.peer = p_.peer;
        co_return co_await feed::run_feed(client_, st_, std::move(rp), std::move(process), std::move(ahead));
    }

    asio::awaitable<get_result> get(resource_ref r) override {
        get_result out;
        const bool fhir = r.key.representation == "fhir";
        net::client_request req;
        req.url = url_of(r.key) + (fhir ? "" : "?v=full");
        req.authorization = p_.authorization;
        req.headers.set(http::field::accept, fhir ? "application/fhir+json" : "application/json");
        auto resp = co_await client_.request(std::move(req));
        if (!resp) {
            out.ec = resp.error();
            out.detail = "GET " + r.key.type + "/" + r.key.uuid + ": " + resp.error().message();
            co_return out;
        }
        out.status = resp->status;
        if (resp->status == 404) co_return out;  // missing
        if (resp->status == 410) {
            out.resource.state = presence::deleted;
            co_return out;
        }
        if (resp->status != 200) {
            out.ec = error_for_status(resp->status);
            out.detail = "GET " + r.key.type + "/" + r.key.uuid + ": " + std::to_string(resp->status) + " " + problem_of(*resp);
            co_return out;
        }
        error_code pe;
        json::value v = json::parse(resp->body, pe);
        if (pe || !v.is_object()) {
            out.ec = errc::bad_response;
            out.detail = "GET " + r.key.type + "/" + r.key.uuid + ": the answer is not a JSON object";
            co_return out;
        }
        const auto& o = v.as_object();
        out.resource.state = presence::present;
        if (fhir) {
            read_fhir_meta(o, out.resource);
        } else {
            for (const char* flag : {"voided", "retired"})
                if (const auto* f = o.if_contains(flag); f && f->is_bool() && f->as_bool()) out.resource.state = presence::deleted;
            if (const auto* audit = o.if_contains("auditInfo"); audit && audit->is_object()) {
                for (const char* field : {"dateCreated", "dateChanged"})
                    if (const auto* d = audit->as_object().if_contains(field); d && d->is_string())
                        if (auto t = parse_openmrs_time(d->as_string()); t && *t > out.resource.last_updated) out.resource.last_updated = *t;
            }
        }
        if (out.resource.version.empty()) {
            auto etag = resp->headers.find(http::field::etag);
            if (etag != resp->headers.end()) out.resource.version = strip_etag(etag->value());
        }
        out.resource.body = std::move(resp->body);
        co_return out;
    }

    std::size_t batch_limit() const noexcept override { return batching_ == tri::no || p_.batch_size < 2 ? 1 : p_.batch_size; }

    asio::awaitable<std::vector<get_result>> get_many(std::vector<resource_ref> refs) override {
        std::vector<get_result> out(refs.size());
        std::vector<std::size_t> fhir_at;  // which refs go in the batch
        if (p_.batch_size >= 2 && refs.size() >= 2) {
            if (batching_ == tri::unknown) co_await discover_batch();
            if (batching_ == tri::yes)
                for (std::size_t i = 0; i < refs.size(); ++i)
                    if (refs[i].key.representation == "fhir") fhir_at.push_back(i);
        }
        if (fhir_at.size() >= 2) {
            const bool ok = co_await batch_get(refs, fhir_at, out);
            if (!ok) fhir_at.clear();  // refused: asked one by one below
        } else {
            fhir_at.clear();
        }
        std::size_t next_batched = 0;
        for (std::size_t i = 0; i < refs.size(); ++i) {
            if (next_batched < fhir_at.size() && fhir_at[next_batched] == i) {
                ++next_batched;
                continue;
            }
            out[i] = co_await get(refs[i]);
        }
        co_return out;
    }

    asio::awaitable<apply_result> apply(change c) override {
        // (Not a ?: of two co_awaits: GCC 12 miscompiles that.)
        apply_result out;
        if (c.remove) out = co_await remove(c);
        else out = co_await upsert(c);
        if (!out.ec && c.then_marker) {
            if (auto e = co_await st_.set_marker(*c.then_marker)) {
                out.ec = e;
                out.detail = "marker: " + e.message();
            }
        }
        co_return out;
    }

private:
    std::string url_of(const store::resource_key& k) const {
        return p_.base_url + (k.representation == "fhir" ? "/ws/fhir2/R4/" : "/ws/rest/v1/") + k.type + "/" + k.uuid;
    }
    std::string collection_of(const store::resource_key& k) const {
        return p_.base_url + (k.representation == "fhir" ? "/ws/fhir2/R4/" : "/ws/rest/v1/") + k.type;
    }

    // One request; the failure (transport or status) filled into `out`, or the response.
    asio::awaitable<std::optional<net::client_response>> send(http::verb method, std::string url, std::string body, bool fhir,
                                                              const std::string& what, apply_result& out) {
        net::client_request req;
        req.method = method;
        req.url = std::move(url);
        req.authorization = p_.authorization;
        req.headers.set(http::field::accept, fhir ? "application/fhir+json" : "application/json");
        if (!body.empty()) req.headers.set(http::field::content_type, fhir ? "application/fhir+json" : "application/json");
        req.body = std::move(body);
        auto resp = co_await client_.request(std::move(req));
        if (!resp) {
            out.ec = resp.error();
            out.detail = what + ": " + resp.error().message();
            co_return std::nullopt;
        }
        out.status = resp->status;
        co_return std::move(*resp);
    }
    void refuse(apply_result& out, const std::string& what, const net::client_response& r) {
        out.ec = error_for_status(r.status);
        out.detail = what + ": " + std::to_string(r.status) + " " + problem_of(r);
    }

    asio::awaitable<apply_result> upsert(const change& c) {
        apply_result out;
        const bool fhir = c.ref.key.representation == "fhir";
        const std::string what = (fhir ? "PUT " : "POST ") + c.ref.key.type + "/" + c.ref.key.uuid;
        std::string update_body, create_body;
        if (fhir) {
            error_code pe;
            json::value v = json::parse(c.body, pe);
            if (pe || !v.is_object()) {
                out.ec = errc::refused;
                out.detail = what + ": the body is not a JSON object";
                co_return out;
            }
            v.as_object()["id"] = c.ref.key.uuid;
            update_body = create_body = json::serialize(v);
        } else {
            auto u = rest_write_body(c.body, true);
            auto cr = rest_write_body(c.body, false);
            if (!u || !cr) {
                out.ec = errc::refused;
                out.detail = what + ": the body is not a JSON object";
                co_return out;
            }
            update_body = std::move(*u);
            json::value v = json::parse(*cr);
            v.as_object()["uuid"] = c.ref.key.uuid;
            create_body = json::serialize(v);
        }
        const http::verb update_verb = fhir ? http::verb::put : http::verb::post;
        auto resp = co_await send(update_verb, url_of(c.ref.key), std::move(update_body), fhir, what, out);
        if (!resp) co_return out;
        if (resp->status == 200 || resp->status == 201) {
            out.outcome = resp->status == 201 ? store::write_outcome::created : store::write_outcome::updated;
            co_return out;
        }
        if (resp->status != 404) {
            refuse(out, what, *resp);
            co_return out;
        }
        // Not there yet: create it, keeping the source's uuid.
        const std::string create_what = "POST " + c.ref.key.type + " (create " + c.ref.key.uuid + ")";
        resp = co_await send(http::verb::post, collection_of(c.ref.key), std::move(create_body), fhir, create_what, out);
        if (!resp) co_return out;
        if (resp->status == 200 || resp->status == 201) {
            out.outcome = store::write_outcome::created;
            co_return out;
        }
        refuse(out, create_what, *resp);
        co_return out;
    }

    asio::awaitable<apply_result> remove(const change& c) {
        apply_result out;
        const bool fhir = c.ref.key.representation == "fhir";
        const std::string what = "DELETE " + c.ref.key.type + "/" + c.ref.key.uuid;
        std::string url = url_of(c.ref.key) + (!fhir && c.purge ? "?purge=true" : "");
        auto resp = co_await send(http::verb::delete_, std::move(url), {}, fhir, what, out);
        if (!resp) co_return out;
        if (resp->status == 200 || resp->status == 204) {
            out.outcome = store::write_outcome::deleted;
        } else if (resp->status == 404 || resp->status == 410) {
            out.outcome = store::write_outcome::unchanged;  // already gone
        } else {
            refuse(out, what, *resp);
        }
        co_return out;
    }

    enum class tri : std::uint8_t { unknown, yes, no };
    tri batching_ = tri::unknown;

    // Reads the CapabilityStatement once: batching only when the server says it takes batches.
    asio::awaitable<void> discover_batch() {
        net::client_request req;
        req.url = p_.base_url + "/ws/fhir2/R4/metadata";
        req.authorization = p_.authorization;
        req.headers.set(http::field::accept, "application/fhir+json");
        auto resp = co_await client_.request(std::move(req));
        if (!resp) co_return;  // a transport failure: ask again next time
        batching_ = tri::no;
        if (resp->status != 200) co_return;
        error_code pe;
        json::value v = json::parse(resp->body, pe);
        const auto* rest = !pe && v.is_object() ? v.as_object().if_contains("rest") : nullptr;
        if (!rest || !rest->is_array()) co_return;
        for (const auto& r : rest->as_array()) {
            const auto* inter = r.is_object() ? r.as_object().if_contains("interaction") : nullptr;
            if (!inter || !inter->is_array()) continue;
            for (const auto& i : inter->as_array())
                if (i.is_object() && i.as_object().if_contains("code") && i.as_object().at("code") == "batch") batching_ = tri::yes;
        }
        log::info("backend_batch", {{"server", p_.base_url}, {"batch", batching_ == tri::yes}});
    }

    // One Bundle batch of GETs for refs[at...], its answer read entry by entry as it arrives. False
    // when the server refused the batch itself (then batching is off and the caller asks singly);
    // a transport failure fills every result with it.
    asio::awaitable<bool> batch_get(const std::vector<resource_ref>& refs, const std::vector<std::size_t>& at, std::vector<get_result>& out) {
        json::array entries;
        for (std::size_t i : at)
            entries.push_back(json::object{{"request", json::object{{"method", "GET"}, {"url", refs[i].key.type + "/" + refs[i].key.uuid}}}});
        net::client_request req;
        req.method = http::verb::post;
        req.url = p_.base_url + "/ws/fhir2/R4";
        req.authorization = p_.authorization;
        req.headers.set(http::field::accept, "application/fhir+json");
        req.headers.set(http::field::content_type, "application/fhir+json");
        req.body = json::serialize(json::object{{"resourceType", "Bundle"}, {"type", "batch"}, {"entry", std::move(entries)}});
        unsigned status = 0;
        api::bundle_limits limits;
        limits.max_entries = at.size();
        limits.max_entry_bytes = p_.max_batch_response_entry_bytes;
        api::bundle_reader reader(
            [&](json::value entry, std::size_t index) -> error_code {
                get_result& g = out[at[index]];
                const auto& key = refs[at[index]].key;
                const auto* resp = entry.as_object().if_contains("response");
                const auto* st = resp && resp->is_object() ? resp->as_object().if_contains("status") : nullptr;
                g.status = st && st->is_string() ? static_cast<unsigned>(std::atoi(std::string(st->as_string()).c_str())) : 0;
                if (g.status == 404) return {};
                if (g.status == 410) {
                    g.resource.state = presence::deleted;
                    return {};
                }
                const auto* res = entry.as_object().if_contains("resource");
                if (g.status != 200 || !res || !res->is_object()) {
                    g.ec = g.status == 200 ? error_code(errc::bad_response) : error_for_status(g.status);
                    g.detail = "GET " + key.type + "/" + key.uuid + " (in a batch): " + (st && st->is_string() ? std::string(st->as_string()) : "no status");
                    return {};
                }
                g.resource.state = presence::present;
                read_fhir_meta(res->as_object(), g.resource);
                g.resource.body = json::serialize(*res);
                return {};
            },
            limits);
        auto on_head = [&](const net::response_head& h) -> error_code {
            status = h.status;
            return {};
        };
        auto on_body = [&](std::string_view piece) -> error_code { return status == 200 ? reader.write(piece) : error_code{}; };
        error_code ec = co_await client_.request_stream(std::move(req), on_head, on_body);
        if (!ec && status == 200) ec = reader.finish();
        if (!ec && status != 200) {
            if (status == 401 || status == 403 || status >= 500) {
                ec = error_for_status(status);
            } else {
                batching_ = tri::no;  // the server does not take batches after all
                log::warn("backend_batch_refused", {{"server", p_.base_url}, {"status", status}});
                co_return false;
            }
        }
        if (!ec && reader.entries() != at.size()) ec = errc::bad_response;
        if (ec) {
            for (std::size_t i : at) {
                out[i] = get_result{};
                out[i].ec = ec;
                out[i].status = status;
                out[i].detail = "batch GET of " + std::to_string(at.size()) + " resources: " + ec.message();
            }
        }
        co_return true;
    }

    net::http_client& client_;
    store::store& st_;
    openmrs_params p_;
};

}  // namespace

std::unique_ptr<local_backend> make_openmrs_backend(net::http_client& client, store::store& st, openmrs_params p) {
    return std::make_unique<openmrs_backend>(client, st, std::move(p));
}

std::optional<store::millis> parse_openmrs_time(std::string_view s) {
    std::string t(s);
    // "+0530" -> "+05:30": the FHIR parser wants the colon.
    if (t.size() > 5) {
        const std::size_t at = t.size() - 5;
        if ((t[at] == '+' || t[at] == '-') && t.find('T') != std::string::npos && t.find(':', at) == std::string::npos) t.insert(at + 3, ":");
    }
    auto range = api::parse_fhir_date_range(t);
    if (!range || t.find('T') == std::string::npos) return std::nullopt;
    return range->first;
}

std::optional<std::string> rest_write_body(std::string_view text, bool for_update) {
    error_code pe;
    json::value v = json::parse(text, pe);
    if (pe || !v.is_object()) return std::nullopt;
    strip_read_only(v);
    if (for_update) v.as_object().erase("uuid");
    return json::serialize(v);
}

}  // namespace edgesync::backend
