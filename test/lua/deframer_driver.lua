-- Runs lubdub's streaming deframer, as compiled for Lua 5.1, over stdin.
--
--   lua5.1 deframer_driver.lua [--bundle PATH] [--max-frame N]
--                              [--sizes FILE | --seed S --max-chunk M | SIZE...]
--
-- The input is cut into chunks of the given sizes (from the arguments or from
-- FILE, whitespace separated; bytes left over go in one last chunk), or of
-- pseudo-random sizes 1..M drawn from the Park-Miller generator seeded with S
-- (state = state * 16807 % 2147483647, size = 1 + state % M), or is pushed
-- whole. Each chunk goes through Deframer:push, then Deframer:end runs.
--
-- Output, one line each:
--   push I N                  chunk I (from 0) produced N events, listed next
--   end N                     end() produced N events, listed next
--   frame OFFSET BYTES HEX    a whole frame
--   drop REASON OFFSET BYTES DETAIL
--   stats bytesIn=.. frames=.. noiseBytes=.. droppedFrames=.. droppedBytes=.. truncated=.. oversize=.. malformed=.. incomplete=..
--   chunks N maxPending N

local dir = (arg[0] or ""):match("^(.*[/\\])") or "./"
local common = dofile(dir .. "common.lua")

local bundle, max_frame, sizes_file, seed, max_chunk = nil, nil, nil, nil, nil
local sizes = {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--bundle" then bundle = arg[i + 1]; i = i + 1
  elseif a == "--max-frame" then max_frame = tonumber(arg[i + 1]); i = i + 1
  elseif a == "--sizes" then sizes_file = arg[i + 1]; i = i + 1
  elseif a == "--seed" then seed = tonumber(arg[i + 1]); i = i + 1
  elseif a == "--max-chunk" then max_chunk = tonumber(arg[i + 1]); i = i + 1
  elseif tonumber(a) then sizes[#sizes + 1] = tonumber(a)
  else
    io.stderr:write("unknown argument: " .. a .. "\n")
    os.exit(2)
  end
  i = i + 1
end

if sizes_file then
  local text = common.read_file(sizes_file)
  if not text then
    io.stderr:write("cannot read " .. sizes_file .. "\n")
    os.exit(2)
  end
  for n in text:gmatch("%d+") do sizes[#sizes + 1] = tonumber(n) end
end

local P = common.load_protocol(bundle)
local input = common.read_stdin()

-- chunk boundaries
local chunks = {}
local pos = 1
if seed then
  if not max_chunk or max_chunk < 1 then
    io.stderr:write("--seed needs --max-chunk M (M >= 1)\n")
    os.exit(2)
  end
  local state = seed % 2147483647
  if state == 0 then state = 1 end
  while pos <= #input do
    state = (state * 16807) % 2147483647
    local n = 1 + state % max_chunk
    chunks[#chunks + 1] = input:sub(pos, pos + n - 1)
    pos = pos + n
  end
else
  for _, n in ipairs(sizes) do
    if pos > #input then break end
    chunks[#chunks + 1] = input:sub(pos, pos + n - 1)
    pos = pos + n
  end
  if pos <= #input then chunks[#chunks + 1] = input:sub(pos) end
end

local out = {}
local function emit(line) out[#out + 1] = line end

local function print_events(events)
  for _, e in ipairs(events) do
    if e.frame ~= nil then
      emit("frame " .. common.int(e.offset) .. " " .. common.int(e.bytes) .. " " .. common.hex(e.frame))
    else
      emit("drop " .. e.reason .. " " .. common.int(e.offset) .. " " .. common.int(e.bytes) .. " " .. e.detail)
    end
  end
end

local d = common.new(P.Deframer, max_frame)
local max_pending = 0
for k, chunk in ipairs(chunks) do
  local events = d:push(chunk)
  if #events > 0 then
    emit("push " .. common.int(k - 1) .. " " .. common.int(#events))
    print_events(events)
  end
  local pending = d:pendingBytes()
  if pending > max_pending then max_pending = pending end
end
local last = d["end"](d)
emit("end " .. common.int(#last))
print_events(last)

local s = d.stats
emit("stats bytesIn=" .. common.int(s.bytesIn) .. " frames=" .. common.int(s.frames) ..
  " noiseBytes=" .. common.int(s.noiseBytes) .. " droppedFrames=" .. common.int(s.droppedFrames) ..
  " droppedBytes=" .. common.int(s.droppedBytes) .. " truncated=" .. common.int(s.truncated) ..
  " oversize=" .. common.int(s.oversize) .. " malformed=" .. common.int(s.malformed) ..
  " incomplete=" .. common.int(s.incomplete))
emit("chunks " .. common.int(#chunks) .. " maxPending " .. common.int(max_pending))
emit("")
io.write(table.concat(out, "\n"))
