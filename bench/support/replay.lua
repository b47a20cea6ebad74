-- wrk script: replay pre-generated raw HTTP requests, each exactly once, then stop.
--
-- Usage: wrk -t T -c C -d <upper bound> -s replay.lua URL -- <requests file> <T>
-- The file holds records "<10-digit length>\n<raw request bytes>". Thread k of T replays records
-- k, k+T, k+2T, ... in order. A connection whose thread has nothing left to send is parked by
-- delay() (so nothing extra is sent), and the thread stops itself once every one of its requests
-- has been answered, printing "WRK_THREAD_DONE" so the driver can interrupt wrk's main thread
-- (which otherwise sleeps for all of -d; -d is only a safety bound). Latency is wrk's own (write ->
-- full response); the run's duration is measured here, from a thread's first request to the last
-- answer of any thread, with CLOCK_MONOTONIC, so the final SIGINT does not count.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

-- Globals (not locals) so done() can read them through thread:get().
tid = tid or 0
total, sent, answered, ok2xx, other, extra, closed = 0, 0, 0, 0, 0, 0, 0
first_us, last_us = 0, 0
local reqs = {}
local PARK_MS = 24 * 3600 * 1000
-- wrk calls request() once on thread 0 before the run, only to check that it returns valid HTTP.
local verify_pending = false
-- Sent instead of a replayed request if a connection must send while its thread has nothing left
-- (the server closed a parked connection and wrk reconnected): answered 404 by both targets.
local PARKED = "GET /bench-parked HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  local f = assert(io.open(path, "rb"))
  local i = 0
  while true do
    local head = f:read(11)
    if head == nil or #head < 11 then break end
    local len = tonumber(string.sub(head, 1, 10))
    if i % nthreads == tid then
      total = total + 1
      reqs[total] = f:read(len)
    else
      f:seek("cur", len)
    end
    i = i + 1
  end
  f:close()
  verify_pending = (tid == 0)
end

function delay()
  if sent >= total then return PARK_MS end
  return 0
end

function request()
  if verify_pending then
    verify_pending = false
    return reqs[1]
  end
  if sent >= total then
    -- The first request of a (re)connected socket is not preceded by delay(): see PARKED.
    extra = extra + 1
    return PARKED
  end
  sent = sent + 1
  if sent == 1 then first_us = now_us() end
  return reqs[sent]
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 200 and status < 300 then ok2xx = ok2xx + 1 else other = other + 1 end
  -- A server that closes connections makes wrk reconnect: worth knowing when reading latencies.
  local connection = headers["Connection"] or headers["connection"]
  if connection and string.lower(connection) == "close" then closed = closed + 1 end
  if answered >= total + extra then
    last_us = now_us()
    io.write("WRK_THREAD_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t_total, t_sent, t_answered, t_ok, t_other, t_extra, t_closed = 0, 0, 0, 0, 0, 0, 0
  local t_first, t_last = nil, 0
  for _, t in ipairs(threads) do
    t_total = t_total + t:get("total")
    t_sent = t_sent + t:get("sent")
    t_answered = t_answered + t:get("answered")
    t_ok = t_ok + t:get("ok2xx")
    t_other = t_other + t:get("other")
    t_extra = t_extra + t:get("extra")
    t_closed = t_closed + t:get("closed")
    local f, l = t:get("first_us"), t:get("last_us")
    if f > 0 and (t_first == nil or f < t_first) then t_first = f end
    if l > t_last then t_last = l end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"duration_us":%d,"measured_us":%d,"requests":%d,"bytes":%d,"loaded":%d,"sent":%d,"extra":%d,"closed":%d,"answered":%d,' ..
    '"ok2xx":%d,"non2xx":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,' ..
    '"err_timeout":%d,"lat_min_us":%d,"lat_mean_us":%.1f,"lat_max_us":%d,"lat_p50_us":%d,' ..
    '"lat_p90_us":%d,"lat_p99_us":%d,"lat_p999_us":%d}\n',
    summary.duration, (t_first and t_last > 0) and (t_last - t_first) or -1, summary.requests, summary.bytes, t_total, t_sent, t_extra, t_closed, t_answered, t_ok, t_other,
    e.connect, e.read, e.write, e.status, e.timeout, latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
