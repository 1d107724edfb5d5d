-- One request, described by the environment (scripts/bench.sh sets it):
-- WRK_METHOD, WRK_BODY, WRK_TYPE (Content-Type), WRK_AUTH (Authorization).
-- Prints one JSON line: requests, non-2xx/3xx answers, socket errors and
-- latency percentiles.
wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body and #body > 0 then wrk.body = body end
local auth = os.getenv("WRK_AUTH")
if auth and #auth > 0 then wrk.headers["Authorization"] = auth end
local ctype = os.getenv("WRK_TYPE")
if ctype and #ctype > 0 then wrk.headers["Content-Type"] = ctype end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"socket_errors":%d,"p50":%.3f,"p99":%.3f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
