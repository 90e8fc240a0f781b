#include "store/data_dir.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace edgesync;

TEST_CASE("the data directory is created private and locked for one process", "[store]") {
    test::temp_dir tmp;
    const std::string dir = tmp.file("a/b/data");
    boost::system::error_code ec;
    std::string what;
    auto lock = store::claim_data_dir(dir, ec, what);
    REQUIRE_FALSE(ec);
    REQUIRE(lock.held());
    struct stat st {};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    // A second claim (a second node on the same store) is refused while the first holds it.
    auto second = store::claim_data_dir(dir, ec, what);
    CHECK_FALSE(second.held());
    CHECK(ec);
    CHECK_THAT(what, Catch::Matchers::Contains("in use by another edgesync process"));

    lock = store::data_dir_lock{};  // release
    auto third = store::claim_data_dir(dir, ec, what);
    CHECK(third.held());
}

TEST_CASE("an unusable data directory is a clear error", "[store]") {
    test::temp_dir tmp;
    tmp.write("file", "x");
    boost::system::error_code ec;
    std::string what;
    auto lock = store::claim_data_dir(tmp.file("file/data"), ec, what);
    CHECK_FALSE(lock.held());
    CHECK(ec);
    CHECK_THAT(what, Catch::Matchers::Contains("create"));
}
