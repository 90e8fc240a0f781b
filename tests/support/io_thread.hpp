// An io_context run on a thread of its own for the length of a test: a parent double, a fault
// proxy. The caller owns the io_context and everything on it, which must outlive this object;
// stop() (or the destructor, a failed REQUIRE included) stops the context and joins the thread
// before any of it goes.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <future>
#include <thread>

namespace edgesync::test {

class io_thread {
public:
    explicit io_thread(boost::asio::io_context& ioc) : ioc_(ioc), work_(boost::asio::make_work_guard(ioc)), thread_([this] { ioc_.run(); }) {}
    ~io_thread() { stop(); }
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;

    void stop() {
        ioc_.stop();
        if (thread_.joinable()) thread_.join();
    }
    // Runs `f` on the context's thread and waits until it has run (what lives there is touched
    // only there).
    void run_there(const std::function<void()>& f) {
        std::promise<void> done;
        boost::asio::post(ioc_, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

private:
    boost::asio::io_context& ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
};

}  // namespace edgesync::test
