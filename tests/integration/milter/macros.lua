-- macros.lua - the MTA's names for the client and its SMTP AUTH user
-- become facts (client.ptr, client.auth_user) that rules refuse on.

local sock = os.getenv("MILTER_SOCKET")

local function open(hostname)
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then error("cannot connect to " .. sock) end
	if mt.conninfo(conn, hostname, "127.0.0.1") ~= nil then error("conninfo") end
	return conn
end

-- a verified client name a rule refuses: the reply at connect
local conn = open("bad.ptr.example")
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("client.ptr not refused") end
mt.disconnect(conn)

-- no verified name ("[address]"): no client.ptr, the client goes on
conn = open("[127.0.0.1]")
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("unnamed client refused") end
if mt.helo(conn, "client.example.net") ~= nil then error("helo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("helo refused") end

-- the SMTP AUTH user a rule refuses, then another user and none at all
mt.macro(conn, SMFIC_MAIL, "i", "QA1", "{auth_authen}", "mallory")
if mt.mailfrom(conn, "<m@example.net>") ~= nil then error("mailfrom") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("auth user not refused") end
mt.abort(conn)
mt.macro(conn, SMFIC_MAIL, "i", "QA2", "{auth_authen}", "alice")
if mt.mailfrom(conn, "<a@example.net>") ~= nil then error("mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("alice refused") end
mt.abort(conn)
mt.disconnect(conn)
mt.echo("macros: ok")
