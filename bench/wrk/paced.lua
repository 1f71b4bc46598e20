-- requests.lua at a fixed rate: half-load latency (wrk -c32: connections are free, requests are paced).
--   wrk -s bench/wrk/paced.lua URL -- REQUESTS_FILE RATE_PER_THREAD
-- Each thread hands out send times RATE_PER_THREAD per second apart on an absolute schedule (LuaJIT ffi
-- clock_gettime), so the rate does not drift with latency; wrk times each request from its actual send.

local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
dofile(here .. "requests.lua")

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local now_spec = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, now_spec) -- CLOCK_MONOTONIC
  return tonumber(now_spec.tv_sec) * 1000 + tonumber(now_spec.tv_nsec) / 1e6
end

local base_init = init
local interval_ms, next_ms = 1, nil

function init(args)
  base_init(args)
  interval_ms = 1000 / assert(tonumber(args[2]), "RATE_PER_THREAD missing")
end

function delay()
  local now = now_ms()
  if next_ms == nil or next_ms < now - 100 then -- start, or far behind: no burst to catch up
    next_ms = now
  end
  next_ms = next_ms + interval_ms
  local wait = next_ms - now
  if wait < 0 then return 0 end
  return math.floor(wait)
end
