// The embedded backend: the node's SQLite store is the system of record. Its feed is the store's
// own event log (what the publisher serves at /ws/atomfeed), read without HTTP; a pulled change is
// written together with its event, its agreed fingerprint and its feed marker in one transaction
// (store::apply_pulled), so a marker never passes unsaved data.
#pragma once

#include "agent/backend/backend.hpp"

#include <memory>

namespace edgesync::store {
class store;
}

namespace edgesync::backend {

struct embedded_params {
    std::string fhir_base = "/ws/fhir2/R4";
    std::string rest_base = "/ws/rest/v1";
    std::size_t feed_batch = 200;  // events read per store call
};

std::unique_ptr<local_backend> make_embedded_backend(store::store& st, embedded_params p);

}  // namespace edgesync::backend
