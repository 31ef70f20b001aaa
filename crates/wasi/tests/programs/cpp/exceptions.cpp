// A C++ program whose exceptions compile to WebAssembly exception handling
// (try_table, throw, exnref): a small expression evaluator that reports
// errors by throwing. Built by build.sh; the test compares Hayate's output
// with the expected text and, when it is available, with Wasmtime 49's.
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct EvalError : std::runtime_error {
    size_t at;
    EvalError(const std::string &what, size_t at) : std::runtime_error(what), at(at) {}
};
struct DivideByZero : EvalError {
    explicit DivideByZero(size_t at) : EvalError("division by zero", at) {}
};

static int live_guards = 0;
// Counts scopes unwound by exceptions: destructors must run.
struct Guard {
    Guard() { live_guards++; }
    ~Guard() { live_guards--; }
};

class Parser {
    const std::string &s;
    size_t i = 0;
    std::map<std::string, long> &vars;

    void skip() { while (i < s.size() && s[i] == ' ') i++; }
    long number() {
        Guard g;
        skip();
        if (i >= s.size()) throw EvalError("unexpected end", i);
        if (s[i] == '(') {
            i++;
            long v = expr();
            skip();
            if (i >= s.size() || s[i] != ')') throw EvalError("missing )", i);
            i++;
            return v;
        }
        if (isalpha((unsigned char)s[i])) {
            std::string name;
            while (i < s.size() && isalpha((unsigned char)s[i])) name += s[i++];
            auto it = vars.find(name);
            if (it == vars.end()) throw std::out_of_range("unknown variable " + name);
            return it->second;
        }
        if (!isdigit((unsigned char)s[i])) throw EvalError(std::string("unexpected '") + s[i] + "'", i);
        long v = 0;
        while (i < s.size() && isdigit((unsigned char)s[i])) v = v * 10 + (s[i++] - '0');
        return v;
    }
    long term() {
        Guard g;
        long v = number();
        for (;;) {
            skip();
            if (i < s.size() && (s[i] == '*' || s[i] == '/')) {
                char op = s[i++];
                size_t at = i;
                long r = number();
                if (op == '/') {
                    if (r == 0) throw DivideByZero(at);
                    v /= r;
                } else {
                    v *= r;
                }
            } else {
                return v;
            }
        }
    }
    long expr() {
        Guard g;
        long v = term();
        for (;;) {
            skip();
            if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
                char op = s[i++];
                long r = term();
                v = op == '+' ? v + r : v - r;
            } else {
                return v;
            }
        }
    }

public:
    Parser(const std::string &s, std::map<std::string, long> &vars) : s(s), vars(vars) {}
    long parse() {
        long v = expr();
        skip();
        if (i != s.size()) throw EvalError("trailing input", i);
        return v;
    }
};

static long eval_or_rethrow(const std::string &line, std::map<std::string, long> &vars) {
    try {
        return Parser(line, vars).parse();
    } catch (const DivideByZero &) {
        // Rethrown unchanged: the caller sees a DivideByZero.
        throw;
    }
}

int main() {
    std::map<std::string, long> vars = {{"x", 6}, {"y", 7}};
    std::vector<std::string> lines = {
        "1 + 2 * 3",   "(1 + 2) * 3", "x * y",   "10 / (5 - 5)", "2 * (3 + 4",
        "z + 1",       "4 $ 4",       "",        "100 / 7 / 2",  "((((9))))",
    };
    long sum = 0;
    int errors = 0;
    for (const auto &line : lines) {
        try {
            long v = eval_or_rethrow(line, vars);
            std::printf("%-14s = %ld\n", line.c_str(), v);
            sum += v;
        } catch (const DivideByZero &e) {
            std::printf("%-14s : %s (at %zu)\n", line.c_str(), e.what(), e.at);
            errors++;
        } catch (const EvalError &e) {
            std::printf("%-14s : error: %s (at %zu)\n", line.c_str(), e.what(), e.at);
            errors++;
        } catch (const std::exception &e) {
            std::printf("%-14s : %s\n", line.c_str(), e.what());
            errors++;
        }
    }
    // A throw caught many times in a loop, and one of a non-class type.
    long caught = 0;
    for (int i = 0; i < 100000; i++) {
        try {
            if (i % 7 == 0) throw i;
            caught += 1;
        } catch (int v) {
            caught += v % 3;
        }
    }
    try {
        throw std::make_unique<int>(5);
    } catch (std::unique_ptr<int> &p) {
        std::printf("unique_ptr %d\n", *p);
    } catch (...) {
        std::printf("unexpected\n");
    }
    std::printf("sum %ld, errors %d, caught %ld, live guards %d\n", sum, errors, caught, live_guards);
    return live_guards == 0 ? 0 : 1;
}
