// A small RAII wrapper over zen's C API (zen.h), for C++17.
//
//   zen::Engine engine(R"({"GEMINI_API_KEY": "..."})");   // or zen::Engine::from_environment()
//   std::string answer = engine.call("chat", R"({"prompt": "...", ...})");
//   std::future<std::string> later = engine.call_future("chat", args);
//
// Failures throw zen::Error, which carries the zen_status and the message of
// zen_last_error_message(). Handles and strings are freed by destructors.
// Header-only; link with $(pkg-config --libs zen).
#ifndef ZEN_HPP
#define ZEN_HPP

#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "zen.h"

namespace zen {

/// A failed zen call: its status and zen's message.
class Error : public std::runtime_error {
public:
    Error(zen_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}

    zen_status status() const noexcept { return status_; }

    /// The last error of the calling thread, for a call that returned `status`.
    static Error last(zen_status status) {
        size_t needed = 0;
        std::string message;
        if (zen_last_error_message(nullptr, 0, &needed) == ZEN_STATUS_BUFFER_TOO_SMALL) {
            message.resize(needed);
            if (zen_last_error_message(&message[0], needed, nullptr) == ZEN_STATUS_OK) {
                message.resize(needed - 1);  // drop the NUL
            } else {
                message.clear();
            }
        }
        if (message.empty()) message = zen_status_str(status);
        return Error(status, message);
    }

private:
    zen_status status_;
};

namespace detail {

inline void check(zen_status status) {
    if (status != ZEN_STATUS_OK) throw Error::last(status);
}

/// Takes ownership of a string zen returned, and copies it.
inline std::string take(char *owned) {
    std::unique_ptr<char, void (*)(char *)> guard(owned, zen_string_free);
    return std::string(owned);
}

struct EngineDeleter {
    void operator()(zen_engine *engine) const noexcept { zen_engine_free(engine); }
};

struct CallDeleter {
    void operator()(zen_call *call) const noexcept { zen_call_free(call); }
};

}  // namespace detail

/// What an asynchronous call delivers: the status, and the answer (on
/// ZEN_STATUS_OK) or the error message.
struct Outcome {
    zen_status status;
    std::string json_or_message;

    bool ok() const noexcept { return status == ZEN_STATUS_OK; }
};

/// An asynchronous call in flight. Destroying it does not cancel the call:
/// its callback still runs, once.
class Call {
public:
    explicit Call(zen_call *call) : call_(call) {}

    /// Stops the call if it is still running; its callback then reports
    /// ZEN_STATUS_CANCELLED.
    void cancel() const { detail::check(zen_call_cancel(call_.get())); }

private:
    std::unique_ptr<zen_call, detail::CallDeleter> call_;
};

/// A zen engine. Movable, not copyable; usable from many threads at once.
class Engine {
public:
    /// An engine configured by a JSON object of settings (the environment
    /// variable names zen reads), and nothing else.
    explicit Engine(const std::string &config_json) : engine_(make(config_json.c_str())) {}

    /// An engine configured by the environment and a .env file.
    static Engine from_environment() { return Engine(make(nullptr)); }

    /// The enabled tools, as a JSON array.
    std::string tools() const { return text(zen_engine_list_tools); }
    /// The usable models, as a JSON array.
    std::string models() const { return text(zen_engine_list_models); }
    /// The engine's figures, as a JSON object.
    std::string metrics() const { return text(zen_engine_metrics); }

    /// Calls a tool and waits for its answer (a JSON object).
    std::string call(const std::string &tool, const std::string &args_json = "{}") const {
        char *out = nullptr;
        detail::check(zen_engine_call_tool(engine_.get(), tool.c_str(), args_json.c_str(), &out));
        return detail::take(out);
    }

    /// Starts a tool call; `done` runs once, on one of zen's worker threads,
    /// with the outcome. `done` must not throw (an exception is swallowed).
    Call call_async(const std::string &tool, const std::string &args_json,
                    std::function<void(Outcome)> done) const {
        auto box = std::make_unique<std::function<void(Outcome)>>(std::move(done));
        zen_call *call = nullptr;
        detail::check(zen_engine_call_tool_async(engine_.get(), tool.c_str(), args_json.c_str(),
                                                 &Engine::trampoline, box.get(), &call));
        box.release();  // the trampoline owns it now
        return Call(call);
    }

    /// Starts a tool call; the future holds the answer, or a zen::Error.
    std::future<std::string> call_future(const std::string &tool,
                                         const std::string &args_json) const {
        auto promise = std::make_shared<std::promise<std::string>>();
        std::future<std::string> future = promise->get_future();
        call_async(tool, args_json, [promise](Outcome outcome) {
            if (outcome.ok()) {
                promise->set_value(std::move(outcome.json_or_message));
            } else {
                promise->set_exception(
                    std::make_exception_ptr(Error(outcome.status, outcome.json_or_message)));
            }
        });  // the Call handle is dropped: the call goes on
        return future;
    }

    const zen_engine *get() const noexcept { return engine_.get(); }

private:
    explicit Engine(zen_engine *engine) : engine_(engine) {}

    static zen_engine *make(const char *config_json) {
        zen_engine *engine = nullptr;
        detail::check(zen_engine_new(config_json, &engine));
        return engine;
    }

    std::string text(zen_status (*list)(const zen_engine *, char **)) const {
        char *out = nullptr;
        detail::check(list(engine_.get(), &out));
        return detail::take(out);
    }

    static void trampoline(void *user_data, zen_status status, const char *output_json) noexcept {
        std::unique_ptr<std::function<void(Outcome)>> done(
            static_cast<std::function<void(Outcome)> *>(user_data));
        try {
            std::string text = status == ZEN_STATUS_OK ? std::string(output_json)
                                                       : Error::last(status).what();
            (*done)(Outcome{status, std::move(text)});
        } catch (...) {
            // Nothing may unwind into zen.
        }
    }

    std::unique_ptr<zen_engine, detail::EngineDeleter> engine_;
};

}  // namespace zen

#endif  // ZEN_HPP
