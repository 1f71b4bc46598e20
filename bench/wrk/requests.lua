-- Replays pre-built (pre-signed) requests from a file, round-robin, in each wrk thread.
--   wrk -s bench/wrk/requests.lua URL -- REQUESTS_FILE
-- REQUESTS_FILE: one request per line, tab-separated: METHOD, PATH, BODY (may be empty), then any number of
-- "Name: value" headers. The bench scripts write it (signatures are computed in Python, not here).
-- done() prints one line "BENCHJSON {...}" with the counts and latency percentiles in microseconds.

local requests = {}
local index = 0
threads = {}  -- global: checked.lua reads it

local function split(line, sep)
  local fields, start = {}, 1
  while true do
    local i = string.find(line, sep, start, true)
    if not i then
      table.insert(fields, string.sub(line, start))
      return fields
    end
    table.insert(fields, string.sub(line, start, i - 1))
    start = i + 1
  end
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the requests file")
  for line in file:lines() do
    if line ~= "" then
      local fields = split(line, "\t")
      local headers = {}
      for i = 4, #fields do
        local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
        headers[name] = value
      end
      local body = nil
      if fields[3] ~= "" then body = fields[3] end
      table.insert(requests, wrk.format(fields[1], fields[2], headers, body))
    end
  end
  file:close()
  assert(#requests > 0, "the requests file is empty")
  -- threads start at different places of the list, so each request kind is in flight all the time
  index = ((id or 1) * 7) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

-- Summary as one JSON line; `extra` (a string of ',"key":value' pairs) lets checked.lua add its counts.
function report(summary, latency, extra)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"status_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d,"mean_us":%.1f%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, extra or ""))
end

function done(summary, latency, requests)
  report(summary, latency)
end
