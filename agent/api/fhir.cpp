#include "agent/api/fhir.hpp"
#include "agent/api/bundle_reader.hpp"
#include "agent/api/provenance.hpp"

#include "agent/sync/fingerprint.hpp"
#include "store/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cctype>
#include <ctime>
#include <random>
#include <variant>

namespace edgesync::api {
namespace {

namespace http = boost::beast::http;
namespace asio = boost::asio;
namespace json = boost::json;

// The R4 resource types (hl7.org/fhir/R4/resourcelist.html) a client may name.
constexpr std::array<std::string_view, 146> k_r4_types{
    "Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment", "AppointmentResponse",
    "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct", "BodyStructure", "Bundle", "CapabilityStatement",
    "CarePlan", "CareTeam", "CatalogEntry", "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse",
    "ClinicalImpression", "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition", "Composition",
    "ConceptMap", "Condition", "Consent", "Contract", "Coverage", "CoverageEligibilityRequest",
    "CoverageEligibilityResponse", "DetectedIssue", "Device", "DeviceDefinition", "DeviceMetric", "DeviceRequest",
    "DeviceUseStatement", "DiagnosticReport", "DocumentManifest", "DocumentReference", "EffectEvidenceSynthesis",
    "Encounter", "Endpoint", "EnrollmentRequest", "EnrollmentResponse", "EpisodeOfCare", "EventDefinition", "Evidence",
    "EvidenceVariable", "ExampleScenario", "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal",
    "GraphDefinition", "Group", "GuidanceResponse", "HealthcareService", "ImagingStudy", "Immunization",
    "ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide", "InsurancePlan", "Invoice", "Library",
    "Linkage", "List", "Location", "Measure", "MeasureReport", "Media", "Medication", "MedicationAdministration",
    "MedicationDispense", "MedicationKnowledge", "MedicationRequest", "MedicationStatement", "MedicinalProduct",
    "MedicinalProductAuthorization", "MedicinalProductContraindication", "MedicinalProductIndication",
    "MedicinalProductIngredient", "MedicinalProductInteraction", "MedicinalProductManufactured",
    "MedicinalProductPackaged", "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "MessageDefinition",
    "MessageHeader", "MolecularSequence", "NamingSystem", "NutritionOrder", "Observation", "ObservationDefinition",
    "OperationDefinition", "OperationOutcome", "Organization", "OrganizationAffiliation", "Parameters", "Patient",
    "PaymentNotice", "PaymentReconciliation", "Person", "PlanDefinition", "Practitioner", "PractitionerRole", "Procedure",
    "Provenance", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "RequestGroup", "ResearchDefinition",
    "ResearchElementDefinition", "ResearchStudy", "ResearchSubject", "RiskAssessment", "RiskEvidenceSynthesis",
    "Schedule", "SearchParameter", "ServiceRequest", "Slot", "Specimen", "SpecimenDefinition", "StructureDefinition",
    "StructureMap", "Subscription", "Substance", "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
    "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification", "SupplyDelivery",
    "SupplyRequest", "Task", "TerminologyCapabilities", "TestReport", "TestScript", "ValueSet", "VerificationResult",
    "VisionPrescription"};

net::reply outcome(http::status s, std::string_view code, std::string diagnostics) {
    json::object issue{{"severity", "error"}, {"code", code}, {"diagnostics", diagnostics}};
    json::object o{{"resourceType", "OperationOutcome"}, {"issue", json::array{issue}}};
    return net::reply::json(s, json::serialize(o), "application/fhir+json;charset=UTF-8");
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
    return true;
}

std::string format_instant(store::millis ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buf;
}

std::string format_http_date(store::millis ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string new_uuid() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    const std::uint64_t a = rng(), b = rng();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx", static_cast<unsigned long long>(a >> 32),
                  static_cast<unsigned long long>((a >> 16) & 0xffff), static_cast<unsigned long long>(a & 0xfff),
                  static_cast<unsigned long long>(0x8000 | (b >> 50)), static_cast<unsigned long long>(b & 0xffffffffffffull));
    return buf;
}

// The top level of a JSON object text, read without building it: whether it has a "meta" key and
// the raw text of its "id" value. nullopt when the text is not a plain object (or a key holds an
// escape, so "meta" could be spelled another way): the caller then parses it. Reads only; never
// validates what it skips, so it is for bodies the store holds (parsed when they came in).
struct top_level_keys {
    bool meta = false;
    std::string_view id;  // the value's text, quotes included; "" if absent
};
std::optional<top_level_keys> scan_top_level(std::string_view s) {
    std::size_t i = 0;
    auto ws = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    };
    // Past a string starting at s[i] == '"'; false if it does not end.
    auto skip_string = [&]() -> bool {
        for (++i; i < s.size(); ++i) {
            if (s[i] == '\\') ++i;
            else if (s[i] == '"') return ++i, true;
        }
        return false;
    };
    top_level_keys out;
    ws();
    if (i >= s.size() || s[i] != '{') return std::nullopt;
    ++i;
    ws();
    if (i < s.size() && s[i] == '}') ++i;
    else
        for (;;) {
            ws();
            if (i >= s.size() || s[i] != '"') return std::nullopt;
            const std::size_t key_at = i + 1;
            if (!skip_string()) return std::nullopt;
            const std::string_view key = s.substr(key_at, i - 1 - key_at);
            if (key.find('\\') != std::string_view::npos) return std::nullopt;
            ws();
            if (i >= s.size() || s[i] != ':') return std::nullopt;
            ++i;
            ws();
            const std::size_t value_at = i;
            if (i >= s.size()) return std::nullopt;
            if (s[i] == '"') {
                if (!skip_string()) return std::nullopt;
            } else if (s[i] == '{' || s[i] == '[') {
                std::size_t depth = 0;
                while (i < s.size()) {
                    const char c = s[i];
                    if (c == '"') {
                        if (!skip_string()) return std::nullopt;
                        continue;
                    }
                    ++i;
                    if (c == '{' || c == '[') ++depth;
                    else if ((c == '}' || c == ']') && --depth == 0) break;
                }
                if (depth != 0) return std::nullopt;
            } else {
                while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') ++i;
            }
            if (key == "meta") out.meta = true;
            if (key == "id") out.id = s.substr(value_at, i - value_at);
            ws();
            if (i < s.size() && s[i] == ',') {
                ++i;
                continue;
            }
            if (i < s.size() && s[i] == '}') {
                ++i;
                break;
            }
            return std::nullopt;
        }
    ws();
    if (i != s.size()) return std::nullopt;
    return out;
}

// The stored body with the node's meta fields set.
std::string with_meta(const store::stored_resource& r) {
    // Most stored bodies carry no meta (intake keeps only what a client sent) and their own id:
    // then the answer is the stored text with meta appended, as the parse below would write it
    // (the stored text is Boost.JSON's own serialization), without parsing 2 KB to add 60 bytes.
    if (const auto top = scan_top_level(r.body); top && !top->meta && top->id.size() == r.key.uuid.size() + 2 &&
                                                 top->id.substr(1, r.key.uuid.size()) == r.key.uuid &&
                                                 r.key.uuid.find_first_of("\"\\") == std::string::npos) {
        std::string out(r.body, 0, r.body.rfind('}'));
        out += R"(,"meta":{"versionId":")";
        out += std::to_string(r.version);
        out += R"(","lastUpdated":")";
        out += format_instant(r.last_updated);
        out += "\"}}";
        return out;
    }
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return r.body;
    auto& o = v.as_object();
    json::object meta = o.contains("meta") && o["meta"].is_object() ? o["meta"].as_object() : json::object{};
    meta["versionId"] = std::to_string(r.version);
    meta["lastUpdated"] = format_instant(r.last_updated);
    o["meta"] = std::move(meta);
    o["id"] = r.key.uuid;
    return json::serialize(v);
}

net::reply resource_reply(http::status s, const store::stored_resource& r, const std::string& location) {
    net::reply rep = net::reply::json(s, with_meta(r), "application/fhir+json;charset=UTF-8");
    if (!r.origin_node.empty()) rep.headers.set(k_origin_header, r.origin_node);
    rep.headers.set(http::field::etag, "W/\"" + std::to_string(r.version) + "\"");
    rep.headers.set(http::field::last_modified, format_http_date(r.last_updated));
    if (!location.empty()) rep.headers.set(http::field::location, location);
    return rep;
}

std::optional<std::int64_t> parse_if_match(std::string_view v) {
    if (v.rfind("W/", 0) == 0) v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty() || v.size() > 18) return std::nullopt;
    std::int64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n;
}

int days_from_civil(int y, unsigned m, unsigned d) {  // Howard Hinnant's algorithm
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned mp = m > 2 ? m - 3 : m + 9;
    const unsigned doy = (153 * mp + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int>(doe) - 719468;
}

struct type_info {
    std::string category;
};

// A write checked and ready for the store, or why it cannot be done.
struct prepared {
    store::resource_write w;
    store::event_spec ev;
    // Who the write is recorded as coming from (provenance.hpp).
    void stamp(const net::principal& who, std::string_view claimed_origin, const std::string& self) {
        auto from = provenance_of(who, claimed_origin, self);
        w.origin_node = std::move(from.origin_node);
        w.arrived_from = std::move(from.arrived_from);
    }
};
struct problem {
    http::status status;
    std::string code, diagnostics;
};
using preparation = std::variant<prepared, problem>;

net::reply outcome_of(const problem& pr) { return outcome(pr.status, pr.code, pr.diagnostics); }

// PUT (is_put: the id is the URL's) or POST of `v`.
preparation prepare_write(const fhir_params& p, const type_info& t, const std::string& type, std::string id, bool is_put,
                          json::value v, std::optional<std::int64_t> expected) {
    if (is_put && !valid_id(id)) return problem{http::status::bad_request, "invalid", "'" + id + "' is not a valid FHIR id"};
    if (!v.is_object()) return problem{http::status::bad_request, "structure", "the body must be a JSON object"};
    auto& o = v.as_object();
    const auto* rt = o.if_contains("resourceType");
    if (!rt || !rt->is_string()) return problem{http::status::bad_request, "invalid", "the body has no resourceType"};
    if (rt->as_string() != type)
        return problem{http::status::bad_request, "invalid",
                       "resourceType '" + std::string(rt->as_string()) + "' does not match the URL's type '" + type + "'"};
    // Meta is an object (FHIR R4 Meta). Any other value would be replaced by the node's meta on
    // every read, so what children pull would never have the fingerprint stored here.
    if (const auto* meta = o.if_contains("meta"); meta && !meta->is_object())
        return problem{http::status::bad_request, "structure", "the body's meta must be an object"};
    if (const auto* bid = o.if_contains("id")) {
        if (!bid->is_string() || !valid_id(bid->as_string()))
            return problem{http::status::bad_request, "invalid", "the body's id is not a valid FHIR id"};
        if (is_put && bid->as_string() != id)
            return problem{http::status::bad_request, "invalid",
                           "the body's id '" + std::string(bid->as_string()) + "' differs from the URL's '" + id + "'"};
        if (!is_put) id = std::string(bid->as_string());
    }
    if (id.empty()) id = new_uuid();
    o["id"] = id;
    prepared out;
    out.w.category = t.category;
    out.w.key = {"fhir", type, id};
    out.w.body = json::serialize(v);
    out.w.fingerprint = sync::fingerprint(v);
    out.w.origin_node = p.node_id;
    out.w.expected_version = expected;
    json::object links{{"fhir", p.base + "/" + type + "/" + id}};
    out.ev = {type, json::serialize(links), "", ""};
    return out;
}

preparation prepare_delete(const fhir_params& p, const type_info& t, const std::string& type, const std::string& id) {
    if (!valid_id(id)) return problem{http::status::bad_request, "invalid", "'" + id + "' is not a valid FHIR id"};
    prepared out;
    out.w.category = t.category;
    out.w.key = {"fhir", type, id};
    out.w.deleted = true;
    out.w.fingerprint = "deleted";
    out.w.origin_node = p.node_id;
    json::object links{{"fhir", p.base + "/" + type + "/" + id}};
    out.ev = {type, json::serialize(links), "", ""};
    return out;
}

// Runs a prepared write (or delete) inside the caller's transaction: the stored result, with its
// version negated when it was created.
store::result<store::stored_resource> run_prepared(store::write_context& c, const prepared& pr) {
    using R = store::result<store::stored_resource>;
    if (pr.w.deleted) {
        auto existing = store::get_resource(c.db(), pr.w.key);
        if (!existing) return R(boost::system::in_place_error, existing.error());
        if (!*existing) return R(boost::system::in_place_error, store::errc::not_found);
    }
    auto done = store::write_resource(c.db(), pr.w, pr.ev, c.new_uuid(), c.now());
    if (!done) return R(boost::system::in_place_error, done.error());
    auto now = store::get_resource(c.db(), pr.w.key);
    if (!now) return R(boost::system::in_place_error, now.error());
    if (!*now) return R(boost::system::in_place_error, store::errc::internal);
    if (done->outcome == store::write_outcome::created) (*now)->version = -(*now)->version;
    return **now;
}

// "scheme://host[:port]" for links in responses: the public URL when configured, else what the
// client called (the Host header, with the scheme this server speaks).
std::string link_origin(const fhir_params& p, const net::request_context& ctx) {
    std::string o = p.public_url.empty() ? std::string(p.tls ? "https://" : "http://") + std::string(ctx.req[http::field::host])
                                         : p.public_url;
    while (!o.empty() && o.back() == '/') o.pop_back();
    return o;
}

}  // namespace

bool is_fhir_r4_type(std::string_view type) noexcept {
    for (auto t : k_r4_types)
        if (t == type) return true;
    return false;
}

std::optional<std::pair<std::int64_t, std::int64_t>> parse_fhir_date_range(std::string_view s) {
    auto num = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
        if (pos + len > s.size()) return std::nullopt;
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (s[i] < '0' || s[i] > '9') return std::nullopt;
            v = v * 10 + (s[i] - '0');
        }
        return v;
    };
    const auto year = num(0, 4);
    if (!year) return std::nullopt;
    constexpr std::int64_t day = 86'400'000;
    if (s.size() == 4) {
        const std::int64_t a = days_from_civil(*year, 1, 1) * day, b = days_from_civil(*year + 1, 1, 1) * day;
        return std::make_pair(a, b);
    }
    if (s.size() < 7 || s[4] != '-') return std::nullopt;
    const auto month = num(5, 2);
    if (!month || *month < 1 || *month > 12) return std::nullopt;
    if (s.size() == 7) {
        const int ny = *month == 12 ? *year + 1 : *year;
        const unsigned nm = *month == 12 ? 1u : static_cast<unsigned>(*month + 1);
        return std::make_pair(days_from_civil(*year, static_cast<unsigned>(*month), 1) * day, days_from_civil(ny, nm, 1) * day);
    }
    if (s.size() < 10 || s[7] != '-') return std::nullopt;
    const auto dd = num(8, 2);
    if (!dd || *dd < 1 || *dd > 31) return std::nullopt;
    const std::int64_t midnight = days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*dd)) * day;
    if (s.size() == 10) return std::make_pair(midnight, midnight + day);
    if (s[10] != 'T') return std::nullopt;
    const auto hh = num(11, 2), mm = num(14, 2);
    if (!hh || !mm || s.size() < 16 || s[13] != ':' || *hh > 23 || *mm > 59) return std::nullopt;
    std::size_t pos = 16;
    int ss = 0, ms = 0;
    std::int64_t precision = 60'000;
    if (pos < s.size() && s[pos] == ':') {
        const auto sec = num(pos + 1, 2);
        if (!sec || *sec > 60) return std::nullopt;
        ss = *sec;
        pos += 3;
        precision = 1000;
        if (pos < s.size() && s[pos] == '.') {
            std::size_t digits = 0;
            ++pos;
            while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
                if (digits < 3) ms = ms * 10 + (s[pos] - '0');
                ++digits;
                ++pos;
            }
            if (digits == 0) return std::nullopt;
            for (std::size_t d = digits; d < 3; ++d) ms *= 10;
            precision = 1;
        }
    }
    std::int64_t offset_ms = 0;
    if (pos == s.size() - 1 && s[pos] == 'Z') {
    } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
        const auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
        if (!oh || !om) return std::nullopt;
        offset_ms = (*oh * 60 + *om) * 60'000LL * (s[pos] == '+' ? 1 : -1);
    } else {
        return std::nullopt;
    }
    const std::int64_t start = midnight + (*hh * 3600LL + *mm * 60LL + ss) * 1000 + ms - offset_ms;
    return std::make_pair(start, start + precision);
}

void add_fhir_routes(net::router& r, store::store& st, fhir_params p) {
    auto info_of = [p](const std::string& type) {
        type_info t;
        auto c = p.categories.find(type);
        t.category = c != p.categories.end() ? c->second : std::string();
        if (t.category.empty())
            for (char ch : type) t.category += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return t;
    };
    // Checks common to every resource route; an error reply, or nothing.
    auto check = [](net::request_context& ctx, const std::string& type, const type_info& t) -> std::optional<net::reply> {
        if (!is_fhir_r4_type(type)) return outcome(http::status::not_found, "not-supported", "unknown resource type '" + type + "'");
        const auto& allowed = ctx.who.categories;
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), t.category) == allowed.end())
            return outcome(http::status::forbidden, "forbidden", "'" + ctx.who.name + "' may not use category '" + t.category + "'");
        return std::nullopt;
    };
    const std::string base = p.base;

    auto read = [&st, info_of, check, base](net::request_context& ctx) -> asio::awaitable<net::reply> {
        const std::string type(ctx.param("type")), id(ctx.param("id"));
        const type_info t = info_of(type);
        if (auto e = check(ctx, type, t)) co_return *e;
        if (!valid_id(id)) co_return outcome(http::status::bad_request, "invalid", "'" + id + "' is not a valid FHIR id");
        store::resource_key key{"fhir", type, id};
        auto got = co_await st.get(std::move(key));
        if (!got) co_return outcome(http::status::service_unavailable, "transient", got.error().message());
        if (!*got) co_return outcome(http::status::not_found, "not-found", type + "/" + id + " does not exist");
        if ((*got)->deleted) co_return outcome(http::status::gone, "deleted", type + "/" + id + " was deleted");
        co_return resource_reply(http::status::ok, **got, "");
    };

    // create (POST) and update (PUT) share everything but where the id comes from.
    auto write = [&st, info_of, check, base, p](net::request_context& ctx, bool is_put) -> asio::awaitable<net::reply> {
        const std::string type(ctx.param("type"));
        std::string id(is_put ? ctx.param("id") : std::string_view());
        const type_info t = info_of(type);
        if (auto e = check(ctx, type, t)) co_return *e;
        const std::string& body = ctx.req.body();
        if (body.size() > p.max_resource_bytes)
            co_return outcome(http::status::payload_too_large, "too-costly",
                              "resource of " + std::to_string(body.size()) + " bytes exceeds the limit of " + std::to_string(p.max_resource_bytes));
        boost::system::error_code ec;
        json::parse_options opts;
        opts.max_depth = p.max_json_depth;
        json::value v = json::parse(body, ec, {}, opts);
        if (ec) co_return outcome(http::status::bad_request, "structure", "malformed JSON: " + ec.message());
        std::optional<std::int64_t> expected;
        if (auto im = ctx.req[http::field::if_match]; !im.empty()) {
            expected = parse_if_match(im);
            if (!expected) co_return outcome(http::status::bad_request, "invalid", "If-Match must be a version ETag such as W/\"3\"");
        }
        auto prep = prepare_write(p, t, type, id, is_put, std::move(v), expected);
        if (auto* pr = std::get_if<problem>(&prep)) co_return outcome_of(*pr);
        std::get<prepared>(prep).stamp(ctx.who, ctx.req[k_origin_header], p.node_id);
        const prepared ready = std::get<prepared>(std::move(prep));
        id = ready.w.key.uuid;
        auto job = [ready](store::write_context& c) { return run_prepared(c, ready); };
        auto saved = co_await st.write<store::stored_resource>(std::move(job));
        if (!saved) {
            if (saved.error() == store::errc::version_mismatch)
                co_return outcome(http::status::precondition_failed, "conflict",
                                  type + "/" + id + " is not at version " + std::to_string(*expected));
            co_return outcome(http::status::service_unavailable, "transient", saved.error().message());
        }
        store::stored_resource res = *saved;
        const bool created = res.version < 0;
        if (created) res.version = -res.version;
        const std::string location = base + "/" + type + "/" + id + "/_history/" + std::to_string(res.version);
        co_return resource_reply(created ? http::status::created : http::status::ok, res, location);
    };

    auto erase = [&st, info_of, check, p](net::request_context& ctx) -> asio::awaitable<net::reply> {
        const std::string type(ctx.param("type")), id(ctx.param("id"));
        const type_info t = info_of(type);
        if (auto e = check(ctx, type, t)) co_return *e;
        auto prep = prepare_delete(p, t, type, id);
        if (auto* pr = std::get_if<problem>(&prep)) co_return outcome_of(*pr);
        std::get<prepared>(prep).stamp(ctx.who, ctx.req[k_origin_header], p.node_id);
        const prepared ready = std::get<prepared>(std::move(prep));
        auto job = [ready](store::write_context& c) { return run_prepared(c, ready); };
        auto r2 = co_await st.write<store::stored_resource>(std::move(job));
        if (!r2 && r2.error() == store::errc::not_found) co_return outcome(http::status::not_found, "not-found", type + "/" + id + " does not exist");
        if (!r2) co_return outcome(http::status::service_unavailable, "transient", r2.error().message());
        net::reply rep;
        rep.status = http::status::no_content;
        co_return rep;
    };

    auto search = [&st, info_of, check, base, p](net::request_context& ctx) -> asio::awaitable<net::reply> {
        const std::string type(ctx.param("type"));
        const type_info t = info_of(type);
        if (auto e = check(ctx, type, t)) co_return *e;
        store::resource_query q;
        q.representation = "fhir";
        q.type = type;
        if (auto ids = ctx.query_param("_id")) {
            for (std::size_t pos = 0; pos <= ids->size();) {
                const auto comma = std::min(ids->find(',', pos), ids->size());
                std::string one = ids->substr(pos, comma - pos);
                if (!valid_id(one)) co_return outcome(http::status::bad_request, "invalid", "_id: '" + one + "' is not a valid FHIR id");
                q.uuids.push_back(std::move(one));
                pos = comma + 1;
            }
            if (q.uuids.size() > 100) co_return outcome(http::status::bad_request, "too-costly", "_id: at most 100 ids");
        }
        // _lastUpdated may repeat (a range); each is [gt|ge|lt|le|eq]DATE.
        for (std::string_view rest = ctx.query; !rest.empty();) {
            const auto amp = rest.find('&');
            const std::string_view pair = rest.substr(0, amp);
            rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
            if (pair.rfind("_lastUpdated=", 0) != 0) continue;
            auto value = net::percent_decode(pair.substr(13), true);
            std::string_view v = value ? std::string_view(*value) : std::string_view();
            std::string prefix = "eq";
            if (v.size() > 2 && std::isalpha(static_cast<unsigned char>(v[0])) && std::isalpha(static_cast<unsigned char>(v[1]))) {
                prefix = std::string(v.substr(0, 2));
                v.remove_prefix(2);
            }
            auto range = parse_fhir_date_range(v);
            if (!value || !range || (prefix != "eq" && prefix != "gt" && prefix != "ge" && prefix != "lt" && prefix != "le"))
                co_return outcome(http::status::bad_request, "invalid", "_lastUpdated: '" + (value ? *value : std::string(pair)) + "' is not [gt|ge|lt|le|eq]<date>");
            auto from = [&](std::int64_t x) { q.updated_from = std::max(q.updated_from, x); };
            auto to = [&](std::int64_t x) { q.updated_to = q.updated_to == 0 ? x : std::min(q.updated_to, x); };
            if (prefix == "gt") from(range->second);
            else if (prefix == "ge") from(range->first);
            else if (prefix == "lt") to(range->first);
            else if (prefix == "le") to(range->second);
            else {
                from(range->first);
                to(range->second);
            }
        }
        std::size_t count = 50;
        if (auto c = ctx.query_param("_count")) {
            try {
                count = std::stoul(*c);
            } catch (...) {
                co_return outcome(http::status::bad_request, "invalid", "_count must be a number");
            }
            count = std::clamp<std::size_t>(count, 1, 1000);
        }
        if (auto cursor = ctx.query_param("_cursor")) {
            try {
                q.after_row = std::stoll(*cursor);
            } catch (...) {
                co_return outcome(http::status::bad_request, "invalid", "_cursor is not one this server gave");
            }
        }
        q.limit = count + 1;  // one more tells whether there is a next page
        auto job = [q](store::sql::connection& db) { return store::find_resources(db, q); };
        auto found = co_await st.read<std::vector<store::stored_resource>>(std::move(job));
        if (!found) co_return outcome(http::status::service_unavailable, "transient", found.error().message());
        const bool more = found->size() > count;
        if (more) found->resize(count);
        const std::string origin = link_origin(p, ctx);
        const std::string self_base = origin + base + "/" + type;
        std::string query_without_cursor;
        for (std::string_view rest = ctx.query; !rest.empty();) {
            const auto amp = rest.find('&');
            const std::string_view pair = rest.substr(0, amp);
            rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
            if (pair.rfind("_cursor=", 0) == 0) continue;
            query_without_cursor += (query_without_cursor.empty() ? "" : "&") + std::string(pair);
        }
        json::array links{json::object{{"relation", "self"}, {"url", self_base + (ctx.query.empty() ? "" : "?" + std::string(ctx.query))}}};
        if (more)
            links.push_back(json::object{{"relation", "next"},
                                         {"url", self_base + "?" + query_without_cursor + (query_without_cursor.empty() ? "" : "&") +
                                                     "_cursor=" + std::to_string(found->back().row_id)}});
        json::array entries;
        for (const auto& res : *found) {
            boost::system::error_code ec;
            json::value v = json::parse(with_meta(res), ec);
            entries.push_back(json::object{{"fullUrl", origin + base + "/" + type + "/" + res.key.uuid},
                                           {"resource", std::move(v)},
                                           {"search", json::object{{"mode", "match"}}}});
        }
        json::object bundle{{"resourceType", "Bundle"}, {"type", "searchset"}, {"link", std::move(links)}, {"entry", std::move(entries)}};
        co_return net::reply::json(http::status::ok, json::serialize(bundle), "application/fhir+json;charset=UTF-8");
    };

    // Bundle batch (each entry on its own) and transaction (all or nothing) at the base. GET, PUT,
    // POST and DELETE entries; each runs exactly as its own request would.
    auto bundle = [&st, info_of, check, p](net::request_context& ctx) -> asio::awaitable<net::reply> {
        struct op {
            std::optional<problem> bad;
            std::optional<prepared> write;
            std::optional<store::resource_key> read;
            std::string type, location_base;
        };
        std::vector<op> ops;
        // Each entry becomes an op as soon as the reader has it; only that entry is ever a JSON
        // tree (the prepared writes keep their serialized bodies).
        auto on_entry = [&](json::value entry, std::size_t index) -> boost::system::error_code {
            const json::value& e = entry;
            op o;
            const std::string where = "entry " + std::to_string(index) + ": ";
            const auto* req = e.is_object() ? e.as_object().if_contains("request") : nullptr;
            const auto* method = req && req->is_object() ? req->as_object().if_contains("method") : nullptr;
            const auto* url = req && req->is_object() ? req->as_object().if_contains("url") : nullptr;
            if (!method || !method->is_string() || !url || !url->is_string()) {
                o.bad = problem{http::status::bad_request, "invalid", where + "request.method and request.url are required"};
                ops.push_back(std::move(o));
                return {};
            }
            std::string path(url->as_string());
            if (auto at = path.find(p.base + "/"); at != std::string::npos) path = path.substr(at + p.base.size() + 1);
            const auto slash = path.find('/');
            o.type = path.substr(0, slash);
            const std::string id = slash == std::string::npos ? std::string() : path.substr(slash + 1);
            const type_info t = info_of(o.type);
            if (auto refused = check(ctx, o.type, t)) {
                o.bad = problem{refused->status, "invalid", where + std::string(json::parse(refused->body).at("issue").at(0).at("diagnostics").as_string())};
                ops.push_back(std::move(o));
                return {};
            }
            const std::string m(method->as_string());
            std::optional<std::int64_t> expected;
            if (const auto* im = req->as_object().if_contains("ifMatch")) {
                expected = im->is_string() ? parse_if_match(im->as_string()) : std::nullopt;
                if (!expected) {
                    o.bad = problem{http::status::bad_request, "invalid", where + "ifMatch must be a version ETag such as W/\"3\""};
                    ops.push_back(std::move(o));
                    return {};
                }
            }
            preparation prep = problem{http::status::bad_request, "not-supported", where + "method " + m + " on " + path + " is not supported"};
            if (m == "GET" && !id.empty() && valid_id(id)) {
                o.read = store::resource_key{"fhir", o.type, id};
                ops.push_back(std::move(o));
                return {};
            }
            const json::value* resource = e.as_object().if_contains("resource");
            if (resource && json::serialize(*resource).size() > p.max_resource_bytes) {
                o.bad = problem{http::status::payload_too_large, "too-costly",
                                where + "resource exceeds the limit of " + std::to_string(p.max_resource_bytes) + " bytes"};
                ops.push_back(std::move(o));
                return {};
            }
            if ((m == "PUT" && !id.empty()) || (m == "POST" && id.empty()))
                prep = resource ? prepare_write(p, t, o.type, id, m == "PUT", *resource, expected)
                                : preparation(problem{http::status::bad_request, "invalid", where + "entry has no resource"});
            else if (m == "DELETE" && !id.empty())
                prep = prepare_delete(p, t, o.type, id);
            if (auto* pr = std::get_if<problem>(&prep)) {
                if (pr->diagnostics.rfind("entry ", 0) != 0) pr->diagnostics = where + pr->diagnostics;
                o.bad = *pr;
            } else {
                o.write = std::get<prepared>(std::move(prep));
                // The authoring node: the entry's own origin extension, else the request's header.
                std::string claimed = origin_in(req->as_object().if_contains("extension"));
                if (claimed.empty()) claimed = std::string(ctx.req[k_origin_header]);
                o.write->stamp(ctx.who, claimed, p.node_id);
            }
            ops.push_back(std::move(o));
            return {};
        };
        bundle_limits limits;
        limits.max_depth = p.max_json_depth;
        limits.max_entries = 1000;
        limits.max_entry_bytes = p.max_resource_bytes + 64 * 1024;  // the resource plus its request
        bundle_reader reader(on_entry, limits);
        boost::system::error_code ec = reader.write(ctx.req.body());
        if (!ec) ec = reader.finish();
        if (ec == bundle_errc::too_many_entries) co_return outcome(http::status::bad_request, "too-costly", "at most 1000 entries per Bundle");
        if (ec == bundle_errc::entry_too_large)
            co_return outcome(http::status::payload_too_large, "too-costly",
                              "entry " + std::to_string(reader.entries()) + " exceeds the limit of " + std::to_string(p.max_resource_bytes) + " bytes");
        if (ec == bundle_errc::bad_entry_array) co_return outcome(http::status::bad_request, "structure", "Bundle.entry must be an array of objects");
        if (ec == bundle_errc::not_a_bundle || ec == bundle_errc::not_an_object)
            co_return outcome(http::status::bad_request, "invalid", "only a Bundle may be posted to the base");
        if (ec) co_return outcome(http::status::bad_request, "structure", "malformed JSON: " + ec.message());
        const std::string kind = reader.type();
        if (kind != "batch" && kind != "transaction")
            co_return outcome(http::status::bad_request, "invalid", "Bundle.type must be batch or transaction, not '" + kind + "'");
        const bool all_or_nothing = kind == "transaction";
        // "Prefer: return=minimal": written entries are answered with status, ETag and location
        // only (a pushing child does not need its own resources back).
        const bool minimal = ctx.req["Prefer"].find("return=minimal") != boost::beast::string_view::npos;
        if (all_or_nothing)
            for (const auto& o : ops)
                if (o.bad) co_return outcome(o.bad->status, o.bad->code, "transaction not applied: " + o.bad->diagnostics);

        struct entry_result {
            int status = 200;
            std::string etag, location, diagnostics;
            std::optional<store::stored_resource> resource;
        };
        auto failure = std::make_shared<std::string>();  // the transaction's failing entry, for the reply
        using R = store::result<std::vector<entry_result>>;
        // An entry that writes nothing (refused, or a GET), as its own request would answer it.
        auto answer_unwritten = [](store::sql::connection& db, const op& o, entry_result& res_entry) -> boost::system::error_code {
            if (o.bad) {
                res_entry.status = static_cast<int>(o.bad->status);
                res_entry.diagnostics = o.bad->diagnostics;
                return {};
            }
            auto got = store::get_resource(db, *o.read);
            if (!got) return got.error();
            if (!*got) res_entry.status = 404, res_entry.diagnostics = o.type + "/" + o.read->uuid + " does not exist";
            else if ((*got)->deleted) res_entry.status = 410, res_entry.diagnostics = o.type + "/" + o.read->uuid + " was deleted";
            else res_entry.resource = std::move(**got);
            return {};
        };
        // A batch that only reads (a child fetching what the feed named) goes to the store's reader:
        // it neither waits behind commits nor holds the writer. (A transaction's reads stay on
        // the writer: one snapshot for all of them.)
        const bool reads_only = !all_or_nothing && std::none_of(ops.begin(), ops.end(), [](const op& o) { return o.write.has_value(); });
        std::optional<R> outcome_of_job;
        if (reads_only) {
            auto read_job = [ops = std::move(ops), answer_unwritten](store::sql::connection& db) -> R {
                std::vector<entry_result> out;
                for (const op& o : ops) {
                    entry_result res_entry;
                    if (auto e = answer_unwritten(db, o, res_entry)) return R(boost::system::in_place_error, e);
                    out.push_back(std::move(res_entry));
                }
                return out;
            };
            outcome_of_job.emplace(co_await st.read<std::vector<entry_result>>(std::move(read_job)));
        } else {
            auto job = [ops = std::move(ops), all_or_nothing, minimal, failure, base = p.base, answer_unwritten](store::write_context& c) -> R {
                std::vector<entry_result> out;
                for (std::size_t i = 0; i < ops.size(); ++i) {
                    const op& o = ops[i];
                    entry_result res_entry;
                    if (!o.write) {
                        if (auto e = answer_unwritten(c.db(), o, res_entry)) return R(boost::system::in_place_error, e);
                    } else {
                        if (!all_or_nothing && c.db().exec("SAVEPOINT entry")) return R(boost::system::in_place_error, store::errc::internal);
                        auto done = run_prepared(c, *o.write);
                        if (!done && (store::dooms_transaction(done.error()) || all_or_nothing)) {
                            *failure = "entry " + std::to_string(i) + ": " + o.write->w.key.type + "/" + o.write->w.key.uuid + ": " + done.error().message();
                            return R(boost::system::in_place_error, done.error());
                        }
                        if (!done) {
                            // If the entry cannot be undone, nothing of the batch may stand.
                            if (auto rb = c.db().exec("ROLLBACK TO entry")) return R(boost::system::in_place_error, rb);
                            res_entry.status = done.error() == store::errc::version_mismatch ? 412 : done.error() == store::errc::not_found ? 404 : 400;
                            res_entry.diagnostics = done.error().message();
                        } else {
                            store::stored_resource res = *done;
                            const bool created = res.version < 0;
                            if (created) res.version = -res.version;
                            res_entry.status = o.write->w.deleted ? 204 : created ? 201 : 200;
                            res_entry.etag = "W/\"" + std::to_string(res.version) + "\"";
                            res_entry.location = base + "/" + o.write->w.key.type + "/" + o.write->w.key.uuid + "/_history/" + std::to_string(res.version);
                            if (!o.write->w.deleted && !minimal) res_entry.resource = std::move(res);
                        }
                        if (!all_or_nothing)
                            if (auto rel = c.db().exec("RELEASE entry")) return R(boost::system::in_place_error, rel);
                    }
                    out.push_back(std::move(res_entry));
                }
                return out;
            };
            outcome_of_job.emplace(co_await st.write<std::vector<entry_result>>(std::move(job)));
        }
        const R& results = *outcome_of_job;
        if (!results) {
            const auto& e = results.error();
            if (e == store::errc::version_mismatch) co_return outcome(http::status::precondition_failed, "conflict", "transaction not applied: " + *failure);
            if (e == store::errc::not_found) co_return outcome(http::status::not_found, "not-found", "transaction not applied: " + *failure);
            co_return outcome(http::status::service_unavailable, "transient", e.message());
        }
        // Written as text: each resource is its stored body (with_meta), not parsed into the
        // Bundle's tree and serialized again.
        std::string reply_text = R"({"resourceType":"Bundle","type":")";
        reply_text += all_or_nothing ? "transaction-response" : "batch-response";
        reply_text += R"(","entry":[)";
        bool first_entry = true;
        for (const auto& res_entry : *results) {
            json::object resp{{"status", std::to_string(res_entry.status) + " " + std::string(http::obsolete_reason(static_cast<http::status>(res_entry.status)))}};
            if (res_entry.resource && !res_entry.resource->origin_node.empty())
                resp["extension"] = json::array{json::object{{"url", k_origin_extension}, {"valueString", res_entry.resource->origin_node}}};
            if (!res_entry.etag.empty()) resp["etag"] = res_entry.etag;
            if (!res_entry.location.empty()) resp["location"] = res_entry.location;
            if (!res_entry.resource && res_entry.status >= 400) {
                json::object issue{{"severity", "error"}, {"code", "processing"}, {"diagnostics", res_entry.diagnostics}};
                resp["outcome"] = json::object{{"resourceType", "OperationOutcome"}, {"issue", json::array{issue}}};
            }
            reply_text += first_entry ? R"({"response":)" : R"(,{"response":)";
            first_entry = false;
            reply_text += json::serialize(resp);
            if (res_entry.resource) {
                reply_text += R"(,"resource":)";
                reply_text += with_meta(*res_entry.resource);
            }
            reply_text += '}';
        }
        reply_text += "]}";
        co_return net::reply::json(http::status::ok, std::move(reply_text), "application/fhir+json;charset=UTF-8");
    };

    auto metadata = [p](net::request_context&) -> asio::awaitable<net::reply> {
        json::array resources;
        for (auto type : k_r4_types) {
            if (type == "Bundle" || type == "OperationOutcome" || type == "CapabilityStatement") continue;
            resources.push_back(json::object{
                {"type", type},
                {"interaction", json::array{json::object{{"code", "read"}}, json::object{{"code", "update"}},
                                            json::object{{"code", "create"}}, json::object{{"code", "delete"}},
                                            json::object{{"code", "search-type"}}}},
                {"versioning", "versioned-update"},
                {"updateCreate", true},
                {"conditionalUpdate", false},
                {"searchParam", json::array{json::object{{"name", "_id"}, {"type", "token"}},
                                            json::object{{"name", "_lastUpdated"}, {"type", "date"}}}}});
        }
        json::object cs{{"resourceType", "CapabilityStatement"},
                        {"status", "active"},
                        {"date", "2026-12-01"},
                        {"kind", "instance"},
                        {"software", json::object{{"name", "edgesync"}}},
                        {"fhirVersion", "4.0.1"},
                        {"format", json::array{"application/fhir+json", "json"}},
                        {"rest", json::array{json::object{{"mode", "server"},
                                                          {"resource", std::move(resources)},
                                                          {"interaction", json::array{json::object{{"code", "batch"}},
                                                                                      json::object{{"code", "transaction"}}}}}}}};
        co_return net::reply::json(http::status::ok, json::serialize(cs), "application/fhir+json;charset=UTF-8");
    };

    // The server's own refusals under the base (no credentials, wrong role, no such route) are
    // OperationOutcomes too.
    r.set_refusal_format(base, [](http::status s, std::string_view message) {
        const char* code = s == http::status::unauthorized ? "login"
                           : s == http::status::forbidden  ? "forbidden"
                           : s == http::status::not_found  ? "not-found"
                           : s == http::status::method_not_allowed ? "not-supported"
                           : s == http::status::bad_request ? "invalid"
                                                             : "transient";
        return outcome(s, code, std::string(message));
    });
    r.add(http::verb::get, base + "/metadata", p.read_roles, metadata);
    r.add(http::verb::get, base + "/{type}/{id}", p.read_roles, read);
    r.add(http::verb::get, base + "/{type}", p.read_roles, search);
    r.add(http::verb::put, base + "/{type}/{id}", p.write_roles,
          [write](net::request_context& ctx) { return write(ctx, true); });
    r.add(http::verb::post, base + "/{type}", p.write_roles, [write](net::request_context& ctx) { return write(ctx, false); });
    r.add(http::verb::delete_, base + "/{type}/{id}", p.write_roles, erase);
    r.add(http::verb::post, base, p.write_roles, bundle);
    r.add(http::verb::post, base + "/", p.write_roles, bundle);  // clients (fhir-kit-client) post to "base/"
}

}  // namespace edgesync::api
