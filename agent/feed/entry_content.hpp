// The content of an atomfeed entry: what changed and where to fetch it. openmrs-module-atomfeed
// writes a JSON object of named links ({"rest":"/ws/rest/v1/patient/<uuid>?v=full",
// "fhir":"/ws/fhir2/R4/Patient/<uuid>"}); Bahmni writes one relative URL
// ("/openmrs/ws/rest/v1/patient/<uuid>?v=full"). Both are accepted.
#pragma once

#include <boost/system/result.hpp>

#include <map>
#include <string>
#include <string_view>

namespace edgesync::feed {

struct entry_links {
    std::map<std::string, std::string> named;  // "rest" -> path, "fhir" -> path, ...
    std::string single;                        // the Bahmni style: one URL (named is empty)

    // The link to use for a client ("fhir", "rest"); a single URL serves any client.
    std::string_view link_for(std::string_view client) const;
};

// errc::bad_entry_content when the content is empty, a JSON value other than an object of
// strings, or text that is not a single URL or absolute path.
boost::system::result<entry_links> parse_entry_content(std::string_view content);

}  // namespace edgesync::feed
