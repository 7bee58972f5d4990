# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_utils is for confine.lsm's own modules; its API may change without notice.
"""Read and edit /etc/selinux/config text without disturbing anything but the changed values.

Every comment, unknown key, blank line, line ending and the order of lines survive an edit. A key that
appears several times is set on every occurrence (libselinux reads the first one; other readers may read
the last), so all readers agree after an edit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.confine.lsm.plugins.module_utils._files import read_text, split_lines

MODES = ('enforcing', 'permissive', 'disabled')
RANK = {'disabled': 0, 'permissive': 1, 'enforcing': 2}

TEMPLATE = (
    "# This file controls the state of SELinux on the system.\n"
    "# SELINUX= can take one of these three values:\n"
    "#     enforcing - SELinux security policy is enforced.\n"
    "#     permissive - SELinux prints warnings instead of enforcing.\n"
    "#     disabled - No SELinux policy is loaded.\n"
    "# Managed by confine.lsm.selinux_mode: values change in place, comments are kept.\n"
    "SELINUX={state}\n"
    "# SELINUXTYPE= names the policy store under /etc/selinux/.\n"
    "SELINUXTYPE={policy}\n"
)

# KEY = value, keeping indentation, spacing, quotes, trailing text and the line ending.
_LINE = re.compile(
    r'^(?P<pre>[ \t]*)(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?P<eq>[ \t]*=[ \t]*)'
    r'(?P<q>["\']?)(?P<value>[^"\'\s#]*)(?P=q)(?P<post>[^\r\n]*?)(?P<eol>\r?\n|\r)?$'
)


def parse(text):
    """Return {KEY: [values in file order]} for every KEY=value line (comments ignored)."""
    found = {}
    for line in split_lines(text):
        m = _LINE.match(line)
        if m:
            found.setdefault(m.group('key'), []).append(m.group('value'))
    return found


def get(text, key):
    """The value libselinux uses: the first occurrence, lower-cased for the mode keys; None when absent."""
    values = parse(text).get(key)
    if not values:
        return None
    return values[0].lower() if key == 'SELINUX' else values[0]


def newline_of(text):
    for line in split_lines(text):
        if line.endswith('\r\n'):
            return '\r\n'
        if line.endswith('\n'):
            return '\n'
    return '\n'


def set_values(text, values):
    """Return text with each KEY in values set; missing keys are appended. Unchanged values keep their bytes."""
    lines = split_lines(text)
    seen = set()
    out = []
    for line in lines:
        m = _LINE.match(line)
        if m and m.group('key') in values:
            key = m.group('key')
            seen.add(key)
            want = values[key]
            current = m.group('value')
            if current == want or (key == 'SELINUX' and current.lower() == want):
                out.append(line)
                continue
            line = line[:m.start('value')] + want + line[m.end('value'):]
        out.append(line)
    missing = [k for k in values if k not in seen]
    if missing:
        nl = newline_of(text)
        if out and not (out[-1].endswith('\n') or out[-1].endswith('\r')):
            out[-1] += nl
        for key in missing:
            out.append('%s=%s%s' % (key, values[key], nl))
    return ''.join(out)


def render_new(state, policy):
    return TEMPLATE.format(state=state, policy=policy)


def is_weakening(current, wanted):
    """True when wanted is a weaker mode than current (None = unknown/absent: nothing to weaken)."""
    if current is None or current not in RANK or wanted not in RANK:
        return False
    return RANK[wanted] < RANK[current]


def default_store(path='/etc/selinux/config'):
    """SELINUXTYPE from the config, or targeted when the config is missing or silent."""
    try:
        return get(read_text(path), 'SELINUXTYPE') or 'targeted'
    except (IOError, OSError):
        return 'targeted'
