-- max_sessions.lua - with max_sessions = 1, a second MTA connection while
-- the first is open is refused with a temporary failure.

local sock = os.getenv("MILTER_SOCKET")
local first = mt.connect(sock, 40, 0.25)
if first == nil then error("cannot connect to " .. sock) end
if mt.conninfo(first, "client.example.net", "127.0.0.1") ~= nil then error("conninfo") end
if mt.getreply(first) ~= SMFIR_CONTINUE then error("first connection refused") end

local second = mt.connect(sock, 40, 0.25)
if second == nil then error("cannot connect to " .. sock) end
if mt.conninfo(second, "client.example.net", "127.0.0.1") ~= nil then error("conninfo") end
local got = mt.getreply(second)
if got ~= SMFIR_REPLYCODE and got ~= SMFIR_TEMPFAIL then
	error("second connection not refused: " .. tostring(got))
end
mt.disconnect(second)
mt.disconnect(first)
mt.echo("max_sessions: ok")
