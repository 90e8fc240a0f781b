// Asio and Beast are compiled exactly once, here (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION are defined for every target through edgesync_options).
// Everything else includes the headers only, which keeps the 2-core build fast.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
