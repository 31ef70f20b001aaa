"""CPython 3.12 under Hayate's WASI: files in a preopened directory,
directory listings, and a tour of json, re, hashlib, datetime, random and
time. Everything printed is deterministic; tests/python.rs compares it with
expected.txt."""

import datetime
import hashlib
import json
import os
import random
import re
import sys
import time

WORK = "/work"

# Files: read what the host put there, write new ones, append, rename.
with open(f"{WORK}/input.json") as f:
    data = json.load(f)
print("input:", data["name"], sum(data["values"]))
with open(f"{WORK}/notes.txt", "w") as f:
    for i in range(3):
        f.write(f"line {i}\n")
with open(f"{WORK}/notes.txt", "a") as f:
    f.write("appended\n")
with open(f"{WORK}/notes.txt") as f:
    print("notes:", f.read().splitlines())
with open(f"{WORK}/blob.bin", "wb") as f:
    f.write(bytes(range(256)) * 4)
print("blob size:", os.path.getsize(f"{WORK}/blob.bin"))
with open(f"{WORK}/blob.bin", "rb") as f:
    f.seek(510)
    print("seek+read:", list(f.read(4)), "tell:", f.tell())
os.rename(f"{WORK}/blob.bin", f"{WORK}/blob2.bin")
print("renamed:", os.path.exists(f"{WORK}/blob.bin"), os.path.exists(f"{WORK}/blob2.bin"))

# Directories: make a tree, list it three ways, remove part of it.
os.makedirs(f"{WORK}/tree/a/b", exist_ok=True)
os.makedirs(f"{WORK}/tree/c", exist_ok=True)
for name in ["tree/a/one.txt", "tree/a/b/two.txt", "tree/c/three.txt", "tree/top.txt"]:
    with open(f"{WORK}/{name}", "w") as f:
        f.write(name)
print("listdir:", sorted(os.listdir(WORK)))
for root, dirs, files in sorted(os.walk(f"{WORK}/tree")):
    print("walk:", root, sorted(dirs), sorted(files))
with os.scandir(f"{WORK}/tree") as it:
    print("scandir:", sorted((e.name, e.is_dir(), e.is_file()) for e in it))
st = os.stat(f"{WORK}/tree/top.txt")
print("stat:", st.st_size, oct(st.st_mode & 0o170000))
os.remove(f"{WORK}/tree/c/three.txt")
os.rmdir(f"{WORK}/tree/c")
print("after rm:", sorted(os.listdir(f"{WORK}/tree")))
try:
    open("/etc/passwd")
except OSError as e:
    print("outside the sandbox:", type(e).__name__)
try:
    open(f"{WORK}/../escape.txt", "w")
except OSError as e:
    print("escape with ..:", type(e).__name__)

# json
doc = {"b": [1, 2.5, None, True], "a": {"nested": "ü"}, "n": 10**20}
text = json.dumps(doc, sort_keys=True, ensure_ascii=False)
print("json:", text)
print("json round trip:", json.loads(text) == doc)

# re
log = "2024-01-05 ERROR disk full; 2024-01-06 WARN cpu hot; 2024-01-07 ERROR fan"
print("re findall:", re.findall(r"(\d{4}-\d\d-\d\d) ERROR (\w+)", log))
print("re sub:", re.sub(r"\d", "#", "a1b22c333"))
m = re.match(r"(?P<user>\w+)@(?P<host>[\w.]+)", "alice@example.org")
print("re groups:", m.group("user"), m.group("host"))

# hashlib
print("sha256:", hashlib.sha256(b"hayate").hexdigest())
print("md5:", hashlib.md5(b"hayate").hexdigest())
h = hashlib.sha1()
with open(f"{WORK}/blob2.bin", "rb") as f:
    for chunk in iter(lambda: f.read(100), b""):
        h.update(chunk)
print("sha1 of file:", h.hexdigest())

# datetime
d = datetime.datetime(2024, 2, 28, 23, 30, tzinfo=datetime.timezone.utc)
print("datetime:", (d + datetime.timedelta(hours=1)).isoformat())
print("strftime:", d.strftime("%A %d %B %Y %H:%M"))
print("weekday:", datetime.date(2000, 1, 1).weekday(), datetime.date(2024, 12, 31).timetuple().tm_yday)
now = datetime.datetime.now()
print("now is sane:", 2023 < now.year < 2200)

# random (seeded: the same on every CPython 3.12)
rng = random.Random(12345)
print("random:", [rng.randint(1, 100) for _ in range(5)], round(rng.random(), 6))
items = list(range(10))
rng.shuffle(items)
print("shuffle:", items, "choice:", rng.choice("abcdef"))
print("os.urandom:", len(os.urandom(16)))

# time
t0 = time.monotonic()
time.sleep(0.02)
print("slept:", time.monotonic() - t0 >= 0.02)
print("time.time sane:", time.time() > 1.7e9)
print("perf_counter runs:", time.perf_counter() > 0)
print("process_time:", time.process_time() >= 0)
print("gmtime:", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(1234567890)))

# CPU work
print("sum of squares:", sum(i * i for i in range(100000)))
print("argv:", sys.argv[1:])
print("env:", os.environ.get("GREETING"))
