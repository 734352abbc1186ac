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

-- mail_from / rcpt_to - send the command, check the reply
local function mail_from(addr, want, step)
	if mt.mailfrom(conn, "<" .. addr .. ">") ~= nil then error(step .. ": send") end
	expect(step, want)
end

local function rcpt_to(addr, want, step)
	if mt.rcptto(conn, "<" .. addr .. ">") ~= nil then error(step .. ": send") end
	expect(step, want)
end

-- connect and HELO: a client nothing refuses goes on
if mt.conninfo(conn, "client.example.net", "127.0.0.1") ~= nil then error("conninfo") end
expect("connect", SMFIR_CONTINUE)
if mt.helo(conn, "client.example.net") ~= nil then error("helo") end
expect("helo", SMFIR_CONTINUE)

-- MAIL from a blocked sender: refused with the rule's text
mt.macro(conn, SMFIC_MAIL, "i", "QID1", "{mail_addr}", "spammer@bad.example")
mail_from("spammer@bad.example", SMFIR_REPLYCODE, "envfrom blocked")
mt.abort(conn)

-- a good sender, then one recipient refused and one taken
mt.macro(conn, SMFIC_MAIL, "i", "QID2", "{mail_addr}", "sender@example.net")
mail_from("sender@example.net", SMFIR_CONTINUE, "envfrom")
rcpt_to("closed@example.test", SMFIR_REPLYCODE, "envrcpt closed")
rcpt_to("rcpt@example.test", SMFIR_CONTINUE, "envrcpt")

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
mail_from("sender@example.net", SMFIR_CONTINUE, "envfrom 2")
rcpt_to("rcpt@example.test", SMFIR_CONTINUE, "envrcpt 2")
mt.header(conn, "From", "Sender <sender@example.net>")
mt.header(conn, "Subject", "plain")
mt.eoh(conn)
mt.bodystring(conn, "REJECT-ME-PLEASE\r\n")
if mt.eom(conn) ~= nil then error("eom") end
expect("eom reject", SMFIR_REPLYCODE)
if mt.eom_check(conn, MT_HDRINSERT) then error("headers added to a rejected message") end

mt.disconnect(conn)
mt.echo("stages: ok")
