-- A mixed Lua workload: calls, tables, strings, closures, metatables and
-- floating point. Prints one checksum line per part. The argument scales the
-- work (default 10).
local scale = tonumber(arg and arg[1]) or 10

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end

local function lcg(seed)
  local s = seed
  return function()
    s = (s * 6364136223846793005 + 1442695040888963407)
    return (s >> 33)
  end
end

local function part_calls()
  local sum = 0
  for i = 1, scale do sum = sum + fib(22 + i % 3) end
  return sum
end

local function part_sort()
  local rnd = lcg(12345)
  local h = 0
  for round = 1, scale do
    local t = {}
    for i = 1, 20000 do t[i] = rnd() % 1000000 end
    table.sort(t)
    table.sort(t, function(a, b) return a > b end)
    for i = 1, #t, 101 do h = (h * 31 + t[i]) & 0xffffffffffff end
  end
  return h
end

local function part_strings()
  local words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
  local rnd = lcg(777)
  local h = 0
  for round = 1, scale do
    local parts = {}
    for i = 1, 4000 do
      parts[#parts + 1] = string.format("%s-%d:%s", words[rnd() % 8 + 1], i, words[i % 8 + 1])
    end
    local text = table.concat(parts, " ")
    local count = 0
    for w in text:gmatch("%a+") do count = count + #w end
    local replaced = text:gsub("(%a+)-(%d+)", "%2_%1")
    local up = replaced:upper()
    h = (h * 131 + count + #up + (up:find("THETA", 1, true) or 0)) & 0xffffffffffff
  end
  return h
end

local function part_words()
  local rnd = lcg(4242)
  local freq = {}
  for i = 1, 40000 * scale do
    local k = "w" .. (rnd() % 5000)
    freq[k] = (freq[k] or 0) + 1
  end
  local h = 0
  for i = 0, 4999 do h = (h * 33 + (freq["w" .. i] or 0)) & 0xffffffffffff end
  return h
end

local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
function Vec:scale(k) return Vec.new(self.x * k, self.y * k) end
function Vec:dot(o) return self.x * o.x + self.y * o.y end

local function part_objects()
  local acc = Vec.new(0, 0)
  local d = 0.0
  for i = 1, 30000 * scale do
    local v = Vec.new(i % 17, i % 23):scale(0.5)
    acc = acc + v
    d = d + acc:dot(v) * 1e-9
  end
  return string.format("%.6f %.1f %.1f", d, acc.x, acc.y)
end

local function part_mandel()
  local n = 20 * scale
  local inside = 0
  for py = 0, n - 1 do
    local ci = py * 2.0 / n - 1.0
    for px = 0, n - 1 do
      local cr = px * 2.5 / n - 2.0
      local zr, zi, k = 0.0, 0.0, 0
      while k < 200 and zr * zr + zi * zi < 4.0 do
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        k = k + 1
      end
      if k == 200 then inside = inside + 1 end
    end
  end
  return inside
end

local function part_closures()
  -- (No coroutines: without setjmp/longjmp, see nothrow.h, a yield cannot
  -- unwind the C stack.)
  local function counter(step)
    local n = 0
    return function() n = n + step; return n end
  end
  local s = 0
  for i = 1, 2000 * scale do
    local c = counter(i % 5 + 1)
    for _ = 1, 10 do s = s + c() end
  end
  return s
end

print("calls", part_calls())
print("sort", part_sort())
print("strings", part_strings())
print("words", part_words())
print("objects", part_objects())
print("mandel", part_mandel())
print("closures", part_closures())
