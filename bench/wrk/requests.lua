-- bench/wrk/requests.lua — the requests of make bench's figures, for
-- `wrk -s bench/wrk/requests.lua URL`. Every request is built in init()
-- (wrk's advice: building one per call costs the load generator) and
-- request() draws one at random.
--
-- Environment:
--   BENCH_PROFILE   which figure (below)
--   BENCH_CASES     the seed's cases.txt: "A|B case_id family_id child_id" lines
--   BENCH_KEY_A/B   the caseworker keys of authorities A and B
--   BENCH_AUTH_A/B  the two authorities' ids
--   BENCH_HOT       how many cases the candidates profile draws from (64)
--
-- Profiles (each request uses the key of the authority its object belongs to):
--   healthz       GET /healthz (the gateway alone: no key, no bus, no database)
--   case          GET /v1/cases/{id}, any seeded case
--   family        GET /v1/families/{id}, any seeded family
--   list          GET /v1/cases?pageSize=50 (the first page, either authority)
--   create        POST /v1/cases for any seeded family's child
--   candidates    POST /v1/cases/{id}/candidates {"limit":10}, one of the first BENCH_HOT cases
--   mix           35% case, 35% family, 20% list, 10% create
--   floor-select  GET /items/{id} of the floor (bench/floor/http.c), any seeded case's id
--   floor-insert  POST /items of the floor, a case's body
--   floor-mix     90% floor-select, 10% floor-insert
--
-- done() prints one line for scripts/bench:
--   BENCH rps=… p50_us=… p99_us=… requests=… http_errors=… socket_errors=…
--   (http_errors: answers with a status of 400 or more)

local profile = os.getenv("BENCH_PROFILE") or "case"
local thread_seq = 0

function setup(thread)
   thread_seq = thread_seq + 1
   thread:set("thread_seed", thread_seq * 7919 + os.time())
end

local function read_cases()
   local path = os.getenv("BENCH_CASES")
   local f = assert(io.open(path, "r"), "cannot read BENCH_CASES " .. tostring(path))
   local rows = {}
   for line in f:lines() do
      local side, case_id, family_id, child_id = line:match("^(%u) (%S+) (%S+) (%S+)$")
      if side then
         rows[#rows + 1] = {side = side, case_id = case_id, family_id = family_id, child_id = child_id}
      end
   end
   f:close()
   assert(#rows > 0, "no cases in " .. path)
   return rows
end

local function headers(side, body)
   local h = {["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY_" .. side)}
   if body then h["Content-Type"] = "application/json" end
   return h
end

local function case_body(row)
   return string.format(
      '{"authorityId":"%s","familyId":"%s","childId":"%s","source":"school","needs":["information","advice"],' ..
      '"wantsSupporter":false,"summary":"Parent asks how to request an EHC needs assessment.",' ..
      '"consent":{"shareWithAgencies":true,"lawfulBasis":"public_task","givenBy":"the parent"}}',
      os.getenv("BENCH_AUTH_" .. row.side), row.family_id, row.child_id)
end

-- Each builder returns the list of ready requests of one kind.
local build = {}
function build.healthz()
   return {wrk.format("GET", "/healthz", {})}
end
function build.case(rows)
   local out = {}
   for i, r in ipairs(rows) do out[i] = wrk.format("GET", "/v1/cases/" .. r.case_id, headers(r.side)) end
   return out
end
function build.family(rows)
   local out = {}
   for i, r in ipairs(rows) do out[i] = wrk.format("GET", "/v1/families/" .. r.family_id, headers(r.side)) end
   return out
end
function build.list()
   return {wrk.format("GET", "/v1/cases?pageSize=50", headers("A")),
           wrk.format("GET", "/v1/cases?pageSize=50", headers("B"))}
end
function build.create(rows)
   local out = {}
   for i, r in ipairs(rows) do
      local body = case_body(r)
      out[i] = wrk.format("POST", "/v1/cases", headers(r.side, body), body)
   end
   return out
end
function build.candidates(rows)
   local out, hot = {}, tonumber(os.getenv("BENCH_HOT") or "64")
   for i = 1, math.min(hot, #rows) do
      local r, body = rows[i], '{"limit":10}'
      out[i] = wrk.format("POST", "/v1/cases/" .. r.case_id .. "/candidates", headers(r.side, body), body)
   end
   return out
end
function build.floor_select(rows)
   local out = {}
   for i, r in ipairs(rows) do out[i] = wrk.format("GET", "/items/" .. r.case_id, {}) end
   return out
end
function build.floor_insert(rows)
   local out = {}
   for i, r in ipairs(rows) do
      local body = case_body(r)
      out[i] = wrk.format("POST", "/items", {["Content-Type"] = "application/json"}, body)
   end
   return out
end

-- A profile: {share, kind} pairs, the shares adding up to 1.
local profiles = {
   healthz = {{1, "healthz"}},
   case = {{1, "case"}},
   family = {{1, "family"}},
   list = {{1, "list"}},
   create = {{1, "create"}},
   candidates = {{1, "candidates"}},
   mix = {{0.35, "case"}, {0.35, "family"}, {0.20, "list"}, {0.10, "create"}},
   ["floor-select"] = {{1, "floor_select"}},
   ["floor-insert"] = {{1, "floor_insert"}},
   ["floor-mix"] = {{0.9, "floor_select"}, {0.1, "floor_insert"}},
}

local mix, pools = nil, {}

function init(args)
   math.randomseed(thread_seed or os.time())
   mix = assert(profiles[profile], "unknown BENCH_PROFILE " .. profile)
   local rows = read_cases()
   for _, part in ipairs(mix) do
      pools[part[2]] = pools[part[2]] or build[part[2]](rows)
   end
end

function request()
   local x, kind = math.random(), nil
   for _, part in ipairs(mix) do
      kind = part[2]
      x = x - part[1]
      if x < 0 then break end
   end
   local pool = pools[kind]
   return pool[math.random(#pool)]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d http_errors=%d socket_errors=%d\n",
      summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
      summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
