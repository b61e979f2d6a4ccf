-- wrk script: POST /v1/orders with unique order ids, one to three lines over the SKUs in
-- SKUS (set by scripts/bench-http), ship-to spread over the continental US. With
-- PROMISE=1, the same carts go to POST /v1/promise instead (every carrier service, nothing
-- reserved). Counts replies by status and prints them at the end.
local skus = {}
for sku in string.gmatch(os.getenv("SKUS") or "", "[^,]+") do skus[#skus + 1] = sku end
local token = os.getenv("TOKEN") or "demo-writer"
local promise = os.getenv("PROMISE") == "1"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("prefix", tostring(#threads + 1) .. "-" .. tostring(math.random(1, 1000000000)))
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  math.randomseed(os.time() + #prefix)
end

function request()
  counter = counter + 1
  local lines = {}
  for i = 1, math.random(1, 3) do
    lines[i] = string.format('{"id":"%d","sku":"%s","qty":%d}', i, skus[math.random(1, #skus)], math.random(1, 2))
  end
  local body = string.format(
    '{"id":"bench-%s-%d","ship_to":{"lat":%.4f,"lon":%.4f,"postal_code":"00000","country":"US"},"lines":[%s]}',
    prefix, counter, 30 + math.random() * 17, -120 + math.random() * 45, table.concat(lines, ","))
  if promise then
    body = string.format('{"ship_to":{"lat":%.4f,"lon":%.4f,"country":"US"},"lines":[%s]}',
      30 + math.random() * 17, -120 + math.random() * 45, table.concat(lines, ","))
  end
  return wrk.format("POST", promise and "/v1/promise" or "/v1/orders", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, count in pairs(s) do totals[status] = (totals[status] or 0) + count end
  end
  for status, count in pairs(totals) do io.write(string.format("status %d: %d\n", status, count)) end
  io.write(string.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
