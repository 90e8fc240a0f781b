// Boost.JSON is compiled exactly once, here (header-only mode, one translation unit); every other
// file includes <boost/json.hpp> and links this object. No Boost library is linked anywhere.
#include <boost/json/src.hpp>
