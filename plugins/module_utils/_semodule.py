# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reviewed SELinux policy modules: the review gate, the rules a source holds, and what the store has installed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bz2
import hashlib
import os
import re

NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]*$')
TE_HEADER = re.compile(r'^\s*(?:module|policy_module)\s*[\s(]\s*([A-Za-z0-9_.-]+)\s*[,\s]', re.M)
RULE = re.compile(r'^\s*(allow|auditallow|dontaudit|neverallow|allowxperm|type_transition|type_change|'
                  r'type_member|role_transition|range_transition|typeattribute|roleattribute|type|role|attribute|'
                  r'bool|if|optional_policy|gen_require|tunable_policy)\b')


class ModuleError(Exception):
    pass


def canonical(text):
    """The text as its file holds it: ending in exactly one newline (lookup('file') strips it; this puts it back,
    so the sha256 is what `sha256sum FILE` prints for the reviewed file)."""
    return text.rstrip('\n') + '\n'


def sha256_text(text):
    return hashlib.sha256(canonical(text).encode('utf-8')).hexdigest()


def check_review(what, text, expected):
    """The review gate: the source's sha256 must be the one the task carries."""
    actual = sha256_text(text)
    if not expected:
        raise ModuleError('%s has no reviewed sha256: review it and pass sha256: %s' % (what, actual))
    if actual != expected.strip().lower():
        raise ModuleError('%s does not match the reviewed sha256: it is %s, the task carries %s; review the '
                          'change and update the sha256 (nothing was loaded)' % (what, actual, expected.strip()))
    return actual


def te_module_name(text):
    m = TE_HEADER.search(text or '')
    return m.group(1) if m else None


def rules_of(text, fmt):
    """The statements a source would load, without comments and require blocks: what check mode shows."""
    out = []
    if fmt == 'cil':
        for line in text.splitlines():
            line = line.split(';', 1)[0].rstrip()
            if line.strip():
                out.append(line.strip())
        return out
    depth = 0
    for line in text.splitlines():
        line = line.split('#', 1)[0].rstrip()
        if not line.strip():
            continue
        if depth or re.match(r'^\s*(require|gen_require)\s*[{(]', line):
            depth += line.count('{') - line.count('}') + line.count('(') - line.count(')')
            depth = max(depth, 0)
            continue
        if re.match(r'^\s*(module|policy_module)\b', line):
            continue
        out.append(line.strip())
    return out


def installed(root, store, name):
    """{priority: sha256 of the module as installed (decompressed)} from the store, read directly."""
    found = {}
    base = os.path.join(root, store, 'active', 'modules')
    try:
        priorities = os.listdir(base)
    except OSError:
        return found
    for prio in priorities:
        hll = os.path.join(base, prio, name, 'hll')
        if not prio.isdigit() or not os.path.exists(hll):
            continue
        with open(hll, 'rb') as f:
            data = f.read()
        if data[:3] == b'BZh':
            try:
                data = bz2.decompress(data)
            except (IOError, OSError, ValueError):
                pass
        found[int(prio)] = hashlib.sha256(data).hexdigest()
    return found


def disabled(root, store, name):
    return os.path.exists(os.path.join(root, store, 'active', 'modules', 'disabled', name))
