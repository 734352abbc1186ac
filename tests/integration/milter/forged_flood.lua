-- forged_flood.lua - a message made of fields that claim to be ours is
-- refused (552), not edited field by field at the MTA.

local sock = os.getenv("MILTER_SOCKET")
local conn = mt.connect(sock, 40, 0.25)
if conn == nil then error("cannot connect to " .. sock) end
if mt.conninfo(conn, "client.example.net", "127.0.0.1") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("connect") end
if mt.helo(conn, "client.example.net") ~= nil then error("helo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("helo") end
if mt.mailfrom(conn, "<sender@example.net>") ~= nil then error("mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mailfrom") end
if mt.rcptto(conn, "<rcpt@example.test>") ~= nil then error("rcptto") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcptto") end
mt.header(conn, "From", "Sender <sender@example.net>")
for i = 1, 101 do
	mt.header(conn, "X-Sekisho-N" .. i, "forged")
end
mt.eoh(conn)
mt.bodystring(conn, "hello\r\n")
if mt.eom(conn) ~= nil then error("eom") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("forged flood not refused") end
if mt.eom_check(conn, MT_HDRDELETE) then error("fields deleted for a refused message") end
mt.disconnect(conn)
mt.echo("forged_flood: ok")
