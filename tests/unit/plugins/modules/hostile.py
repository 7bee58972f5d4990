"""Hostile audit-log text shared by the report tests: values that decode (from audit's hex encoding) to what could
break or forge a report, and readers that judge each report format strictly."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import html.parser
import re

from markdown_it import MarkdownIt

# name -> raw bytes a process could put in its command name or a file name (audit hex-encodes them)
PAYLOADS = {
    'newline': b'line1\nline2',
    'nul': b'nul\x00byte',
    'controls': b'\x1b[31mred\x07bell\x08\x7f',
    'markup': b'<script>alert(1)</script><img src=x onerror=alert(2)>',
    'xml': b'& &amp; ]]> </failure><x a="1"/>',
    'pipe rows': b'| forged | PASS |\n| evil | PASS |',
    'backticks': b'`code | span` ``x``',
    'md link': b'[click](javascript:alert(1)) ![pixel](http://example.invalid/p.png) <http://example.invalid>',
    'invalid utf-8': b'bad\xff\xfe\xc3(utf8',
    'bidi': '\u202eevil\u2066x\u2069'.encode('utf-8'),
    'separators': '\u2028para\u2029\x85next'.encode('utf-8'),
    'long': b'L' * 10000,
}


def hexed(raw):
    return binascii.hexlify(raw).decode().upper()


def audit_lines(serial=500):
    """For each payload an SELinux AVC and an AppArmor event whose comm and path/name hold it (hex-encoded)."""
    lines = []
    for i, raw in enumerate(PAYLOADS.values()):
        lines.append('type=AVC msg=audit(1764300000.%03d:%d): avc:  denied  { read } for  pid=%d comm=%s path=%s '
                     'dev="vda" ino=1 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:var_t:s0 '
                     'tclass=file permissive=0' % (i, serial + 2 * i, 100 + i, hexed(raw), hexed(b'/srv/' + raw)))
        lines.append('type=AVC msg=audit(1764300001.%03d:%d): apparmor="DENIED" operation="open" class="file" '
                     'profile="nginx" name=%s pid=%d comm=%s requested_mask="r" denied_mask="r" fsuid=33 ouid=0'
                     % (i, serial + 2 * i + 1, hexed(b'/srv/' + raw), 200 + i, hexed(raw)))
    # raw bytes that are not UTF-8 outside any hex field, and a line a parser could take for two
    lines.append('type=AVC msg=audit(1764300002.000:%d): apparmor="DENIED" operation="open" profile="p\xff\xfe" '
                 'name="/srv/raw" pid=9 comm="c" requested_mask="r" denied_mask="r"' % (serial + 999))
    return lines


def audit_log_bytes(serial=500):
    return '\n'.join(audit_lines(serial)).encode('utf-8', 'surrogateescape').replace(
        b'p\xc3\xbf\xc3\xbe', b'p\xff\xfe') + b'\n'


def xml_legal(text):
    """Every character is one XML 1.0 allows."""
    return re.search('[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]', text) is None


class Tags(html.parser.HTMLParser):
    """The tags and attributes of an HTML text, and the text of each table row's cells."""

    def __init__(self):
        html.parser.HTMLParser.__init__(self, convert_charrefs=True)
        self.tags = []
        self.attrs = set()
        self.rows = []
        self._cell = None
        self.section = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.update(name for name, dummy in attrs)
        if tag in ('thead', 'tbody'):
            self.section = tag
        elif tag == 'tr':
            self.rows.append((self.section, []))
        elif tag in ('td', 'th'):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ('td', 'th') and self._cell is not None:
            self.rows[-1][1].append(''.join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def body_rows(self):
        return [cells for section, cells in self.rows if section == 'tbody']


def parse_html(text):
    p = Tags()
    p.feed(text)
    p.close()
    return p


def render_markdown(text):
    """HTML from Markdown as a GitHub-like renderer makes it: tables on, raw HTML passed through."""
    return MarkdownIt('commonmark', {'html': True}).enable('table').render(text)
