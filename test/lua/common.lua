-- Shared by the Lua test drivers: load the Lua build of lubdub's portable
-- protocol subset and turn bytes into printable text.

local common = {}

--- Directory of the running script (from arg[0]), with a trailing slash.
local function script_dir()
  local path = arg and arg[0] or ""
  return path:match("^(.*[/\\])") or "./"
end

--- Loads protocol/dist-lua/lubdub_protocol.lua (or `path`) and returns its exports.
function common.load_protocol(path)
  local bundle = path or (script_dir() .. "../../protocol/dist-lua/lubdub_protocol.lua")
  local chunk, err = loadfile(bundle)
  if not chunk then
    io.stderr:write("cannot load the Lua build of the protocol (npm run build:lua): " .. tostring(err) .. "\n")
    os.exit(2)
  end
  return chunk()
end

--- A new instance of a class compiled by typescript-to-lua (what `new C(...)` does).
function common.new(class, ...)
  local instance = setmetatable({}, class.prototype)
  instance:____constructor(...)
  return instance
end

function common.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

--- Integers as plain decimal digits (Lua 5.1 numbers are doubles).
function common.int(n)
  return string.format("%d", n)
end

--- Whole stdin as a byte string.
function common.read_stdin()
  return io.read("*a") or ""
end

--- Reads a file (sizes lists); nil when it cannot be opened.
function common.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

return common
