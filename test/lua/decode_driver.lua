-- Decodes datagrams with lubdub's portable protocol subset compiled for Lua 5.1
-- and prints what it read, so a test can compare it line by line with Node.
--
--   lua5.1 decode_driver.lua [--bundle PATH] < records
--
-- Input: records, each a decimal byte count, "\n", then that many bytes.
-- Output per record (names and values as hex, numbers in decimal):
--   record I LEN
--   error CODE OFFSET DETAIL                      when it does not decode, else
--   ok FRAMING EXTRA
--   body LEN / trailer INDEX DIGESTHEX / trailer-error CODE OFFSET   (netstring)
--   field DEPTH NAME TYPE VALUE | list DEPTH NAME COUNT + item VALUE... |
--   struct DEPTH NAME TYPE COUNT + its fields one level deeper
--   get NAME VALUE|null       getField for t, src, seq, dest
--   seq N|null                parseHex of the seq field
--   classic HEX / netstring HEX   the message encoded again in both formats
--   base64 TEXT ROUNDTRIP     base64Encode of the record, and whether it decodes back

local dir = (arg[0] or ""):match("^(.*[/\\])") or "./"
local common = dofile(dir .. "common.lua")

local bundle = nil
local i = 1
while i <= #arg do
  if arg[i] == "--bundle" then bundle = arg[i + 1]; i = i + 1
  else
    io.stderr:write("unknown argument: " .. arg[i] .. "\n")
    os.exit(2)
  end
  i = i + 1
end

local P = common.load_protocol(bundle)
local hex, int = common.hex, common.int
local input = common.read_stdin()

local out = {}
local function emit(line) out[#out + 1] = line end

local function print_fields(msg, depth)
  for _, f in ipairs(msg.fields) do
    if P.isNested(f) then
      emit("struct " .. int(depth) .. " " .. hex(f.name) .. " " .. int(f.type) .. " " .. int(#f.value.fields))
      print_fields(f.value, depth + 1)
    elseif P.isList(f) then
      emit("list " .. int(depth) .. " " .. hex(f.name) .. " " .. int(#f.value))
      for _, item in ipairs(f.value) do emit("item " .. hex(item)) end
    else
      emit("field " .. int(depth) .. " " .. hex(f.name) .. " " .. int(f.type) .. " " .. hex(f.value))
    end
  end
end

local pos, record = 1, 0
while pos <= #input do
  local nl = input:find("\n", pos, true)
  local len = nl and tonumber(input:sub(pos, nl - 1))
  if not len then
    io.stderr:write("bad record header at byte " .. int(pos - 1) .. "\n")
    os.exit(2)
  end
  local bytes = input:sub(nl + 1, nl + len)
  pos = nl + 1 + len
  emit("record " .. int(record) .. " " .. int(#bytes))
  record = record + 1

  local r = P.decodeDatagram(bytes)
  if not r.ok then
    emit("error " .. r.error.code .. " " .. int(r.error.offset) .. " " .. r.error.detail)
  else
    local dec = r.decoded
    emit("ok " .. dec.framing .. " " .. int(dec.extraBytes))
    if dec.framing == P.FRAMING_NETSTRING then
      emit("body " .. int(#dec.body))
      if dec.trailer ~= nil then
        emit("trailer " .. int(dec.trailer.index) .. " " .. hex(dec.trailer.digest))
      else
        emit("trailer-error " .. dec.trailerError.code .. " " .. int(dec.trailerError.offset))
      end
    end
    local msg = dec.message
    print_fields(msg, 0)
    for _, name in ipairs({ "t", "src", "seq", "dest" }) do
      local v = P.getField(msg, name)
      emit("get " .. name .. " " .. (v == nil and "null" or hex(v)))
    end
    local seq = P.getField(msg, "seq")
    local n = seq ~= nil and P.parseHex(seq) or nil
    emit("seq " .. (n == nil and "null" or int(n)))
    emit("classic " .. hex(P.encodeClassic(msg)))
    emit("netstring " .. hex(P.encodeNetstringBody(msg)))
  end
  local b64 = P.base64Encode(bytes)
  emit("base64 " .. b64 .. " " .. tostring(P.base64Decode(b64) == bytes))
end
emit("")
io.write(table.concat(out, "\n"))
