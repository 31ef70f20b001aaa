# A CPython workload of some seconds (recursion, dicts, JSON, regular
# expressions) for bench/startup-large.sh: lazy compilation against eager
# on a long-running program, where the compile time is paid once.
import json, re
def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)
t = 0
for i in range(30):
    t += fib(22)
d = {}
for i in range(400000):
    d[str(i)] = [i, i * 2, "x" * (i % 7)]
s = json.dumps(d)
t += len(json.loads(s))
pat = re.compile(r"(\d+)-(\w+)")
for i in range(300000):
    m = pat.match(f"{i}-abc{i}")
    t += len(m.group(2))
print(t)
