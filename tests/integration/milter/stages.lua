-- stages.lua - stage-by-stage replies of sekishod's milter, run by
-- test_milter.py: miltertest -s stages.lua with MILTER_SOCKET set.
-- Each step checks the reply the MTA would get.

local sock = os.getenv("MILTER_SOCKET")
local conn = mt.connect(sock, 40, 0.25)
if conn == nil then error("cannot connect to " .. sock) end

local function expect(step, want)
	local got = mt.getreply(conn)
	if got ~= want then
		error(step .. ": reply " .. tostring(got) .. ", want " .. tostring(want))
	end
end

-- connect and HELO: a client nothing refuses goes on
if mt.conninfo(conn, "client.example.net", "127.0.0.1") ~= nil then error("conninfo") end
expect("connect", SMFIR_CONTINUE)
if mt.helo(conn, "client.example.net") ~= nil then error("helo") end
expect("helo", SMFIR_CONTINUE)

-- MAIL from a blocked sender: refused with the rule's text
mt.macro(conn, SMFIC_MAIL, "i", "QID1", "{mail_addr}", "spammer@bad.example")
if mt.mailfrom(conn, "<spammer@bad.example>") ~= nil then error("mail") end
expect("envfrom blocked", SMFIR_REPLYCODE)
mt.abort(conn)

-- a good sender, then one recipient refused and one taken
mt.macro(conn, SMFIC_MAIL, "i", "QID2", "{mail_addr}", "sender@example.net")
if mt.mailfrom(conn, "<sender@example.net>") ~= nil then error("mail") end
expect("envfrom", SMFIR_CONTINUE)
if mt.rcptto(conn, "<closed@example.test>") ~= nil then error("rcpt") end
expect("envrcpt closed", SMFIR_REPLYCODE)
if mt.rcptto(conn, "<rcpt@example.test>") ~= nil then error("rcpt") end
expect("envrcpt", SMFIR_CONTINUE)

-- header, body, end: tagged, so A-R and X-Sekisho-* go in; the forged
-- X-Sekisho field and our forged A-R are deleted, another A-R stays
mt.header(conn, "From", "Sender <sender@example.net>")
mt.header(conn, "Subject", "a lure for you")
mt.header(conn, "X-Sekisho-Verdict", "accept")
mt.header(conn, "Authentication-Results", "other.example; spf=pass")
mt.header(conn, "Authentication-Results", "gw.example.test; dkim=pass")
mt.eoh(conn)
mt.bodystring(conn, "hello\r\n")
if mt.eom(conn) ~= nil then error("eom") end
expect("eom tag", SMFIR_CONTINUE)
if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then error("no A-R added") end
if not mt.eom_check(conn, MT_HDRINSERT, "X-Sekisho-Verdict", "tag") then error("no verdict") end
if not mt.eom_check(conn, MT_HDRINSERT, "X-Sekisho-Tag", "lure in the subject") then
	error("no tag field")
end
if not mt.eom_check(conn, MT_HDRDELETE, "X-Sekisho-Verdict") then error("forged field kept") end
if not mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results") then error("forged A-R kept") end
local ar = mt.getheader(conn, "Authentication-Results", 0)
if ar == nil or string.find(ar, "gw.example.test", 1, true) ~= 1 then
	error("A-R is not ours: " .. tostring(ar))
end

-- a second message on the same connection: rejected at the end, with text
mt.macro(conn, SMFIC_MAIL, "i", "QID3")
if mt.mailfrom(conn, "<sender@example.net>") ~= nil then error("mail") end
expect("envfrom 2", SMFIR_CONTINUE)
if mt.rcptto(conn, "<rcpt@example.test>") ~= nil then error("rcpt") end
expect("envrcpt 2", SMFIR_CONTINUE)
mt.header(conn, "From", "Sender <sender@example.net>")
mt.header(conn, "Subject", "plain")
mt.eoh(conn)
mt.bodystring(conn, "REJECT-ME-PLEASE\r\n")
if mt.eom(conn) ~= nil then error("eom") end
expect("eom reject", SMFIR_REPLYCODE)
if mt.eom_check(conn, MT_HDRINSERT) then error("headers added to a rejected message") end

mt.disconnect(conn)
mt.echo("stages: ok")
