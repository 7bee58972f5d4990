# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Render the fleet report: JSON for tools, JUnit XML for CI systems, Markdown and a self-contained HTML page."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import unicodedata
from xml.sax.saxutils import escape, quoteattr

# (key, label) of every column, in display order; 'result' (PASS/FAIL) is derived from the findings.
# The result comes second so that it is in sight on any screen width, however long the findings are.
TABLE = (('host', 'host'), ('result', 'result'), ('lsm', 'LSM'), ('mode', 'mode'), ('config', 'config'),
         ('policy', 'policy'), ('enforced', 'enforced'), ('complain', 'complain'), ('drift_found', 'drift found'),
         ('drift_fixed', 'drift fixed'), ('changes', 'changes'), ('weakened', 'weakened'), ('denials', 'denials'),
         ('findings', 'findings'), ('accepted', 'accepted'))
COLUMNS = tuple(key for key, dummy in TABLE if key != 'result')
LISTS = ('findings', 'drift_found', 'drift_fixed', 'changes', 'weakened', 'denials')
# columns rendered from the judged data (verify's checks and accepted weakenings) rather than copied
DERIVED = ('accepted',)


# Characters that change how text is shown rather than being shown: controls (newline, NUL, escape), format
# characters (bidirectional overrides, zero-width), line and paragraph separators, surrogates (bytes that were
# not UTF-8), and the two noncharacters XML forbids.
INVISIBLE = ('Cc', 'Cf', 'Cs', 'Zl', 'Zp')


def _shown(ch):
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return '\\x%02x' % (code - 0xDC00)  # a byte that was not UTF-8, kept by surrogateescape: show the byte
    if code <= 0xFF:
        return '\\x%02x' % code
    return '\\u%04x' % code if code <= 0xFFFF else '\\U%08x' % code


def visible(text):
    """text with every character that is not shown as itself written as an escape (\\n as \\x0a, NUL as
    \\x00, a right-to-left override as \\u202e): what a report shows is one line, in display order, with
    every character of the data, and only characters XML 1.0 allows."""
    text = '%s' % (text,)
    return ''.join(_shown(ch) if unicodedata.category(ch) in INVISIBLE or ord(ch) in (0xFFFE, 0xFFFF) else ch
                   for ch in text)


def _valid_unicode(value):
    """For JSON: lone surrogates (not text in any encoding) become U+FFFD; everything else stays as it is."""
    if isinstance(value, str):
        return re.sub('[\ud800-\udfff]', '\ufffd', value)
    if isinstance(value, list):
        return [_valid_unicode(v) for v in value]
    if isinstance(value, dict):
        return dict((_valid_unicode(k), _valid_unicode(v)) for k, v in value.items())
    return value


def _shown_row(value):
    """A row with visible() applied to every string in it: the form every report for people reads."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, list):
        return [_shown_row(v) for v in value]
    if isinstance(value, dict):
        return dict((k, _shown_row(v)) for k, v in value.items())
    return value


def _texts(value):
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [] if value is None or value == '' else [str(value)]


def _entries(value, keys, lists=()):
    """Dicts with the given keys as strings (and lists of strings); anything else in the list is dropped."""
    out = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        entry = dict(item)
        for key in keys:
            if entry.get(key) is not None:
                entry[key] = str(entry[key])
        for key in lists:
            entry[key] = _texts(entry.get(key))
        out.append(entry)
    return out


def normalise(row):
    out = dict((c, row.get(c)) for c in COLUMNS if c not in DERIVED)
    for key in LISTS:
        value = out.get(key) or []
        out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
    out['host'] = str(out['host'])
    # the judged checks (id, severity, text, fix, controls) and the accepted weakenings (text, reason), as data
    out['checks'] = _entries(row.get('checks'), ('id', 'severity', 'text', 'fix', 'subject'), lists=('controls',))
    out['accepted'] = _entries(row.get('accepted'), ('id', 'text', 'reason'))
    if row.get('posture_read') is not None:
        out['posture_read'] = str(row['posture_read'])  # which read verify judged (its own, or an unchanged one)
    checked = row.get('checked') or []
    out['checked'] = [str(c) for c in checked] if isinstance(checked, list) else []
    out['pass'] = not out['findings']
    return out


def finding_lines(row):
    """The findings as printed: with the check id and the benchmark controls where the row has them."""
    if not row.get('checks'):
        return row['findings']
    return ['%s [%s]' % (c.get('text'), '; '.join([str(c.get('id'))] + [str(x) for x in c.get('controls') or []]))
            for c in row['checks']]


def accepted_lines(row):
    return ['%s (accepted: %s)' % (a.get('text'), a.get('reason')) for a in row.get('accepted') or []]


def cell_value(row, key):
    """What a table cell shows for key."""
    if key == 'findings':
        return finding_lines(row)
    if key == 'accepted':
        return accepted_lines(row)
    return row[key]


def summary(rows):
    failed = [r['host'] for r in rows if not r['pass']]
    return {'hosts': len(rows), 'passed': len(rows) - len(failed), 'failed': len(failed), 'failed_hosts': failed}


def to_json(title, generated, rows):
    """The data as it is (JSON escapes every control character); only lone surrogates become U+FFFD."""
    return json.dumps(_valid_unicode({'title': title, 'generated': generated, 'summary': summary(rows),
                                      'hosts': rows}), indent=2, sort_keys=True) + '\n'


def _cell(value):
    if isinstance(value, list):
        return '; '.join(value) or '-'
    return '-' if value is None or value == '' else str(value)


# Markdown punctuation that could start a link, an image, raw HTML, an entity, a code span, emphasis or
# strikethrough, end a cell (|) or escape the next character (\); an underscore only where it can be emphasis
# (not inside a word such as httpd_t).
MD_SPECIAL = re.compile(r'[\\`*\[\]<>&|~!]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])')


def _md_text(text):
    """Text in Markdown that renders as itself: no raw HTML, no link, no code span, one line."""
    return MD_SPECIAL.sub(lambda m: '\\' + m.group(0), visible(text))


def _md_cell(value):
    """A Markdown table cell: the text (already visible()) with Markdown's punctuation escaped."""
    return _md_text(_cell(value))


def _result(row):
    return 'PASS' if row['pass'] else 'FAIL'


def to_markdown(title, generated, rows):
    rows = _shown_row(rows)
    s = summary(rows)
    lines = ['# %s' % _md_text(title), '', 'Generated %s: %d hosts, %d passed, %d failed.' % (
        _md_text(generated), s['hosts'], s['passed'], s['failed']), '',
        '| %s |' % ' | '.join(label for dummy, label in TABLE), '|%s' % ('---|' * len(TABLE))]
    for r in rows:
        cells = [_result(r) if key == 'result' else cell_value(r, key) for key, dummy in TABLE]
        lines.append('| %s |' % ' | '.join(_md_cell(c) for c in cells))
    return '\n'.join(lines) + '\n'


def _cases(r):
    """(name, failure lines or None, detail lines) per JUnit test case of a row: one per check evaluated where the
    row says which were (verify), else one for the host."""
    detail = ', '.join('%s=%s' % (k, _cell(r[k])) for k in COLUMNS if k not in ('host', 'findings') + DERIVED)
    host = '%s (%s)' % (r['host'], r['lsm'] or 'unknown')
    if not r.get('checked'):
        return [(host, r['findings'] if not r['pass'] else None, [detail])]
    checks = r.get('checks') or []
    ids = list(r['checked']) + sorted(set(str(c.get('id')) for c in checks) - set(r['checked']))
    cases = []
    # findings no check stands for (another producer's text) still fail the host in its own case
    covered = set(str(c.get('text')) for c in checks)
    loose = [f for f in r['findings'] if f not in covered]
    if loose:
        cases.append((host, loose, [detail]))
    for check in ids:
        failing = [c for c in checks if str(c.get('id')) == check]
        lines = ['%s\nfix: %s\ncontrols: %s' % (c.get('text'), c.get('fix'), ', '.join(c.get('controls') or []) or '-')
                 for c in failing]
        accepted = ['accepted: %s (%s)' % (a.get('text'), a.get('reason')) for a in r.get('accepted') or []
                    if a.get('id') == check]
        cases.append(('%s: %s' % (host, check), lines or None, accepted + [detail]))
    return cases


def _xml_legal(ch):
    """XML 1.0's Char production: tab, newline, carriage return, and U+0020 up, without surrogates, FFFE and FFFF."""
    code = ord(ch)
    return ch in '\t\n\r' or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def _xml_text(text):
    """Only the characters XML 1.0 allows, escaped."""
    return escape(_xml_attr(text))


def _xml_attr(text):
    """text with each character XML 1.0 does not allow written as an escape (quoteattr escapes the rest). The
    rows are visible() already, so this only catches our own text."""
    return ''.join(ch if _xml_legal(ch) else _shown(ch) for ch in text)


def to_junit(title, generated, rows):
    rows = _shown_row(rows)
    cases = [(r, c) for r in rows for c in _cases(r)]
    failures = sum(1 for dummy, c in cases if c[1])
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<testsuites name=%s tests="%d" failures="%d">' % (quoteattr(_xml_attr(title)), len(cases), failures),
           '  <testsuite name=%s tests="%d" failures="%d" timestamp=%s>' % (
               quoteattr(_xml_attr(title)), len(cases), failures, quoteattr(_xml_attr(generated)))]
    for r, (name, failing, detail) in cases:
        out.append('    <testcase classname=%s name=%s>' % (quoteattr(_xml_attr('confine.lsm.verify.%s' % r['host'])),
                                                            quoteattr(_xml_attr(name))))
        if failing:
            message = '; '.join(line.split('\n')[0] for line in failing)
            out.append('      <failure message=%s>%s</failure>'
                       % (quoteattr(_xml_attr(message)), _xml_text('\n'.join(failing))))
        out.append('      <system-out>%s</system-out>' % _xml_text('\n'.join(detail)))
        out.append('    </testcase>')
    out += ['  </testsuite>', '</testsuites>']
    return '\n'.join(out) + '\n'


def _html(text):
    """Text for HTML element content: visible(), then &, < and > escaped (and quotes, for good measure)."""
    return escape(visible(text), {'"': '&quot;', "'": '&#x27;'})


def _html_cell(key, value):
    if (key in LISTS or key in DERIVED) and value:
        return '<td class="list">%s</td>' % '<br>'.join(_html(v) for v in value)
    return '<td>%s</td>' % _html(_cell(value))


def to_html(title, generated, rows):
    """One self-contained page (no scripts, no fetches): counts on top, failing hosts first, a row per host."""
    rows = _shown_row(rows)
    s = summary(rows)
    head = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width"><title>%s</title><style>'
            'body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}'
            'td,th{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top;white-space:nowrap}'
            'td.list{white-space:normal;min-width:14em}td.list:last-child{min-width:24em}'
            'tr.fail td{background:#fdeeee}tr.pass td.result{background:#c8f7c5}'
            'tr.fail td.result{background:#f7c5c5;font-weight:bold}'
            '.counts span{margin-right:2em;font-size:1.3em}#failed.some{color:#a00;font-weight:bold}'
            '</style></head><body>' % _html(title))
    body = ['<h1>%s</h1>' % _html(title),
            '<p class="counts"><span id="hosts">%d hosts</span><span id="passed">%d passed</span>'
            '<span id="failed"%s>%d failed</span></p>' % (
                s['hosts'], s['passed'], ' class="some"' if s['failed'] else '', s['failed']),
            '<p>Generated %s; failing hosts first.</p>' % _html(generated), '<table><thead><tr>']
    body.append(''.join('<th>%s</th>' % _html(label) for dummy, label in TABLE) + '</tr></thead><tbody>')
    for r in sorted(rows, key=lambda r: (r['pass'], r['host'])):
        row = ''.join('<td class="result">%s</td>' % _result(r) if key == 'result' else _html_cell(key, cell_value(r, key))
                      for key, dummy in TABLE)
        body.append('<tr class="%s">%s</tr>' % ('pass' if r['pass'] else 'fail', row))
    body.append('</tbody></table></body></html>')
    return head + '\n'.join(body) + '\n'


RENDERERS = {'json': ('report.json', to_json), 'junit': ('report.xml', to_junit),
             'markdown': ('report.md', to_markdown), 'html': ('report.html', to_html)}
