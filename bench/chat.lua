-- wrk script of the Conduix benchmark: POSTs one chat completion request and counts
-- the 200 responses (the usage rows the gateway must have written).
--
-- Environment:
--   BENCH_BODY_FILE  the JSON request body
--   BENCH_KEY        sent as "Authorization: Bearer ..." when set (mod_conduix)
--   BENCH_TAIL_AFTER seconds; after that much time every request becomes a GET of
--                    /bench-tail (404, no usage row) so that the requests wrk still
--                    has in flight when it stops are not chat requests: then the
--                    200s wrk counted are exactly the chat requests that were served.
-- done() prints one line "BENCH_JSON {...}" that bench/run parses.

local f = assert(io.open(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
end

local threads = {}
function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    ok, other = 0, 0
    chat_req = wrk.format()
    tail_req = wrk.format("GET", "/bench-tail", {}, nil)
    tail_after = tonumber(os.getenv("BENCH_TAIL_AFTER") or "")
    started = os.time()
end

local tail_mode = tonumber(os.getenv("BENCH_TAIL_AFTER") or "") ~= nil
if tail_mode then
    function request()
        if os.time() - started >= tail_after then
            return tail_req
        end
        return chat_req
    end
end

function response(status, headers, body)
    if status == 200 then
        ok = ok + 1
    elseif not (tail_mode and status == 404) then
        other = other + 1
    end
end

function done(summary, latency, requests)
    local ok_total, other_total = 0, 0
    for _, t in ipairs(threads) do
        ok_total = ok_total + t:get("ok")
        other_total = other_total + t:get("other")
    end
    local e = summary.errors
    io.write(string.format(
        'BENCH_JSON {"duration_us":%d,"requests":%d,"ok":%d,"non200":%d,' ..
        '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
        '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
        summary.duration, summary.requests, ok_total, other_total,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency.mean, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max))
end
