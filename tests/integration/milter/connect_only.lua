-- connect_only.lua - the milter answers a connect on the given socket.
local conn = mt.connect(os.getenv("MILTER_SOCKET"), 40, 0.25)
if conn == nil then error("cannot connect") end
if mt.conninfo(conn, "client.example.net", "127.0.0.1") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("connect not continue") end
mt.disconnect(conn)
