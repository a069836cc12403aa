-- wrk script for bench/submit_e2e.py: POST each pre-signed body once, in file order.
--
-- usage: wrk -t1 -cN -dS -s bench/wrk_bodies.lua URL -- BODIES_FILE [repeat]
-- BODIES_FILE holds one JSON body per line. With `repeat` (the no-op server's
-- load) its first body is sent again and again. Else a body is never sent twice: once
-- they are used up, the thread stops and `done` reports `exhausted`, and the
-- harness refuses the run (it must be given more bodies than the server can
-- take in S seconds). `done` prints one JSON line with the counts, the status
-- codes seen, and latency percentiles in microseconds.

-- globals, not locals: `done` reads them from each thread with thread:get
bodies = {}
repeat_first = false
next_body = 1
statuses = {}
exhausted = 0
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then
         bodies[#bodies + 1] = line
      end
   end
   repeat_first = args[2] == "repeat"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   if repeat_first then
      next_body = next_body + 1
      return wrk.format(nil, nil, nil, bodies[1])
   end
   local body = bodies[next_body]
   if body == nil then
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", "/health/live")
   end
   next_body = next_body + 1
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   local sent, ran_out = 0, 0
   for _, thread in ipairs(threads) do
      sent = sent + (thread:get("next_body") - 1)
      ran_out = ran_out + thread:get("exhausted")
      for status, count in pairs(thread:get("statuses")) do
         counts[#counts + 1] = string.format('"%d": %d', status, count)
      end
   end
   io.write(string.format(
      '{"completed": %d, "sent": %d, "duration_us": %d, "socket_errors": %d, '
      .. '"exhausted": %d, "statuses": {%s}, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, sent, summary.duration,
      summary.errors.connect + summary.errors.read + summary.errors.write
         + summary.errors.timeout,
      ran_out, table.concat(counts, ", "),
      latency:percentile(50), latency:percentile(99), latency.max))
end
