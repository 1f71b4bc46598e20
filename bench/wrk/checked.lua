-- requests.lua plus a look at every response (slower: wrk then parses each body; used by the soak).
--   wrk -s bench/wrk/checked.lua URL -- REQUESTS_FILE EXPECTED_STATUSES   (e.g. "200,304" or "403")
-- Counts responses by status, counts statuses not in EXPECTED_STATUSES, and checks that every XML
-- response is a whole TwiML document (<?xml …?><Response…</Response> or <Response />); JSON and audio
-- bodies are only counted. The deep check (an XML parser on sampled bodies) is the soak's Python checker.

local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
dofile(here .. "requests.lua")

local base_init = init
local expected = {}
statuses = {}
unexpected = 0
bad_twiml = 0
twiml_checked = 0
bad_sample = ""

function init(args)
  base_init(args)
  for code in string.gmatch(args[2] or "", "%d+") do
    expected[tonumber(code)] = true
  end
end

local function is_twiml(body)
  if not string.find(body, '^<%?xml[^>]*%?>%s*<Response[%s/>]') then
    return false
  end
  return string.find(body, '</Response>%s*$') ~= nil or string.find(body, '^<%?xml[^>]*%?>%s*<Response%s*/>%s*$') ~= nil
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if not expected[status] then
    unexpected = unexpected + 1
    if bad_sample == "" then bad_sample = status .. " " .. string.sub(body or "", 1, 200) end
  end
  local kind = headers["Content-Type"] or headers["content-type"] or ""
  if status ~= 403 and string.find(kind, "xml", 1, true) then
    twiml_checked = twiml_checked + 1
    if not is_twiml(body or "") then
      bad_twiml = bad_twiml + 1
      if bad_sample == "" then bad_sample = "bad TwiML: " .. string.sub(body or "", 1, 200) end
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local all, extra_unexpected, extra_bad, extra_checked, sample = {}, 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      all[code] = (all[code] or 0) + count
    end
    extra_unexpected = extra_unexpected + thread:get("unexpected")
    extra_bad = extra_bad + thread:get("bad_twiml")
    extra_checked = extra_checked + thread:get("twiml_checked")
    if sample == "" then sample = thread:get("bad_sample") end
  end
  local parts = {}
  for code, count in pairs(all) do
    table.insert(parts, string.format('"%d":%d', code, count))
  end
  report(summary, latency, string.format(
    ',"statuses":{%s},"unexpected_status":%d,"twiml_checked":%d,"bad_twiml":%d,"bad_sample":%s',
    table.concat(parts, ","), extra_unexpected, extra_checked, extra_bad, json_string(sample)))
end
