# A pure-Python workload for CPython (python.wasm): function calls, integer
# and float arithmetic, lists, dicts, strings and classes. It is passed to the
# interpreter with -c, so it needs no preopened directory. Prints checksums.
import sys

SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def lcg(seed):
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        yield seed >> 33


def part_calls():
    return sum(fib(18 + i % 3) for i in range(SCALE))


def part_sort():
    g = lcg(1)
    h = 0
    for _ in range(SCALE):
        xs = [next(g) % 1000000 for _ in range(20000)]
        xs.sort()
        ys = sorted(xs, key=lambda v: (v % 1000, v))
        h = (h * 31 + sum(xs[::101]) + ys[17]) & 0xFFFFFFFFFFFF
    return h


def part_dict():
    g = lcg(2)
    freq = {}
    for _ in range(30000 * SCALE):
        k = "w%d" % (next(g) % 5000)
        freq[k] = freq.get(k, 0) + 1
    h = 0
    for i in range(5000):
        h = (h * 33 + freq.get("w%d" % i, 0)) & 0xFFFFFFFFFFFF
    return h


def part_strings():
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    h = 0
    for r in range(SCALE):
        text = " ".join("%s-%d:%s" % (words[(i * 7 + r) % 8], i, words[i % 8]) for i in range(4000))
        parts = text.split()
        up = text.upper().replace("ALPHA", "a")
        h = (h * 131 + len(parts) + len(up) + up.find("THETA") + sum(map(len, parts))) & 0xFFFFFFFFFFFF
    return h


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y)

    def scale(self, k):
        return Vec(self.x * k, self.y * k)

    def dot(self, o):
        return self.x * o.x + self.y * o.y


def part_objects():
    acc = Vec(0.0, 0.0)
    d = 0.0
    for i in range(20000 * SCALE):
        v = Vec(i % 17, i % 23).scale(0.5)
        acc = acc + v
        d += acc.dot(v) * 1e-9
    return "%.6f %.1f %.1f" % (d, acc.x, acc.y)


def part_nbody():
    bodies = [[0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 39.47], [4.84, -1.16, -0.10, 0.60, 2.81, -0.02, 0.037],
              [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011], [12.89, -15.11, -0.22, 1.08, 0.86, -0.01, 0.0017]]
    for _ in range(2000 * SCALE):
        for i in range(4):
            bi = bodies[i]
            for j in range(i + 1, 4):
                bj = bodies[j]
                dx, dy, dz = bi[0] - bj[0], bi[1] - bj[1], bi[2] - bj[2]
                d2 = dx * dx + dy * dy + dz * dz
                mag = 0.01 / (d2 * d2 ** 0.5)
                bi[3] -= dx * bj[6] * mag
                bi[4] -= dy * bj[6] * mag
                bi[5] -= dz * bj[6] * mag
                bj[3] += dx * bi[6] * mag
                bj[4] += dy * bi[6] * mag
                bj[5] += dz * bi[6] * mag
        for b in bodies:
            b[0] += 0.01 * b[3]
            b[1] += 0.01 * b[4]
            b[2] += 0.01 * b[5]
    return "%.9f" % sum(b[0] + b[1] + b[2] for b in bodies)


print("calls", part_calls())
print("sort", part_sort())
print("dict", part_dict())
print("strings", part_strings())
print("objects", part_objects())
print("nbody", part_nbody())
