// Uses zen from C++ through the RAII wrapper in zen.hpp: a chat, its
// continuation, an asynchronous call through a std::future, and a cancelled
// call.
//
//   zen_cpp_example [CONFIG_JSON [MODEL]]
//
// Without CONFIG_JSON the engine reads the environment and .env; MODEL
// defaults to "auto". For example, against the stand-in provider:
//
//   zen_cpp_example '{"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:PORT/v1"}' o3
//
// Build: c++ -std=c++17 main.cpp $(pkg-config --cflags --libs zen) -pthread
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>

#include "zen.hpp"

namespace {

// Quotes `text` as a JSON string.
std::string quoted(const std::string &text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out + "\"";
}

// The string value of `"key":"..."` in a JSON text (enough for this example).
std::string field(const std::string &json, const std::string &key) {
    const std::string pattern = "\"" + key + "\":\"";
    auto start = json.find(pattern);
    if (start == std::string::npos) return "";
    start += pattern.size();
    std::string value;
    for (auto i = start; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\' && i + 1 < json.size()) {
            ++i;
            value += json[i] == 'n' ? '\n' : json[i] == 't' ? '\t' : json[i];
        } else {
            value += json[i];
        }
    }
    return value;
}

// The first line of an answer's content.
std::string headline(const std::string &json) {
    std::string content = field(json, "content");
    return content.substr(0, content.find('\n'));
}

std::string chat_args(const std::string &prompt, const std::string &model,
                      const std::string &continuation_id = "") {
    std::string args = "{\"prompt\": " + quoted(prompt) + ", \"model\": " + quoted(model) +
                       ", \"working_directory_absolute_path\": \"/tmp\"";
    if (!continuation_id.empty()) args += ", \"continuation_id\": " + quoted(continuation_id);
    return args + "}";
}

}  // namespace

int main(int argc, char **argv) {
    try {
        zen::Engine engine =
            argc > 1 ? zen::Engine(argv[1]) : zen::Engine::from_environment();
        const std::string model = argc > 2 ? argv[2] : "auto";
        std::cout << "zen " << zen_version() << "\n";

        // A blocking call, then its continuation.
        std::string first = engine.call("chat", chat_args("Name a prime number.", model));
        std::cout << "chat: " << headline(first) << "\n";
        const std::string id = field(first, "continuation_id");
        std::string second = engine.call("chat", chat_args("And another?", model, id));
        std::cout << "continued " << id << ": " << headline(second) << "\n";

        // An asynchronous call, awaited through a future.
        auto future = engine.call_future("chat", chat_args("Name a colour.", model));
        std::cout << "async: " << headline(future.get()) << "\n";

        // A call cancelled at once: its callback still runs, once.
        std::mutex lock;
        std::condition_variable cv;
        bool done = false;
        zen::Outcome outcome{ZEN_STATUS_OK, ""};
        {
            zen::Call call = engine.call_async(
                "chat", chat_args("Never mind.", model), [&](zen::Outcome o) {
                    std::lock_guard<std::mutex> guard(lock);
                    outcome = std::move(o);
                    done = true;
                    cv.notify_one();
                });
            call.cancel();
        }  // the handle is freed here; the callback is still owed
        std::unique_lock<std::mutex> guard(lock);
        cv.wait(guard, [&] { return done; });
        std::cout << "cancelled call: " << zen_status_str(outcome.status) << " ("
                  << outcome.json_or_message << ")\n";

        // Errors are exceptions with a status.
        try {
            engine.call("no-such-tool");
        } catch (const zen::Error &e) {
            std::cout << "error " << static_cast<int>(e.status()) << ": " << e.what() << "\n";
        }
        std::cout << "metrics: " << engine.metrics() << "\n";
        return 0;
    } catch (const zen::Error &e) {
        std::cerr << "zen_cpp_example: " << zen_status_str(e.status()) << ": " << e.what()
                  << "\n";
        return 1;
    }
}
