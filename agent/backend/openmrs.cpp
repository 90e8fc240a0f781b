#include "agent/backend/openmrs.hpp"

#include "agent/api/bundle_reader.hpp"
#include "agent/api/fhir.hpp"
#include "agent/api/provenance.hpp"
#include "agent/common/log.hpp"
#include "agent/sync/fingerprint.hpp"
#include "net/gzip.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
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
        if (auto origin = resp->headers.find(api::k_origin_header); origin != resp->headers.end() && api::valid_node_id(origin->value()))
            out.resource.origin_node = std::string(origin->value());
        out.resource.body = std::move(resp->body);
        co_return out;
    }

    std::size_t batch_limit() const noexcept override { return batching_ == tri::no || p_.batch_size < 2 ? 1 : p_.batch_size; }

    asio::awaitable<void> get_each(std::vector<resource_ref> refs, get_handler each) override {
        std::vector<std::size_t> fhir_at;  // which refs go in the batch
        if (co_await batching_for(refs.size()))
            for (std::size_t i = 0; i < refs.size(); ++i)
                if (refs[i].key.representation == "fhir") fhir_at.push_back(i);
        std::vector<bool> handed(refs.size(), false);
        if (fhir_at.size() >= 2) co_await batch_get(refs, fhir_at, each, handed);  // refused: nothing handed
        for (std::size_t i = 0; i < refs.size(); ++i)
            if (!handed[i]) {
                auto one = co_await get(refs[i]);
                each(i, std::move(one));
            }
    }

    asio::awaitable<std::vector<apply_result>> apply_many(std::vector<change> changes) override {
        std::vector<apply_result> out(changes.size());
        std::vector<std::size_t> fhir_at;  // which changes go in the batch
        if (co_await batching_for(changes.size()))
            for (std::size_t i = 0; i < changes.size(); ++i)
                if (changes[i].ref.key.representation == "fhir" && !changes[i].then_marker) fhir_at.push_back(i);
        std::vector<bool> done(changes.size(), false);
        if (fhir_at.size() >= 2) co_await batch_apply(changes, fhir_at, out, done);
        for (std::size_t i = 0; i < changes.size(); ++i)
            if (!done[i]) out[i] = co_await apply(std::move(changes[i]));
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
    // `origin`: the node that authored the change ("" = none said), for an edgesync parent's records.
    asio::awaitable<std::optional<net::client_response>> send(http::verb method, std::string url, std::string body, bool fhir,
                                                              const std::string& what, const std::string& origin, apply_result& out) {
        net::client_request req;
        req.method = method;
        req.url = std::move(url);
        req.authorization = p_.authorization;
        if (api::valid_node_id(origin)) req.headers.set(api::k_origin_header, origin);
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
        auto resp = co_await send(update_verb, url_of(c.ref.key), std::move(update_body), fhir, what, c.origin_node, out);
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
        resp = co_await send(http::verb::post, collection_of(c.ref.key), std::move(create_body), fhir, create_what, c.origin_node, out);
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
        auto resp = co_await send(http::verb::delete_, std::move(url), {}, fhir, what, c.origin_node, out);
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
    bool gzip_bodies_ = false;  // the parent said it is edgesync (its CapabilityStatement)
    // Set while one caller asks the server; the others wait on it (cancelled when the answer is
    // in) instead of each sending its own metadata request. Owned here; lives for one discovery.
    std::shared_ptr<asio::steady_timer> discovering_;

    // Whether a call of n resources goes as a Bundle batch (asking the server the first time).
    // Concurrent callers (fetch groups in flight at once) share one question.
    asio::awaitable<bool> batching_for(std::size_t n) {
        if (p_.batch_size < 2 || n < 2) co_return false;
        if (batching_ == tri::unknown && discovering_) {
            auto wait_on = discovering_;
            boost::system::error_code ec;
            co_await wait_on->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        } else if (batching_ == tri::unknown) {
            auto mine = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
            discovering_ = mine;
            co_await discover_batch();
            discovering_.reset();
            mine->cancel();
        }
        co_return batching_ == tri::yes;
    }

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
        // An edgesync parent takes gzip request bodies (an OpenMRS behind Tomcat does not).
        if (const auto* sw = !pe && v.is_object() ? v.as_object().if_contains("software") : nullptr; sw && sw->is_object())
            if (const auto* name = sw->as_object().if_contains("name"); name && name->is_string()) gzip_bodies_ = name->as_string() == "edgesync";
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

    // One Bundle batch of GETs for refs[at...], its answer read entry by entry as it arrives, each
    // result handed to `each` as soon as its entry is parsed (and marked in `handed`). When the
    // server refuses the batch itself nothing is handed and batching is off from then on (the
    // caller asks singly); a transport failure or a short answer hands the rest that failure.
    asio::awaitable<void> batch_get(const std::vector<resource_ref>& refs, const std::vector<std::size_t>& at, const get_handler& each,
                                    std::vector<bool>& handed) {
        json::array entries;
        for (std::size_t i : at)
            entries.push_back(json::object{{"request", json::object{{"method", "GET"}, {"url", refs[i].key.type + "/" + refs[i].key.uuid}}}});
        std::string body = json::serialize(json::object{{"resourceType", "Bundle"}, {"type", "batch"}, {"entry", std::move(entries)}});
        api::bundle_limits limits;
        limits.max_entries = at.size();
        limits.max_entry_bytes = p_.max_batch_response_entry_bytes;
        api::bundle_reader reader(
            [&](json::value entry, std::size_t index) -> error_code {
                get_result g;
                const std::size_t i = at[index];
                const auto& key = refs[i].key;
                const auto [code, problem] = entry_status(entry);
                g.status = code;
                const auto* res = entry.as_object().if_contains("resource");
                if (code == 410) {
                    g.resource.state = presence::deleted;
                } else if (code == 404) {
                    // missing
                } else if (code != 200 || !res || !res->is_object()) {
                    g.ec = code == 200 ? error_code(errc::bad_response) : error_for_status(code);
                    g.detail = "GET " + key.type + "/" + key.uuid + " (in a batch): " + problem;
                } else {
                    g.resource.state = presence::present;
                    read_fhir_meta(res->as_object(), g.resource);
                    g.resource.body = json::serialize(*res);
                    // Parsed already: spares the replicator a parse of the body.
                    g.resource.fingerprint = sync::fingerprint(*res);
                    g.resource.origin_node = entry_origin(entry);
                }
                handed[i] = true;
                each(i, std::move(g));
                return {};
            },
            limits);
        auto sent = co_await post_batch(std::move(body), false, reader, at.size());
        if (!sent) co_return;  // refused: nothing handed, the caller asks singly
        const auto [ec, status] = *sent;
        if (ec)
            for (std::size_t i : at)
                if (!handed[i]) {
                    get_result g;
                    g.ec = ec;
                    g.status = status;
                    g.detail = "batch GET of " + std::to_string(at.size()) + " resources: " + ec.message();
                    handed[i] = true;
                    each(i, std::move(g));
                }
    }

    struct batch_outcome {
        error_code ec;  // transport, 401/403/5xx, or an answer without exactly `expected` entries
        unsigned status = 0;
    };
    // Posts a Bundle batch and streams the answer into `reader` as it arrives. nullopt: the server
    // refused the batch as a whole (the caller goes singly; see refuse_batching). `minimal` asks
    // for written entries without their resources (Prefer: return=minimal).
    asio::awaitable<std::optional<batch_outcome>> post_batch(std::string bundle, bool minimal, api::bundle_reader& reader, std::size_t expected) {
        net::client_request req;
        req.method = http::verb::post;
        req.url = p_.base_url + "/ws/fhir2/R4";
        req.authorization = p_.authorization;
        req.headers.set(http::field::accept, "application/fhir+json");
        req.headers.set(http::field::content_type, "application/fhir+json");
        if (minimal) req.headers.set("Prefer", "return=minimal");
        if (gzip_bodies_ && bundle.size() >= 1024) {
            req.headers.set(http::field::content_encoding, "gzip");
            req.body = net::gzip_compress(bundle, 4);
        } else {
            req.body = std::move(bundle);
        }
        unsigned status = 0;
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
                refuse_batching(status);
                co_return std::nullopt;
            }
        }
        if (status == 200) refusals_ = 0;
        if (!ec && reader.entries() != expected) ec = errc::bad_response;
        co_return batch_outcome{ec, status};
    }

    // The server refused a batch as a whole; the caller sends its entries singly. A 400 or 413 may
    // be for one entry in it (nested too deep, too large), so batching stays on unless that happens
    // 3 times running; anything else (404, 405, 501: no batch endpoint after all) turns it off.
    void refuse_batching(unsigned status) {
        const bool content = status == 400 || status == 413;
        if (!content || ++refusals_ >= 3) batching_ = tri::no;
        log::warn("backend_batch_refused", {{"server", p_.base_url}, {"status", status}, {"batching", batching_ != tri::no}});
    }
    unsigned refusals_ = 0;  // consecutive batches refused as a whole with 400/413

    // The authoring node a batch-response entry names (provenance.hpp), "" when none.
    static std::string entry_origin(const json::value& entry) {
        const auto* resp = entry.is_object() ? entry.as_object().if_contains("response") : nullptr;
        return api::origin_in(resp && resp->is_object() ? resp->as_object().if_contains("extension") : nullptr);
    }
    // A batch-response entry's status code, and what it says went wrong ("" when nothing).
    static std::pair<unsigned, std::string> entry_status(const json::value& entry) {
        const auto* resp = entry.is_object() ? entry.as_object().if_contains("response") : nullptr;
        const auto* st = resp && resp->is_object() ? resp->as_object().if_contains("status") : nullptr;
        if (!st || !st->is_string()) return {0, "no status"};
        const std::string text(st->as_string());
        std::string problem = text;
        const auto* oo = resp->as_object().if_contains("outcome");
        const auto* issue = oo && oo->is_object() ? oo->as_object().if_contains("issue") : nullptr;
        if (issue && issue->is_array() && !issue->as_array().empty() && issue->as_array()[0].is_object())
            if (const auto* d = issue->as_array()[0].as_object().if_contains("diagnostics"); d && d->is_string())
                problem += " " + std::string(d->as_string());
        return {static_cast<unsigned>(std::atoi(text.c_str())), problem};
    }

    // Changes[at...] as one Bundle batch of PUTs and DELETEs, the server asked to answer minimally.
    // `done[i]` is set for each change settled here; a PUT answered 404 (a server without
    // update-as-create) is left for the caller's single apply, which creates it. Refused as a
    // whole: nothing settled, batching off.
    asio::awaitable<void> batch_apply(const std::vector<change>& changes, const std::vector<std::size_t>& at, std::vector<apply_result>& out,
                                      std::vector<bool>& done) {
        json::array entries;
        std::vector<std::size_t> sent;
        for (std::size_t i : at) {
            const auto& c = changes[i];
            const std::string url = c.ref.key.type + "/" + c.ref.key.uuid;
            json::object request{{"method", c.remove ? "DELETE" : "PUT"}, {"url", url}};
            if (api::valid_node_id(c.origin_node))
                request["extension"] = json::array{json::object{{"url", api::k_origin_extension}, {"valueString", c.origin_node}}};
            if (c.remove) {
                entries.push_back(json::object{{"request", std::move(request)}});
            } else {
                error_code pe;
                json::value v = json::parse(c.body, pe);
                if (pe || !v.is_object()) {
                    out[i].ec = errc::refused;
                    out[i].detail = "PUT " + url + ": the body is not a JSON object";
                    done[i] = true;
                    continue;
                }
                v.as_object()["id"] = c.ref.key.uuid;
                entries.push_back(json::object{{"resource", std::move(v)}, {"request", std::move(request)}});
            }
            sent.push_back(i);
        }
        if (sent.empty()) co_return;
        std::string body = json::serialize(json::object{{"resourceType", "Bundle"}, {"type", "batch"}, {"entry", std::move(entries)}});
        std::vector<bool> answered(changes.size(), false);
        api::bundle_limits limits;
        limits.max_entries = sent.size();
        limits.max_entry_bytes = p_.max_batch_response_entry_bytes;
        api::bundle_reader reader(
            [&](json::value entry, std::size_t index) -> error_code {
                const std::size_t i = sent[index];
                const auto& c = changes[i];
                const auto [code, problem] = entry_status(entry);
                apply_result& r = out[i];
                r.status = code;
                answered[i] = true;
                const std::string what = std::string(c.remove ? "DELETE " : "PUT ") + c.ref.key.type + "/" + c.ref.key.uuid + " (in a batch)";
                if (c.remove && (code == 200 || code == 204)) r.outcome = store::write_outcome::deleted;
                else if (c.remove && (code == 404 || code == 410)) r.outcome = store::write_outcome::unchanged;  // already gone
                else if (!c.remove && (code == 200 || code == 201)) r.outcome = code == 201 ? store::write_outcome::created : store::write_outcome::updated;
                else if (!c.remove && code == 404) return {};  // no update-as-create here: the single apply creates it
                else {
                    r.ec = code ? error_for_status(code) : error_code(errc::bad_response);
                    r.detail = what + ": " + problem;
                }
                done[i] = true;
                return {};
            },
            limits);
        auto posted = co_await post_batch(std::move(body), true, reader, sent.size());
        if (!posted) co_return;  // refused: nothing settled, the caller applies singly
        const auto [ec, status] = *posted;
        if (ec)
            for (std::size_t i : sent)
                if (!answered[i]) {
                    out[i] = apply_result{};
                    out[i].ec = ec;
                    out[i].status = status;
                    out[i].detail = "batch of " + std::to_string(sent.size()) + " changes: " + ec.message();
                    done[i] = true;
                }
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
