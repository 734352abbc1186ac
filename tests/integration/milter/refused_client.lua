-- refused_client.lua - a client address a rule refuses gets its reply at
-- connect; a client the MTA cannot name gets a tempfail, never a pass.

local sock = os.getenv("MILTER_SOCKET")

local conn = mt.connect(sock, 40, 0.25)
if conn == nil then error("cannot connect to " .. sock) end
if mt.conninfo(conn, "bad.example.net", "127.0.0.99") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("blocked client not refused") end
mt.disconnect(conn)

conn = mt.connect(sock, 40, 0.25)
if conn == nil then error("cannot connect to " .. sock) end
if mt.conninfo(conn, "nowhere", "unspec") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_TEMPFAIL and mt.getreply(conn) ~= SMFIR_REPLYCODE then
	error("unknown client not tempfailed: " .. tostring(mt.getreply(conn)))
end
mt.disconnect(conn)
mt.echo("refused_client: ok")
