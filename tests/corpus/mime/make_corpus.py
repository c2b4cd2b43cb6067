#!/usr/bin/env python3
"""Writes the MIME corpus (tests/corpus/mime/*.eml). Each message is written with CRLF line ends
unless its name says lf."""
import base64, os, sys

OUT = sys.argv[1]
msgs = {}

def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))

pdf = bytes(range(256)) * 9 + b"%%EOF\n"
png = b"\x89PNG\r\n\x1a\n" + bytes((i * 7) & 0xff for i in range(700))

msgs["01-plain"] = """Return-Path: <alice@example.org>
Received: from mail.example.org (mail.example.org [192.0.2.10])
	by mx.example.net (Postfix) with ESMTPS id 4F1C2A0123
	for <bob@example.net>; Tue, 14 Mar 2023 09:12:44 +0100 (CET)
Date: Tue, 14 Mar 2023 09:12:40 +0100
From: Alice Example <alice@example.org>
To: Bob <bob@example.net>, carol@example.com
Cc: "Dave, the builder" <dave@example.com>
Subject: Lunch on Thursday?
Message-ID: <20230314081240.GA1234@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline
User-Agent: Mutt/2.2.9 (2022-11-12)

Hi Bob,

are you free for lunch on Thursday? The usual place at 12:30.

-- 
Alice
"""

msgs["02-alternative"] = """Date: Wed, 15 Mar 2023 17:03:11 +0000
From: "News Desk" <news@lists.example.com>
Reply-To: no-reply@lists.example.com
To: subscriber@example.net
Subject: Your weekly digest
Message-ID: <abc.123.xyz@lists.example.com>
In-Reply-To: <prev.99@lists.example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000d3c6e005f6f1a2b3"

--000000000000d3c6e005f6f1a2b3
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

This week: caf=C3=A9 openings, a very long line that gets soft-wrapped by t=
he quoted-printable encoder, and more.

--000000000000d3c6e005f6f1a2b3
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">This week: caf=C3=A9 openings, a very long line that gets =
soft-wrapped.<br></div>

--000000000000d3c6e005f6f1a2b3--
"""

msgs["03-attachment"] = """From: Eve Sender <eve@example.org>
To: Frank <frank@example.net>
Subject: Invoice 2023-0042
Date: Thu, 16 Mar 2023 10:00:00 -0500
Message-ID: <invoice-2023-0042@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="------------0F7A4C1D2E3B4A5968778695"
Content-Language: en-US

This is a multi-part message in MIME format.
--------------0F7A4C1D2E3B4A5968778695
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Hello Frank,

please find the invoice attached.

Eve

--------------0F7A4C1D2E3B4A5968778695
Content-Type: application/pdf; name="invoice-2023-0042.pdf"
Content-Disposition: attachment; filename="invoice-2023-0042.pdf"
Content-Transfer-Encoding: base64
Content-ID: <part1.ABCDEF@example.org>
Content-Description: Invoice as PDF
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Language: en, de
Content-Location: https://example.org/invoices/0042.pdf

""" + b64(pdf) + """

--------------0F7A4C1D2E3B4A5968778695--
"""

inner_forward = """Date: Mon, 13 Mar 2023 08:00:00 +0100
From: Grace <grace@example.com>
To: Heidi <heidi@example.org>
Subject: Photos from the trip
Message-ID: <trip-photos@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="inner-boundary-42"

--inner-boundary-42
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Here are the photos. Sch=F6ne Gr=FC=DFe!

--inner-boundary-42
Content-Type: image/png; name=beach.png
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=beach.png; size=708

""" + b64(png) + """
--inner-boundary-42--
"""

msgs["04-forward"] = """From: Heidi <heidi@example.org>
To: Ivan <ivan@example.net>
Subject: Fwd: Photos from the trip
Date: Tue, 14 Mar 2023 12:00:00 +0100
Message-ID: <fwd-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer=_b1"

--outer=_b1
Content-Type: text/plain; charset=utf-8

See below.

--outer=_b1
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Photos from the trip.eml"

""" + inner_forward + """
--outer=_b1--
"""

msgs["05-encoded-words"] = """From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>
To: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>,
 =?utf-8?q?Fran=C3=A7ois?= <francois@example.fr>
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=
 =?UTF-8?Q?_und_K=C3=B6ln?=
Date: Fri, 17 Mar 2023 14:30:00 +0100
Message-ID: <encoded@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

""" + b64("Grüße aus München!\n".encode()) + """
"""

msgs["06-rfc2231"] = """From: Kim <kim@example.org>
To: Lee <lee@example.net>
Subject: RFC 2231 names
Date: Sat, 18 Mar 2023 09:00:00 +0000
Message-ID: <2231@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_2231"

--=_2231
Content-Type: text/plain; charset=us-ascii

Three attachments with RFC 2231 parameters.

--=_2231
Content-Type: application/octet-stream;
 name*=UTF-8''%E6%8A%A5%E5%91%8A.txt
Content-Disposition: attachment;
 filename*0*=UTF-8''%E6%8A%A5%E5%91%8A%20;
 filename*1*=%E7%AC%AC%E4%BA%8C%E9%83%A8%E5%88%86;
 filename*2=".txt"
Content-Transfer-Encoding: base64

aGVsbG8K

--=_2231
Content-Type: text/plain; charset*=iso-8859-1'fr'iso-8859-1;
 title*0="A very long title ";
 title*1="in two pieces"
Content-Disposition: attachment; filename*=iso-8859-1'en'%A3%20rates.txt

Rates.

--=_2231
Content-Type: application/x-stuff;
 title*1*=%2A%2A%2Afun%2A%2A%2A%20;
 title*0*=us-ascii'en'This%20is%20even%20more%20;
 title*2="isn't it!"

stuff
--=_2231--
"""

msgs["07-eightbit"] = """From: Ólafur <olafur@example.is>
To: Ǿrjan <orjan@example.no>
Subject: Þetta er prófun — 8-bit
Date: Sun, 19 Mar 2023 20:00:00 +0000
Message-ID: <8bit@example.is>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Halló heimur! Þetta er 8-bita texti.
Ünïcödé everywhere: 日本語, Ελληνικά, русский.
"""

msgs["08-no-mime"] = """From: old-client@example.com
To: someone@example.net
Subject: no MIME here
Date: 1 Jan 2000 00:00:00 GMT

Just a plain RFC 822 message
without any MIME headers.
"""

msgs["09-no-final-boundary"] = """From: broken@example.com
To: victim@example.net
Subject: truncated multipart
Date: Mon, 20 Mar 2023 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

preamble
--XYZ
Content-Type: text/plain

first part

--XYZ
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
AAECAwQFBgcICQ==
"""

msgs["10-no-boundary-param"] = """From: broken@example.com
To: victim@example.net
Subject: multipart without boundary
Date: Mon, 20 Mar 2023 10:05:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed

--XYZ
Content-Type: text/plain

first part
--XYZ--
"""

msgs["11-header-only"] = """From: header@example.com
To: only@example.net
Subject: header only, no blank line
Date: Mon, 20 Mar 2023 10:10:00 +0000
Message-ID: <hdr-only@example.com>
"""

msgs["12-empty-body"] = """From: empty@example.com
To: body@example.net
Subject: header and blank line, empty body
Date: Mon, 20 Mar 2023 10:11:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

"""

msgs["13-nested"] = """From: Mallory <mallory@example.com>
To: Niaj <niaj@example.net>
Subject: Newsletter with images and attachment
Date: Tue, 21 Mar 2023 07:45:00 +0000
Message-ID: <nested@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-1"

--mixed-1
Content-Type: multipart/alternative; boundary="alt-2"

--alt-2
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Plain version.

--alt-2
Content-Type: multipart/related; boundary="rel-3"; type="text/html"

--rel-3
Content-Type: text/html; charset=utf-8

<html><body><img src="cid:logo@example.com"> HTML version.</body></html>

--rel-3
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <logo@example.com>
Content-Disposition: inline; filename="logo.png"

""" + b64(png[:120]) + """
--rel-3--

--alt-2--

--mixed-1
Content-Type: text/csv; charset=us-ascii; name="data.csv"
Content-Disposition: attachment; filename="data.csv"

a,b,c
1,2,3

--mixed-1--
"""

msgs["14-digest"] = """From: digest-owner@lists.example.org
To: members@lists.example.org
Subject: List digest, Vol 1, Issue 2
Date: Wed, 22 Mar 2023 00:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="digest-outer"

--digest-outer
Content-Type: text/plain

Today's topics: 1. hello 2. re: hello

--digest-outer
Content-Type: multipart/digest; boundary="digest-inner"

--digest-inner

From: one@example.org
Subject: hello
Date: Tue, 21 Mar 2023 10:00:00 +0000

Hello list.

--digest-inner

From: two@example.org
Subject: re: hello
Date: Tue, 21 Mar 2023 11:00:00 +0000
Content-Type: text/plain; charset=utf-8

Hello back.

--digest-inner
Content-Type: text/plain

An explicit text part inside the digest.

--digest-inner--

--digest-outer--
"""

msgs["15-lf-only"] = """From: Unix User <user@localhost.example>
To: other@example.net
Subject: LF-only line endings
Date: Thu, 23 Mar 2023 12:00:00 +0000
Message-ID: <lf@localhost.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="lfb"

--lfb
Content-Type: text/plain; charset=us-ascii

line one
line two

--lfb
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQF

--lfb--
"""

msgs["16-addresses"] = """From: "Doe, John \\"JD\\"" <john.doe@example.com>
Sender: secretary@example.com (The Secretary)
Reply-To: Team: alice@example.org, "Bob B." <bob@example.org>;, carol@example.org
To: undisclosed-recipients:;
Cc: localuser, <@relay1.example,@relay2.example:routed@example.net>,
 Mary Smith <mary@x.test>, jdoe@example.org (John Doe), "Giant; \\"Big\\" Box" <sysservices@example.net>
Bcc: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;
Subject: Address torture
Date: Fri, 24 Mar 2023 09:00:00 +0000
Message-ID: <addr@example.com>
In-Reply-To: <a@example.com> <b@example.com>

Body.
"""

msgs["17-params"] = """From: p@example.com
To: q@example.net
Subject: parameters and case
Date: Sat, 25 Mar 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: MULTIPART/Mixed; BOUNDARY="Case-B"; Foo=Bar

--Case-B
Content-Type: TEXT/HTML; CHARSET=ISO-8859-1
Content-Transfer-Encoding: Quoted-Printable
Content-Language: EN
Content-Disposition: INLINE

<p>Caf=E9</p>

--Case-B
Content-Type: text/plain; charset="us-ascii" (comment); format="flowed"; delsp=yes
Content-ID: <id@x>
Content-Description: "quoted description"

text

--Case-B
Content-Type: application/octet-stream; name="a \\"quoted\\" name.bin"
Content-Disposition: attachment; filename="back\\\\slash.bin"; modification-date="Wed, 12 Feb 1997 16:29:51 -0500"
Content-Transfer-Encoding: base64
Content-Language: en-GB, fr

AAAA

--Case-B
Content-Type: text/plain; charset=
Content-Disposition: attachment;

empty charset

--Case-B--
"""

msgs["18-quoting"] = """From: "Quote \\"me\\" \\\\ please \\"again\\" and \\"again\\"" <q@example.com>
To: "Tab	Name" <t@example.com>
Subject: "quoted" \\back\\slash\\ "many" \\" "escapes"
Date: Sun, 26 Mar 2023 09:00:00 +0000
Message-ID: <q@example.com>

body
"""

msgs["19-boundary-ws"] = """From: ws@example.com
To: ws@example.net
Subject: boundary with transport padding
Date: Mon, 27 Mar 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=simple

This is the preamble.  It is to be ignored.
--simple   
Content-Type: text/plain

first, boundary had trailing spaces
--simpleX
still first: a line starting with the boundary counts as a boundary
--simple	
Content-Type: text/plain; charset=us-ascii

second
--simple--   
This is the epilogue.  It is also to be ignored.
"""

msgs["20-rfc822-variants"] = """From: v@example.com
To: v@example.net
Subject: message/rfc822 variants
Date: Tue, 28 Mar 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="v"

--v
Content-Type: message/rfc822

From: inner@example.com
Subject: inner, header only
--v
Content-Type: message/rfc822

--v
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

RnJvbTogYUBleGFtcGxlLmNvbQ0KDQpoaQ0K
--v
Content-Type: message/rfc822

Subject: inner plain text

line 1
line 2
--v--
"""

msgs["21-boundary-in-header"] = """From: h@example.com
To: h@example.net
Subject: boundary inside a part header
Date: Wed, 29 Mar 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="hb"

--hb
Content-Type: text/plain
X-Cut: the header is cut by the next boundary
--hb
--hb

no header at all above
--hb
Content-Type: text/plain

--hb--
"""

msgs["22-bad-content-type"] = """From: ct@example.com
To: ct@example.net
Subject: broken content types
Date: Thu, 30 Mar 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: text

no subtype
--b1
Content-Type: garbage

garbage type
--b1
Content-Type: ;charset=utf-8

empty type
--b1
Content-Type: image/gif
Content-Type: text/plain

two content types
--b1
Content-Type: text/plain; charset=utf-8; =broken; x="unterminated

bad params
--b1
Content-Type: multipart/alternative

multipart child without boundary
--b1
Content-Type: text/plain
Content-Transfer-Encoding: x-uuencode
Content-Disposition: attachment filename=foo

unknown encoding, broken disposition
--b1--
"""

msgs["23-multipart-empty"] = """From: me@example.com
To: you@example.net
Subject: multipart whose boundary never appears
Date: Fri, 31 Mar 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never"

This body never contains the boundary.
"""

msgs["24-signed"] = """From: Signer <signer@example.org>
To: Verifier <verifier@example.net>
Subject: signed message
Date: Sat, 01 Apr 2023 09:00:00 +0000
Message-ID: <signed@example.org>
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256;
	protocol="application/pgp-signature";
	boundary="sig42"

This is an OpenPGP/MIME signed message (RFC 4880 and 3156)
--sig42
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Signed text.

--sig42
Content-Type: application/pgp-signature; name="signature.asc"
Content-Description: OpenPGP digital signature
Content-Disposition: attachment; filename="signature.asc"

-----BEGIN PGP SIGNATURE-----

iQEzBAEBCAAdFiEEabc
=XyZ1
-----END PGP SIGNATURE-----

--sig42--
"""


# --- edge cases, each checked against Dovecot 2.3 -------------------------

ct_parts = [
    "Content-Type: text/plain garbage",
    "Content-Type: text/",
    "Content-Type: text/plain;charset=utf-8",
    "Content-Type: text / plain",
    "Content-Type: text/plain (comment); charset=utf-8",
    "Content-Type: (comment) text/plain",
    "Content-Type: text/plain; charset=\"utf-8\"; charset=iso-8859-1",
    "Content-Type: text/plain; name==?utf-8?b?Zm9v?=",
    "Content-Type: text/plain; filename*0=a; filename*2=c",
    "Content-Type: text/plain; a*0*=us-ascii''x; a*1=%y",
    "Content-Type: TEXT/PLAIN",
    "Content-Type: application/x-foo; name=\"caf\u00e9.txt\"",
    "Content-Type: text/plain\nContent-Description: \"a\" \"b\" \"c\" \\\\d\\\\",
    "Content-Type: text/plain\nContent-Description: folded\n  description\nContent-ID: <folded\n\t@id>",
    "Content-Type: text/plain\nContent-Transfer-Encoding: BASE64 (comment)",
    "Content-Type: text/plain\nContent-Transfer-Encoding: base64 junk",
    "Content-Type: text/plain\nContent-Transfer-Encoding:",
    "Content-Type: text/plain\nContent-Language: en (English), fr",
    "Content-Type: text/plain\nContent-Language:   ",
    "Content-Type: text/plain\nContent-Language: en-US,de-DE, 123bad, x_y",
    "Content-Type: text/plain\nContent-Location: http://x/\n y",
    "Content-Type: text/plain\nContent-Disposition: ;filename=x",
    "Content-Type: text/plain\nContent-Disposition: inline\nContent-Disposition: attachment; filename=b",
    "Content-Type: text/plain\nContent-Disposition: attachment; filename=a\nContent-Disposition: inline",
    "Content-Type: text/plain\nContent-MD5:  abc def  ",
    "Content-Type: message/rfc822; foo=bar\n\nSubject: x\n",
    "Content-Type: Message/RFC822\n\nSubject: y\n",
    "Content-Type: multipart/mixed; boundary=inner\nContent-Disposition: inline\nContent-Language: de\nContent-Location: loc\nContent-Description: desc\nContent-ID: <id>\n\n--inner\n\nx\n--inner--",
    "Content-Type : text/html",
    "Content-Type:text/html",
    "Content-type: text/plain; charset=us-ascii; format=flowed\ncontent-transfer-encoding: QUOTED-PRINTABLE",
    "Content-Type: text/plain; title*=us-ascii'en'abc; title*0=\"x\"",
    "Content-Type: text/plain; Title*0=\"a\"; foo=bar; title*1=\"b\"",
    "Content-Type: text/plain; x*0*=a; x*1*=b; x*2=\"c%d\"",
    "Content-Type: text/plain; x*=utf-8''a; x*0=b",
    "Content-Type: text/plain; charset=\"\"",
    "Content-Type: text/plain; =",
    "Content-Type: text/plain; a=b c=d; e=f",
    "Content-Type: text/plain; a=\"b\\\"c\"",
    "Content-Type: text/plain; a=\"line\n one\"",
    "Content-Type: image/jpeg\nContent-Transfer-Encoding: base64\nContent-Description: caf\u00e9",
    "Content-Type: text/plain\nContent-ID:",
    "Content-Type: text/plain\nContent-Description:",
    "Content-Type: text/plain\nContent-Disposition: attachment; filename=\"\"",
    "Content-Type: video/mp4; a=1; b=2; c=3",
    "Content-Type: text/plain; charset=utf-8\nContent-Type: text/html",
    "Content-Type:  ",
    "Content-Type: text/plain; format=fixed\nMIME-Version: 1.0",
    "Content-Type: text/plain; x*1=a; y*=b",
    "Content-Type: text/plain; x*1*=a; x*=b",
    "Content-Type: text",
    "Content-Type: garbage",
    "Content-Type: ;charset=utf-8",
    "Content-Type: text/plain; charset=utf-8; =broken; x=\"unterminated",
]
body = ""
for i, p in enumerate(ct_parts):
    body += "--B\n" + p + "\n\npart %d\n" % (i + 1)
msgs["25-content-type-edge"] = ("From: a@example.com\nSubject: Content-Type edge cases\n"
    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n" + body + "--B--\n")

env_cases = [
    "Subject: first\nSubject: second",
    "In-Reply-To: <a@b>\n <c@d>\nMessage-ID:\n <folded@id>",
    "Date: Mon, 1 Jan 2001\n 00:00:00 +0000 (UTC)",
    "Subject:   lead and trail   ",
    "Subject:",
    "Subject:   ",
    "Subject: tab\there",
    "Subject: two  spaces",
    "Subject: fold\n\tnext",
    "Subject: a \"q\" b",
    "Message-ID: <a\"b@c>",
    "Message-ID: \"q1\"\"q2\"\"q3\"\"q4\"\"q5\"",
    "From:",
    "From: <>",
    "From: @",
    "From: Name <user@[1.2.3.4]>",
    "From: user@example.com (Comment (nested) here)",
    "From: \"quoted local\"@example.com",
    "To: a@b, , c@d",
    "To: Group: ;",
    "To: g1: a@b; , g2: c@d;",
    "To: a@b,",
    "To: undisclosed-recipients:",
    "Cc: bad address <<@>>",
    "Cc: Name <user>",
    "Cc: user@ex ample.com",
    "Cc: \"Name\" user@example.com",
    "Reply-To: =?utf-8?q?x?= <a@b>",
    "Sender: a.b.@example.com",
    "Bcc: user@example.com.",
    "From: J\u00f6rg <j@example.de>",
    "From: \"a b\"@x.org",
    "From: one two three",
    "From: \"quoted\"",
    "From: user@host (comment) <real@host>",
    "From: Name (c1) <a@b> (c2)",
    "From: (only comment)",
    "From: a@b (x), c@d",
    "From: Mary.Smith <m@x>",
    "From: \"Tab\tHere\" <t@x>",
    "From: \"  spaces  \" <s@x>",
    "From: \"\" <e@x>",
    "From: name <a@b> garbage",
    "From: <@r1:user@dom>",
    "From: <@r1,@r2 user@dom>",
    "From: a@b@c",
    "From: a@",
    "To: ,a@b",
    "To: \"Group\": a@b;",
    "To: G: a@b",
    "Subject: =?utf-8?q?enc?= text",
    "From: Name\n <folded@example.com>",
    "From: \"x\" <a@b>, \"y\" <c@d>",
    "Subject: \\back",
    "Message-ID: <x@y> (comment)",
    "From: \"\\\"\" <q@x>",
    "From: \u00dcn\u00efc\u00f6d\u00e9@ex\u00e4mple.com",
    "Date:",
    "In-Reply-To:",
    "Subject: x\nsubject: y\nSUBJECT: z",
    "Sender:\nReply-To:",
    "Sender: s@x\nReply-To: r@x\nFrom: f@x",
    "From: a@b; c@d",
    "From: x.y@z (Name) , q@r",
    "Cc: \"a\" <b@c>,\n\t\"d\" <e@f>",
    "Subject: \"\"\"\"\"\nDate: \\\\\\\\\\\\\\\\\\\\\nIn-Reply-To: \"a\\b\"",
    "Subject: multiple\n   \n folds",
    "From: a(c1)@(c2)b.example (c3)",
    "To: \"unterminated <a@b>",
    "To: (unterminated comment a@b",
    "From: <user@example.com",
    "From: Name <@route>",
    "To: \u00e9quipe: a@b;",
]
body = ""
for i, h in enumerate(env_cases):
    body += "--E\nContent-Type: message/rfc822\n\n" + h + "\n\nbody %d\n" % (i + 1)
msgs["26-envelope-edge"] = ("From: b@example.com\nSubject: ENVELOPE edge cases, one per part\n"
    "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=E\n\n" + body + "--E--\n")

msgs["27-8bit-headers"] = ("Subject: \u00ff raw 8bit \u0080\nMessage-ID: <\u00e9@x>\nFrom: \u00c9lodie <e@x>\n"
    "MIME-Version: 1.0\nContent-Type: text/plain; charset=\"\u00e9\"; name=\u00e9t\u00e9\n"
    "Content-Disposition: attachment; filename*=utf-8''%C3%A9t%C3%A9\n\nbody\n")

deep = "Subject: 38 levels (57 parts deep, inside MIME_MAX_DEPTH)\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=L0\n\n"
tail = ""
for i in range(1, 38):
    if i % 2:
        deep += "--L%d\nContent-Type: message/rfc822\n\nSubject: level %d\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=L%d\n\n" % (i - 1, i, i)
        tail = "--L%d--\n" % i + tail
    else:
        deep += "--L%d\nContent-Type: multipart/alternative; boundary=L%d\n\n" % (i - 1, i)
        tail = "--L%d--\n" % i + tail
deep += "--L37\n\ninnermost\n" + tail.replace("--L0--\n", "") + "--L0--\n"
msgs["28-deep-nesting"] = deep

edge = {
 "29-empty-parts": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n\n--b\n\n--b\n\n\n\n--b--\n",
 "30-same-boundary-nested": "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=a\n\n--a\n\ninner1\n--a\n\ninner2\n--a--\n\nx\n--a--\n",
 "31-prefix-boundaries": "Content-Type: multipart/mixed; boundary=ab\n\n--ab\nContent-Type: multipart/mixed; boundary=abc\n\n--abc\n\ninner1\n--ab\n\nouter2\n--ab--\n",
 "32-outer-boundary-in-message": "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nin\n--a\n\nafter\n--a--\n",
 "33-digest-defaults": "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody1\n--d\nContent-Type: message/rfc822\n\nSubject: two\n\n--d\nContent-Type: text/plain\n\nt\n--d--\n",
 "34-close-at-once": "Content-Type: multipart/mixed; boundary=b\n\n--b--\n",
 "35-no-final-newline": "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nno final newline",
 "36-close-without-newline": "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--",
 "37-long-boundary": "Content-Type: multipart/mixed; boundary=\"" + "x"*90 + "\"\n\n--" + "x"*80 + "\n\nshort\n--" + "x"*90 + "--\n",
 "38-cut-header": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b--\n",
 "39-message-blank-body": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nSubject: s\n\n\n--b--\n",
 "40-boundary-junk-after": "Content-Type: multipart/mixed; boundary=b\n\n--b \nContent-Type: text/plain\n\nfoo\n--b--x\n",
 "41-parts-to-eof": "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\n1\n--b\n\n2\n--b\n\n3",
 "42-two-content-types": "Content-Type: multipart/mixed; boundary=b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\nc\n--b\n\nb\n--b--\n",
 "43-boundary-continued": "Content-Type: multipart/mixed; boundary*0=b; boundary*1=c\n\n--bc\n\nbc\n--bc--\n",
 "44-inner-cut-by-outer": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: text/plain\n\n--b--\n",
 "45-message-cut": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nX: 1\n\n--b\nContent-Type: message/rfc822\n\n\n--b--\n",
 "46-after-close": "Content-Type: multipart/mixed; boundary=b\n\n--b\n\ntext\n--b--\n\n--b\n\nafter close\n--b--\n",
 "47-message-at-eof": "Content-Type: message/rfc822\n\n",
 "48-message-header-at-eof": "Content-Type: message/rfc822\n\nSubject: x",
 "49-blank-line-only": "\n",
 "50-no-header": "\nbody",
 "51-mixed-line-ends": "Subject: mixed\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\n\nlf body\nline2\r\n--b--\n",
 "52-lf-multipart": "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--",
 "53-inner-close-then-outer": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\nx\n--c--\n--b\n\ny\n--b--\n",
 "54-boundary-in-preamble-of-message": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n--b\n\nz\n--b--\n",
 "55-one-byte": "X",
}
lf_names = {"51-mixed-line-ends", "52-lf-multipart"}
for k, v in edge.items():
    msgs[k] = v

os.makedirs(OUT, exist_ok=True)
for name, text in msgs.items():
    data = text.encode("utf-8")
    if "lf-only" not in name and name not in lf_names:
        data = data.replace(b"\n", b"\r\n")
    with open(os.path.join(OUT, name + ".eml"), "wb") as f:
        f.write(data)
print(len(msgs), "messages")
