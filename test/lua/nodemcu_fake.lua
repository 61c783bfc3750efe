-- A fake NodeMCU (ESP32) firmware around device/dist/nodemcu.lua, for
-- test/src/device-lua-nodemcu.test.ts: the uart, console, tmr, gpio, file,
-- crypto and node modules as globals that record what the device does, and a
-- clock the test advances. The test drives it with one command a line on
-- stdin and reads the answers on stdout, each command ending with "ok":
--
--   put NAME HEX       a file in the fake flash (before boot)
--   boot               loads the bundle (init.lua would)
--   rx UART HEX        bytes arrive on a uart (0: the console)
--   adv MS             the clock advances MS ms, firing due timers
--   tx UART            prints "tx HEX" of what the device wrote to the uart since the last tx
--   gpio               prints "gpio PIN=LEVEL ..."
--   status             prints "port a|b bytesIn droppedBytes relayed frames"
--   log                prints the device's log ring, one "log LINE" each
--   file NAME          prints "file HEX" (or "file -")
--   restarts           prints "restarts N"
--
-- crypto.new_hmac(...):finalize() asks the test: it prints
-- "hmac? ALGO KEYHEX DATAHEX" and reads the hex digest back, so the HMAC is
-- Node's.

local bundle = arg[1]

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", string.byte(c)) end))
end
local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local now_us = 0
local timers = {}
local rx_handlers = {}
local tx_buffers = {}
local gpio_levels = {}
local files = {}
local restarts = 0
local console_handler = nil

uart = {
  PARITY_NONE = 0, STOPBITS_1 = 1,
  setup = function(id, baud, databits, parity, stopbits, pins) return baud end,
  start = function(id) return true end,
  on = function(id, method, n, fn, run_input)
    assert(method == "data")
    if id == 0 then assert(run_input == 0, "console uart must not run input") end
    rx_handlers[id] = fn
  end,
  write = function(id, s) tx_buffers[id] = (tx_buffers[id] or "") .. s end,
}

console = {
  NONINTERACTIVE = 1, INTERACTIVE = 0, current_mode = 0,
  mode = function(m) console.current_mode = m end,
  on = function(method, n, fn) assert(method == "data"); console_handler = fn end,
  write = function(s) tx_buffers[0] = (tx_buffers[0] or "") .. s end,
}

local timer_mt = {}
timer_mt.__index = timer_mt
function timer_mt:alarm(ms, mode, fn)
  self.ms, self.mode, self.fn, self.due, self.running = ms, mode, fn, now_us / 1000 + ms, true
  return true
end
function timer_mt:stop() self.running = false end
function timer_mt:start() self.running = true; self.due = now_us / 1000 + self.ms end
function timer_mt:unregister() self.running = false end

tmr = {
  ALARM_SINGLE = 0, ALARM_AUTO = 1, ALARM_SEMI = 2,
  create = function()
    local t = setmetatable({ running = false }, timer_mt)
    table.insert(timers, t)
    return t
  end,
}

gpio = {
  OUT = 1, IN = 0,
  config = function(cfg)
    for _, pin in ipairs(cfg.gpio) do gpio_levels[pin] = 0 end
  end,
  write = function(pin, level) gpio_levels[pin] = level end,
}

file = {
  getcontents = function(name) return files[name] end,
  putcontents = function(name, s) files[name] = s; return true end,
  rename = function(a, b)
    if files[a] == nil or files[b] ~= nil then return false end
    files[b] = files[a]; files[a] = nil; return true
  end,
  remove = function(name) files[name] = nil end,
  exists = function(name) return files[name] ~= nil end,
}

crypto = {
  new_hmac = function(algo, key)
    local h = { data = "" }
    function h:update(s) self.data = self.data .. s end
    function h:finalize()
      io.write("hmac? ", algo, " ", hex(key), " ", hex(self.data), "\n")
      io.flush()
      return unhex(io.read("*l"))
    end
    return h
  end,
}

node = {
  restart = function() restarts = restarts + 1 end,
  uptime = function() return now_us end,
}

local function advance(ms)
  local target = now_us + ms * 1000
  while true do
    local next_t, next_due = nil, nil
    for _, t in ipairs(timers) do
      if t.running and t.due * 1000 <= target and (next_due == nil or t.due < next_due) then next_t, next_due = t, t.due end
    end
    if next_t == nil then break end
    now_us = math.max(now_us, math.floor(next_due * 1000))
    if next_t.mode == tmr.ALARM_AUTO then next_t.due = next_t.due + next_t.ms else next_t.running = false end
    next_t.fn(next_t)
  end
  now_us = target
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do table.insert(ks, k) end
  table.sort(ks)
  return ks
end

for line in io.lines() do
  local cmd, a, b = line:match("^(%S+)%s*(%S*)%s*(%S*)")
  if cmd == "put" then
    files[a] = unhex(b)
  elseif cmd == "boot" then
    local ok, err = pcall(dofile, bundle)
    if not ok then io.write("error ", tostring(err):gsub("\n", " "), "\n") end
  elseif cmd == "rx" then
    local id = tonumber(a)
    local fn = id == 0 and (console_handler or rx_handlers[0]) or rx_handlers[id]
    if fn == nil then io.write("error no handler on uart ", a, "\n") else fn(unhex(b)) end
  elseif cmd == "adv" then
    advance(tonumber(a))
  elseif cmd == "tx" then
    local id = tonumber(a)
    io.write("tx ", hex(tx_buffers[id] or ""), "\n")
    tx_buffers[id] = ""
  elseif cmd == "gpio" then
    local parts = {}
    for _, pin in ipairs(sorted_keys(gpio_levels)) do table.insert(parts, pin .. "=" .. gpio_levels[pin]) end
    io.write("gpio ", table.concat(parts, " "), "\n")
  elseif cmd == "status" then
    local st = lubdub_device.device:status()
    for _, p in ipairs(st.ports) do
      io.write("port ", p.port, " ", p.bytesIn, " ", p.droppedBytes, " ", p.relayed, " ", p.frames, "\n")
    end
    io.write("coreErrors ", lubdub_device.errors, "\n")
    io.write("console_mode ", console.current_mode, "\n")
  elseif cmd == "log" then
    for _, l in ipairs(lubdub_log or {}) do io.write("log ", (l:gsub("\n", " ")), "\n") end
  elseif cmd == "file" then
    io.write("file ", files[a] and hex(files[a]) or "-", "\n")
  elseif cmd == "restarts" then
    io.write("restarts ", restarts, "\n")
  else
    io.write("error unknown command ", line, "\n")
  end
  io.write("ok\n")
  io.flush()
end
