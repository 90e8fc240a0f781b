#include "support/openmrs_double.hpp"

#include "agent/feed/publisher.hpp"
#include "net/auth.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <ctime>
#include <stdexcept>

namespace edgesync::test {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr const char* k_feed_prefix = "bec795b1-3d17-451d-b43e-a094019f6984";

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// "2024-04-04T08:28:46.000" plus the zone as FHIR2 ("+00:00") or REST ("+0000") writes it.
std::string openmrs_time(std::int64_t ms, bool fhir) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000), fhir ? "+00:00" : "+0000");
    return buf;
}

net::reply outcome(http::status s, const std::string& code, const std::string& diagnostics) {
    json::object issue{{"severity", "error"}, {"code", code}, {"diagnostics", diagnostics}};
    return net::reply::json(s, json::serialize(json::object{{"resourceType", "OperationOutcome"}, {"issue", json::array{issue}}}),
                            "application/fhir+json;charset=UTF-8");
}

net::reply rest_error(http::status s, const std::string& message, const std::string& code) {
    json::object e{{"message", message}, {"code", code}, {"detail", ""}};
    return net::reply::json(s, json::serialize(json::object{{"error", e}}), "application/json;charset=UTF-8");
}

// Properties OpenMRS's REST converters refuse to set, wherever they appear.
void find_read_only(const json::value& v, std::vector<std::string>& out) {
    if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) {
            const std::string k(kv.key());
            if ((k == "links" || k == "display" || k == "auditInfo" || k == "resourceVersion") &&
                std::find(out.begin(), out.end(), k) == out.end())
                out.push_back(k);
            find_read_only(kv.value(), out);
        }
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a) find_read_only(e, out);
    }
}

}  // namespace

struct openmrs_double::state {
    openmrs_double* self = nullptr;
    std::string authorization;  // the expected Basic header
    std::unique_ptr<net::http_server> server;
    std::uint16_t port = 0;
    std::int64_t clock_ms = 1712219326000;  // 2024-04-04T08:28:46Z, as in the Ozone capture
    struct held {
        json::value body;
        bool deleted = false;
    };
    std::map<std::pair<std::string, std::string>, held> fhir, rest;
    std::map<std::string, std::vector<event>> feeds;
    std::vector<logged_request> log;
    std::uint64_t uuid_counter = 0, event_counter = 0;

    std::int64_t tick() { return clock_ms += 1000; }

    std::string new_uuid() {
        char buf[40];
        std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(++uuid_counter));
        return buf;
    }

    // The category of a change through the API: the first mapping naming this type/resource,
    // else its lower-case name.
    std::string category_of(const std::string& name, bool is_fhir) const {
        for (const auto& [cat, m] : self->categories)
            if ((is_fhir ? m.fhir_type : m.rest_resource) == name) return cat;
        return lower(name);
    }
    void record_change(const std::string& name, bool is_fhir, const std::string& uuid, const std::string& action) {
        const std::string cat = category_of(name, is_fhir);
        mapping m;
        if (auto it = self->categories.find(cat); it != self->categories.end()) m = it->second;
        if (is_fhir && m.fhir_type.empty()) m.fhir_type = name;
        if (!is_fhir && m.rest_resource.empty()) m.rest_resource = name;
        std::string content;
        const std::string rest_url = m.rest_resource.empty() ? "" : "/openmrs/ws/rest/v1/" + m.rest_resource + "/" + uuid + "?v=full";
        if (self->bahmni_content && !rest_url.empty()) {
            content = rest_url;
        } else {
            json::object links;
            if (!rest_url.empty()) links["rest"] = "/ws/rest/v1/" + m.rest_resource + "/" + uuid + "?v=full";
            if (!m.fhir_type.empty()) links["fhir"] = "/ws/fhir2/R4/" + m.fhir_type + "/" + uuid;
            content = json::serialize(links);
        }
        self->add_event(cat, is_fhir ? name : (m.fhir_type.empty() ? name : m.fhir_type), content, action);
    }

    bool authorized(const net::request_context& ctx) const {
        auto it = ctx.req.find(http::field::authorization);
        return it != ctx.req.end() && it->value() == authorization;
    }

    // ---- feeds ----------------------------------------------------------------------------------

    net::reply feed_page(const std::string& category, const std::string& page) {
        const auto& evs = feeds[category];
        const std::size_t size = self->page_size;
        const std::size_t last = evs.empty() ? 1 : (evs.size() + size - 1) / size;
        std::size_t n = last;
        if (page != "recent") {
            char* end = nullptr;
            const unsigned long v = std::strtoul(page.c_str(), &end, 10);
            if (page.empty() || *end != '\0' || v < 1 || v > last)
                return net::reply::text(http::status::internal_server_error,
                                        "<html><body><h1>HTTP Status 500</h1><p>org.ict4h.atomfeed.server.exceptions.AtomFeedRuntimeException: "
                                        "feed does not exist</p></body></html>",
                                        "text/html;charset=utf-8");
            n = v;
        }
        const std::string base = self->feed_origin + "/openmrs/ws/atomfeed/" + category + "/";
        std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <title>Patient AOP</title>\n";
        x += "  <link rel=\"self\" type=\"application/atom+xml\" href=\"" + base + (page == "recent" ? "recent" : std::to_string(n)) + "\" />\n";
        x += "  <link rel=\"via\" type=\"application/atom+xml\" href=\"" + base + std::to_string(n) + "\" />\n";
        if (n > 1) x += "  <link rel=\"prev-archive\" type=\"application/atom+xml\" href=\"" + base + std::to_string(n - 1) + "\" />\n";
        if (n < last) x += "  <link rel=\"next-archive\" type=\"application/atom+xml\" href=\"" + base + std::to_string(n + 1) + "\" />\n";
        x += "  <author>\n    <name>OpenMRS</name>\n  </author>\n  <id>" + std::string(k_feed_prefix) + "+" + std::to_string(n) + "</id>\n";
        x += "  <generator uri=\"https://github.com/ICT4H/atomfeed\">OpenMRS Feed Publisher</generator>\n";
        const std::size_t from = (n - 1) * size, to = std::min(evs.size(), n * size);
        x += "  <updated>" + feed::format_atom_time(to > from ? evs[to - 1].at_ms : clock_ms) + "</updated>\n";
        for (std::size_t i = from; i < to; ++i) {
            const auto& e = evs[i];
            x += "  <entry>\n    <title>" + e.title + "</title>\n    <category term=\"" + e.category + "\" />\n";
            if (!e.action.empty()) x += "    <category term=\"" + e.action + "\" />\n";
            x += "    <id>tag:atomfeed.ict4h.org:" + e.uuid + "</id>\n    <updated>" + feed::format_atom_time(e.at_ms) + "</updated>\n    <published>" +
                 feed::format_atom_time(e.at_ms) + "</published>\n";
            x += "    <content type=\"application/vnd.atomfeed+xml\"><![CDATA[" + e.content + "]]></content>\n  </entry>\n";
        }
        x += "</feed>\n";
        return net::reply::text(http::status::ok, std::move(x), "application/atom+xml;charset=UTF-8");
    }

    // ---- FHIR2 ----------------------------------------------------------------------------------

    json::value with_meta(json::value body, std::int64_t at) {
        auto& o = body.as_object();
        json::object meta = o.contains("meta") && o["meta"].is_object() ? o["meta"].as_object() : json::object{};
        meta["versionId"] = std::to_string(at);
        meta["lastUpdated"] = openmrs_time(at, true);
        o["meta"] = std::move(meta);
        return body;
    }
    net::reply fhir_resource(http::status s, const json::value& body) {
        net::reply r = net::reply::json(s, json::serialize(body), "application/fhir+json;charset=UTF-8");
        r.headers.set(http::field::etag, "W/\"" + std::string(body.at("meta").at("versionId").as_string()) + "\"");
        return r;
    }
    net::reply fhir_read(const std::string& type, const std::string& id) {
        auto it = fhir.find({type, id});
        if (it == fhir.end()) return outcome(http::status::not_found, "processing", "Resource of type " + type + " with ID " + id + " is not known");
        if (it->second.deleted) return outcome(http::status::gone, "processing", "Resource was deleted");
        return fhir_resource(http::status::ok, it->second.body);
    }
    std::optional<json::object> fhir_body(const net::request_context& ctx, const std::string& type, net::reply& err) {
        boost::system::error_code ec;
        json::value v = json::parse(ctx.req.body(), ec);
        if (ec || !v.is_object()) {
            err = outcome(http::status::bad_request, "processing", "Failed to parse request body as JSON resource");
            return std::nullopt;
        }
        const auto* rt = v.as_object().if_contains("resourceType");
        if (!rt || !rt->is_string() || rt->as_string() != type) {
            err = outcome(http::status::bad_request, "processing", "Incorrect resource type");
            return std::nullopt;
        }
        // OpenMRS resolves subject/patient references while translating; an unknown Patient is a 400.
        for (const char* field : {"subject", "patient"}) {
            const auto* ref = v.as_object().if_contains(field);
            const auto* r = ref && ref->is_object() ? ref->as_object().if_contains("reference") : nullptr;
            if (!r || !r->is_string() || !r->as_string().starts_with("Patient/")) continue;
            const std::string pid(r->as_string().subview(8));
            auto it = fhir.find({"Patient", pid});
            if (it == fhir.end() || it->second.deleted) {
                err = outcome(http::status::bad_request, "processing", "Invalid reference: Patient/" + pid + " does not exist");
                return std::nullopt;
            }
        }
        return v.as_object();
    }
    net::reply fhir_update(const net::request_context& ctx, const std::string& type, const std::string& id) {
        net::reply err;
        auto body = fhir_body(ctx, type, err);
        if (!body) return err;
        const auto* bid = body->if_contains("id");
        if (!bid || !bid->is_string() || bid->as_string() != id)
            return outcome(http::status::bad_request, "processing", "Resource id in body must match id in URL");
        auto it = fhir.find({type, id});
        if (it == fhir.end() || it->second.deleted)
            return outcome(http::status::not_found, "processing", "Resource of type " + type + " with ID " + id + " is not known");
        it->second.body = with_meta(json::value(std::move(*body)), tick());
        record_change(type, true, id, "UPDATED");
        return fhir_resource(http::status::ok, it->second.body);
    }
    net::reply fhir_create(const net::request_context& ctx, const std::string& type) {
        net::reply err;
        auto body = fhir_body(ctx, type, err);
        if (!body) return err;
        std::string id;
        if (const auto* bid = body->if_contains("id"); bid && bid->is_string()) id = std::string(bid->as_string());
        if (id.empty()) id = new_uuid();
        if (auto it = fhir.find({type, id}); it != fhir.end() && !it->second.deleted)
            return outcome(http::status::bad_request, "processing", type + "/" + id + " already exists");
        (*body)["id"] = id;
        auto& h = fhir[{type, id}];
        h.body = with_meta(json::value(std::move(*body)), tick());
        h.deleted = false;
        record_change(type, true, id, "CREATED");
        net::reply r = fhir_resource(http::status::created, h.body);
        r.headers.set(http::field::location, "http://127.0.0.1:" + std::to_string(port) + "/openmrs/ws/fhir2/R4/" + type + "/" + id);
        return r;
    }
    net::reply fhir_delete(const std::string& type, const std::string& id) {
        auto it = fhir.find({type, id});
        if (it == fhir.end() || it->second.deleted)
            return outcome(http::status::not_found, "processing", "Resource of type " + type + " with ID " + id + " is not known");
        it->second.deleted = true;
        tick();
        record_change(type, true, id, "DELETED");
        json::object issue{{"severity", "information"}, {"code", "informational"}, {"diagnostics", "Successfully deleted resource"}};
        return net::reply::json(http::status::ok, json::serialize(json::object{{"resourceType", "OperationOutcome"}, {"issue", json::array{issue}}}),
                                "application/fhir+json;charset=UTF-8");
    }

    // ---- REST v1 --------------------------------------------------------------------------------

    net::reply rest_read(const std::string& res, const std::string& uuid) {
        auto it = rest.find({res, uuid});
        if (it == rest.end() || it->second.deleted)
            return rest_error(http::status::not_found, "Object with given uuid doesn't exist",
                              "org.openmrs.module.webservices.rest.web.response.ObjectNotFoundException");
        json::value out = it->second.body;
        auto& o = out.as_object();
        if (!o.contains("links"))
            o["links"] = json::array{json::object{{"rel", "self"}, {"uri", "NEED-TO-CONFIGURE/ws/rest/v1/" + res + "/" + uuid}, {"resourceAlias", res}}};
        return net::reply::json(http::status::ok, json::serialize(out), "application/json;charset=UTF-8");
    }
    std::optional<json::object> rest_body(const net::request_context& ctx, net::reply& err) {
        boost::system::error_code ec;
        json::value v = json::parse(ctx.req.body(), ec);
        if (ec || !v.is_object()) {
            err = rest_error(http::status::bad_request, "Could not read JSON: malformed body", "org.codehaus.jackson.JsonParseException");
            return std::nullopt;
        }
        std::vector<std::string> refused;
        find_read_only(v, refused);
        if (!refused.empty()) {
            std::string list;
            for (const auto& k : refused) list += (list.empty() ? "" : ", ") + k;
            err = rest_error(http::status::bad_request, "Some properties are not allowed to be set: " + list,
                             "org.openmrs.module.webservices.rest.web.response.ConversionException");
            return std::nullopt;
        }
        return v.as_object();
    }
    json::object audit(const json::object* previous, std::int64_t at) {
        json::object a = previous ? *previous : json::object{{"creator", json::object{{"uuid", "A4F30A1B-5EB9-11DF-A648-37A07F9C90FB"}}},
                                                             {"dateCreated", openmrs_time(at, false)},
                                                             {"changedBy", nullptr},
                                                             {"dateChanged", nullptr}};
        if (previous) a["dateChanged"] = openmrs_time(at, false);
        return a;
    }
    net::reply rest_update(const net::request_context& ctx, const std::string& res, const std::string& uuid) {
        net::reply err;
        auto body = rest_body(ctx, err);
        if (!body) return err;
        auto it = rest.find({res, uuid});
        if (it == rest.end() || it->second.deleted)
            return rest_error(http::status::not_found, "Object with given uuid doesn't exist",
                              "org.openmrs.module.webservices.rest.web.response.ObjectNotFoundException");
        auto& stored = it->second.body.as_object();
        for (auto& kv : *body) stored[kv.key()] = kv.value();
        const auto* prev = stored.if_contains("auditInfo");
        stored["auditInfo"] = audit(prev && prev->is_object() ? &prev->as_object() : nullptr, tick());
        record_change(res, false, uuid, "UPDATED");
        return rest_read(res, uuid);
    }
    net::reply rest_create(const net::request_context& ctx, const std::string& res) {
        net::reply err;
        auto body = rest_body(ctx, err);
        if (!body) return err;
        std::string uuid;
        if (const auto* u = body->if_contains("uuid"); u && u->is_string()) uuid = std::string(u->as_string());
        if (uuid.empty()) uuid = new_uuid();
        if (auto it = rest.find({res, uuid}); it != rest.end() && !it->second.deleted)
            return rest_error(http::status::bad_request, "duplicate uuid", "org.openmrs.api.APIException");
        (*body)["uuid"] = uuid;
        (*body)["auditInfo"] = audit(nullptr, tick());
        rest[{res, uuid}] = {json::value(std::move(*body)), false};
        record_change(res, false, uuid, "CREATED");
        net::reply r = rest_read(res, uuid);
        r.status = http::status::created;
        return r;
    }
    net::reply rest_delete(const net::request_context& ctx, const std::string& res, const std::string& uuid) {
        auto it = rest.find({res, uuid});
        if (it == rest.end() || it->second.deleted)
            return rest_error(http::status::not_found, "Object with given uuid doesn't exist",
                              "org.openmrs.module.webservices.rest.web.response.ObjectNotFoundException");
        if (ctx.query_param("purge") == std::optional<std::string>("true")) {
            it->second.deleted = true;
            tick();
            record_change(res, false, uuid, "DELETED");
        } else {
            auto& o = it->second.body.as_object();
            const bool retire = o.contains("retired") && !o.contains("voided");
            o[retire ? "retired" : "voided"] = true;
            const auto* prev = o.if_contains("auditInfo");
            o["auditInfo"] = audit(prev && prev->is_object() ? &prev->as_object() : nullptr, tick());
            record_change(res, false, uuid, retire ? "RETIRED" : "VOIDED");
        }
        return net::reply::text(http::status::no_content, "");
    }
};

openmrs_double::openmrs_double(asio::io_context& ioc, std::string user, std::string password) : state_(std::make_shared<state>()) {
    state_->self = this;
    state_->authorization = net::basic_authorization(user, password);
    categories = {{"patient", {"Patient", "patient"}},   {"person", {"Person", "person"}},   {"encounter", {"Encounter", "encounter"}},
                  {"visit", {"Encounter", "visit"}},     {"observation", {"Observation", "obs"}}, {"location", {"Location", "location"}},
                  {"allergy", {"AllergyIntolerance", ""}}};
    auto routes = std::make_shared<net::router>();
    state* s = state_.get();
    // Logs, injects failures and checks credentials before the real handler.
    auto guarded = [s](auto fn) {
        return [s, fn](net::request_context& ctx) -> asio::awaitable<net::reply> {
            auto ct = ctx.req.find(http::field::content_type);
            s->log.push_back({std::string(ctx.req.method_string()), std::string(ctx.req.target()), ctx.req.body(),
                              ct == ctx.req.end() ? std::string() : std::string(ct->value())});
            if (s->self->fail_next > 0) {
                --s->self->fail_next;
                co_return net::reply::text(static_cast<http::status>(s->self->fail_status), "injected failure\n");
            }
            const bool resource_read = ctx.req.method() == http::verb::get && ctx.path.find("/ws/atomfeed/") == std::string_view::npos;
            if (resource_read && s->self->read_delay.count() > 0) {
                auto& d = *s->self;
                d.max_reads_in_flight = std::max(d.max_reads_in_flight, ++d.reads_in_flight);
                asio::steady_timer t(co_await asio::this_coro::executor, d.read_delay);
                boost::system::error_code ec;
                co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                --d.reads_in_flight;
            }
            if (!s->authorized(ctx)) {
                net::reply r = rest_error(http::status::unauthorized, "User is not logged in", "org.openmrs.api.APIAuthenticationException");
                r.headers.set(http::field::www_authenticate, "Basic realm=\"OpenMRS\"");
                co_return r;
            }
            co_return fn(ctx);
        };
    };
    routes->add(http::verb::get, "/openmrs/ws/atomfeed/{category}/{page}", net::k_public,
                guarded([s](net::request_context& c) { return s->feed_page(std::string(c.param("category")), std::string(c.param("page"))); }));
    routes->add(http::verb::get, "/openmrs/ws/fhir2/R4/metadata", net::k_public, guarded([s](net::request_context&) {
                    if (s->self->capability_statement.empty()) return outcome(http::status::not_found, "processing", "Unknown resource type 'metadata'");
                    return net::reply::json(http::status::ok, s->self->capability_statement, "application/fhir+json;charset=UTF-8");
                }));
    routes->add(http::verb::get, "/openmrs/ws/fhir2/R4/{type}/{id}", net::k_public,
                guarded([s](net::request_context& c) { return s->fhir_read(std::string(c.param("type")), std::string(c.param("id"))); }));
    routes->add(http::verb::put, "/openmrs/ws/fhir2/R4/{type}/{id}", net::k_public,
                guarded([s](net::request_context& c) { return s->fhir_update(c, std::string(c.param("type")), std::string(c.param("id"))); }));
    routes->add(http::verb::post, "/openmrs/ws/fhir2/R4/{type}", net::k_public,
                guarded([s](net::request_context& c) { return s->fhir_create(c, std::string(c.param("type"))); }));
    routes->add(http::verb::delete_, "/openmrs/ws/fhir2/R4/{type}/{id}", net::k_public,
                guarded([s](net::request_context& c) { return s->fhir_delete(std::string(c.param("type")), std::string(c.param("id"))); }));
    routes->add(http::verb::get, "/openmrs/ws/rest/v1/{resource}/{uuid}", net::k_public,
                guarded([s](net::request_context& c) { return s->rest_read(std::string(c.param("resource")), std::string(c.param("uuid"))); }));
    routes->add(http::verb::post, "/openmrs/ws/rest/v1/{resource}/{uuid}", net::k_public, guarded([s](net::request_context& c) {
                    return s->rest_update(c, std::string(c.param("resource")), std::string(c.param("uuid")));
                }));
    routes->add(http::verb::post, "/openmrs/ws/rest/v1/{resource}", net::k_public,
                guarded([s](net::request_context& c) { return s->rest_create(c, std::string(c.param("resource"))); }));
    routes->add(http::verb::delete_, "/openmrs/ws/rest/v1/{resource}/{uuid}", net::k_public, guarded([s](net::request_context& c) {
                    return s->rest_delete(c, std::string(c.param("resource")), std::string(c.param("uuid")));
                }));
    state_->server = std::make_unique<net::http_server>(ioc.get_executor(), net::server_params{}, routes, nullptr);
    if (auto ec = state_->server->listen({asio::ip::make_address("127.0.0.1"), 0}))
        throw std::runtime_error("openmrs_double: listen: " + ec.message());
    state_->port = state_->server->local_endpoint().port();
}

openmrs_double::~openmrs_double() = default;

std::string openmrs_double::base_url() const { return "http://127.0.0.1:" + std::to_string(state_->port) + "/openmrs"; }
std::uint16_t openmrs_double::port() const { return state_->port; }

void openmrs_double::seed_fhir(const std::string& type, const std::string& id, json::value body) {
    body.as_object()["id"] = id;
    state_->fhir[{type, id}] = {state_->with_meta(std::move(body), state_->tick()), false};
}
void openmrs_double::seed_rest(const std::string& resource, const std::string& uuid, json::value body) {
    state_->rest[{resource, uuid}] = {std::move(body), false};
}
std::optional<json::value> openmrs_double::fhir(const std::string& type, const std::string& id) const {
    auto it = state_->fhir.find({type, id});
    if (it == state_->fhir.end() || it->second.deleted) return std::nullopt;
    return it->second.body;
}
bool openmrs_double::fhir_deleted(const std::string& type, const std::string& id) const {
    auto it = state_->fhir.find({type, id});
    return it != state_->fhir.end() && it->second.deleted;
}
std::optional<json::value> openmrs_double::rest(const std::string& resource, const std::string& uuid) const {
    auto it = state_->rest.find({resource, uuid});
    if (it == state_->rest.end() || it->second.deleted) return std::nullopt;
    return it->second.body;
}

void openmrs_double::add_event(const std::string& category, const std::string& title, const std::string& content, const std::string& action) {
    event e;
    char buf[40];
    std::snprintf(buf, sizeof buf, "6fdab6f5-2cd2-4207-b8bb-%012llx", static_cast<unsigned long long>(++state_->event_counter));
    e.uuid = buf;
    e.title = title;
    e.category = category;
    e.content = content;
    e.action = action;
    e.at_ms = state_->tick();
    state_->feeds[category].push_back(std::move(e));
}

void openmrs_double::clear_events(const std::string& category) { state_->feeds[category].clear(); }
const std::vector<openmrs_double::event>& openmrs_double::events(const std::string& category) const { return state_->feeds[category]; }
const std::vector<openmrs_double::logged_request>& openmrs_double::requests() const { return state_->log; }
void openmrs_double::clear_requests() { state_->log.clear(); }

}  // namespace edgesync::test
