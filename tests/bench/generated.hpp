// Generated clinical data for the benchmarks: the same resources in every benchmark (and in the
// PouchDB comparison, through gen_docs), so their figures compare.
//
// resource(n) is one of a clinic's records, in groups of ten: n % 10 == 0 a Patient, 1..3 an
// Encounter of that Patient, 4..9 an Observation of that Patient in one of those Encounters. Each
// body is 1–3 KB (the size is drawn from n): identifiers, names, codes, dates and values vary with
// n, and the narrative is prose drawn from a vocabulary of ~190 words, so the bytes compress about
// as well as real FHIR does: gzip makes 10,000 of them 4.5 times smaller (repeated padding: ~20).
// Everything is a pure function of n: no state, no clock, no randomness from outside.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edgesync::bench {

struct clinical_resource {
    std::string_view type;      // "Patient", "Encounter", "Observation"
    std::string_view category;  // the sync category its feed events carry
    std::string id;             // "bench-<n>"
    std::string body;           // the FHIR JSON, id included
};

namespace detail {

// splitmix64: a small, well-mixed, deterministic stream per resource.
struct draw {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
    template <class T, std::size_t N>
    const T& pick(const T (&a)[N]) { return a[below(N)]; }
};

inline constexpr std::string_view k_family[] = {
    "Okello", "Wanjiru", "Mwangi", "Achieng", "Banda", "Phiri", "Mensah", "Owusu", "Diallo", "Traore", "Nguyen", "Tran",
    "Kamau", "Otieno", "Njoroge", "Mutua", "Chanda", "Mulenga", "Boateng", "Asante", "Keita", "Coulibaly", "Pham", "Le"};
inline constexpr std::string_view k_given[] = {
    "Amina", "Grace", "Joseph", "Mary", "Peter", "Faith", "John", "Esther", "Samuel", "Ruth", "David", "Mercy",
    "Daniel", "Joyce", "Moses", "Agnes", "Paul", "Lucy", "James", "Alice", "Isaac", "Naomi", "Elijah", "Sarah"};
inline constexpr std::string_view k_city[] = {
    "Eldoret", "Kisumu", "Nakuru", "Lilongwe", "Blantyre", "Kumasi", "Tamale", "Bamako", "Sikasso", "Hue", "Mombasa", "Ndola"};
inline constexpr std::string_view k_words[] = {
    "patient", "reports", "denies", "history", "of", "the", "and", "with", "without", "for", "since", "two", "three",
    "days", "weeks", "months", "fever", "cough", "headache", "fatigue", "nausea", "vomiting", "diarrhoea", "abdominal",
    "pain", "chest", "shortness", "breath", "night", "sweats", "weight", "loss", "appetite", "reduced", "normal",
    "elevated", "mild", "moderate", "severe", "intermittent", "persistent", "onset", "gradual", "sudden", "no",
    "known", "allergies", "medication", "adherence", "good", "poor", "missed", "doses", "counselled", "on", "regimen",
    "antiretroviral", "therapy", "started", "continued", "switched", "second", "line", "viral", "load", "suppressed",
    "detectable", "pending", "CD4", "count", "result", "blood", "pressure", "pulse", "temperature", "respiratory",
    "rate", "oxygen", "saturation", "room", "air", "examination", "unremarkable", "tender", "swelling", "left", "right",
    "lower", "upper", "limb", "rash", "lesion", "lymph", "nodes", "palpable", "cervical", "axillary", "clear", "lungs",
    "crackles", "wheeze", "heart", "sounds", "regular", "murmur", "abdomen", "soft", "liver", "spleen", "enlarged",
    "malaria", "rapid", "test", "negative", "positive", "tuberculosis", "screening", "sputum", "sent", "GeneXpert",
    "referred", "to", "clinician", "nurse", "follow", "up", "in", "one", "week", "return", "if", "worse", "advised",
    "fluids", "rest", "paracetamol", "amoxicillin", "cotrimoxazole", "prophylaxis", "isoniazid", "preventive",
    "pregnant", "antenatal", "visit", "gestation", "foetal", "movements", "felt", "fundal", "height", "appropriate",
    "child", "growth", "monitoring", "immunisation", "up", "date", "vitamin", "A", "given", "deworming", "mother",
    "caregiver", "accompanied", "by", "lives", "village", "travels", "hours", "clinic", "transport", "cost", "support",
    "group", "attends", "diabetes", "hypertension", "glucose", "fasting", "random", "HbA1c", "diet", "exercise",
    "discussed", "plan", "agreed", "reviewed", "today", "stable", "improving", "worsening", "admitted", "discharged"};

struct code {
    std::string_view loinc, display, unit;
    int lo, hi;  // the value's range, in tenths
};
inline constexpr code k_observations[] = {
    {"8310-5", "Body temperature", "Cel", 355, 405},
    {"8867-4", "Heart rate", "/min", 500, 1400},
    {"8480-6", "Systolic blood pressure", "mm[Hg]", 900, 1900},
    {"8462-4", "Diastolic blood pressure", "mm[Hg]", 500, 1200},
    {"29463-7", "Body weight", "kg", 30, 1200},
    {"9279-1", "Respiratory rate", "/min", 100, 400},
    {"2708-6", "Oxygen saturation in Arterial blood", "%", 850, 1000},
    {"25428-4", "Glucose [Presence] in Urine by Test strip", "mmol/L", 30, 250},
};
inline constexpr std::string_view k_encounter_types[] = {"Adult Initial", "Adult Return", "Antenatal", "Vitals"};

inline std::string two(std::size_t v) { return (v < 10 ? "0" : "") + std::to_string(v); }
inline std::string date(draw& d, int first_year, int years) {
    return std::to_string(first_year + static_cast<int>(d.below(static_cast<std::size_t>(years)))) + "-" + two(1 + d.below(12)) + "-" + two(1 + d.below(28));
}
// Prose up to `size` bytes of JSON string content (no characters that need escaping).
inline std::string prose(draw& d, std::size_t size) {
    std::string s;
    bool start = true;
    while (s.size() < size) {
        std::string_view w = d.pick(k_words);
        if (!s.empty()) s += ' ';
        if (start && !w.empty()) {
            s += static_cast<char>(w[0] >= 'a' && w[0] <= 'z' ? w[0] - 'a' + 'A' : w[0]);
            s.append(w.substr(1));
        } else {
            s.append(w);
        }
        start = d.below(9) == 0;
        if (start) s += '.';
    }
    s.resize(size);
    return s;
}

}  // namespace detail

inline std::string bench_id(std::uint64_t n) { return "bench-" + std::to_string(n); }

enum class kind : std::uint8_t { patient, encounter, observation };
// Which of a group of ten resource(n) is (the category its feed events carry follows from it).
inline kind kind_of(std::uint64_t n) { return n % 10 == 0 ? kind::patient : n % 10 <= 3 ? kind::encounter : kind::observation; }

inline clinical_resource resource(std::uint64_t n) {
    detail::draw d{n * 0x2545F4914F6CDD1Dull + 1};
    const std::size_t target = 1000 + d.below(2001);  // bytes of the whole body: 1–3 KB
    const std::uint64_t patient = n - n % 10;
    const std::string id = bench_id(n);
    const std::string subject = R"("subject":{"reference":"Patient/)" + bench_id(patient) + R"("})";
    clinical_resource r;
    r.id = id;
    std::string head;
    const kind k = kind_of(n);
    if (k == kind::patient) {
        r.type = "Patient";
        r.category = "patient";
        const auto family = d.pick(detail::k_family), given = d.pick(detail::k_given);
        head = R"({"resourceType":"Patient","id":")" + id + R"(","identifier":[{"use":"official","system":"http://openmrs.org/identifier/openmrs-id",)"
               R"("value":"1)" + std::to_string(100000 + n / 10) + R"(-)" + std::to_string(n % 7) + R"("}],"active":true,"name":[{"use":"official","family":")" +
               std::string(family) + R"(","given":[")" + std::string(given) + R"("]}],"gender":")" + (d.below(2) ? "female" : "male") +
               R"(","birthDate":")" + detail::date(d, 1940, 80) + R"(","address":[{"use":"home","city":")" + std::string(d.pick(detail::k_city)) +
               R"(","country":"KE","postalCode":")" + std::to_string(10000 + d.below(90000)) + R"("}],"telecom":[{"system":"phone","value":"+2547)" +
               std::to_string(10000000 + d.below(89999999)) + R"("}])";
    } else if (k == kind::encounter) {
        r.type = "Encounter";
        r.category = "encounter";
        const std::string day = detail::date(d, 2019, 7);
        const std::string hour = detail::two(7 + d.below(10));
        head = R"({"resourceType":"Encounter","id":")" + id + R"(","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode",)"
               R"("code":"AMB"},"type":[{"coding":[{"system":"http://fhir.openmrs.org/code-system/encounter-type","code":")" +
               std::to_string(1000 + d.below(9000)) + R"(","display":")" + std::string(d.pick(detail::k_encounter_types)) + R"("}]}],)" + subject +
               R"(,"period":{"start":")" + day + "T" + hour + R"(:)" + detail::two(d.below(60)) + R"(:00+03:00","end":")" + day + "T" + hour +
               R"(:59:00+03:00"},"location":[{"location":{"reference":"Location/loc-)" + std::to_string(d.below(40)) + R"("}}])";
    } else {
        r.type = "Observation";
        r.category = "observation";
        const auto& c = d.pick(detail::k_observations);
        const int tenths = c.lo + static_cast<int>(d.below(static_cast<std::size_t>(c.hi - c.lo + 1)));
        head = R"({"resourceType":"Observation","id":")" + id + R"(","status":"final","category":[{"coding":[{"system":)"
               R"("http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org",)"
               R"("code":")" + std::string(c.loinc) + R"(","display":")" + std::string(c.display) + R"("}]},)" + subject +
               R"(,"encounter":{"reference":"Encounter/)" + bench_id(patient + 1 + d.below(3)) + R"("},"effectiveDateTime":")" + detail::date(d, 2019, 7) +
               R"(T10:)" + detail::two(d.below(60)) + R"(:00+03:00","valueQuantity":{"value":)" + std::to_string(tenths / 10) + "." +
               std::to_string(tenths % 10) + R"(,"unit":")" + std::string(c.unit) + R"(","system":"http://unitsofmeasure.org","code":")" +
               std::string(c.unit) + R"("})";
    }
    head += R"(,"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">)";
    const std::string tail = "</div>\"}}";
    const std::size_t fill = target > head.size() + tail.size() + 40 ? target - head.size() - tail.size() : 40;
    r.body = head + detail::prose(d, fill) + tail;
    return r;
}

// The same resource changed the way a clinician's edit would: a sentence added to its narrative.
inline std::string changed_body(std::uint64_t n) {
    std::string body = resource(n).body;
    body.insert(body.rfind("</div>"), " Reviewed again and amended.");
    return body;
}

}  // namespace edgesync::bench
