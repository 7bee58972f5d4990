# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark timer: wall time of every task whose name starts with "BENCH", written as JSON to $BENCH_TIMES.

A task's time runs from its start to the start of the next task (or the end of the play), as the controller sees
it: SSH round-trips and a loop's per-item overhead count, as they do for a user. The task's results are kept too,
so that the benchmark can check what the task did (commits, parser calls, changed).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: bench_timer
type: aggregate
short_description: wall time of BENCH tasks, as JSON
description: Writes the wall time, changed status and selected result keys of each BENCH task to $BENCH_TIMES.
requirements: [enable in ansible.cfg or ANSIBLE_CALLBACKS_ENABLED]
'''

KEEP = ('changed', 'commits', 'parser_calls', 'failed', 'msg')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = []
        self.current = None

    def _close(self):
        if self.current is not None:
            self.current['seconds'] = round(time.time() - self.current.pop('_t0'), 3)
            self.tasks.append(self.current)
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        name = task.get_name()
        if name.startswith('BENCH'):
            self.current = {'name': name, '_t0': time.time(), 'results': []}

    def _result(self, result, failed=False):
        if self.current is None:
            return
        res = result._result
        kept = dict((k, res[k]) for k in KEEP if k in res)
        if 'results' in res:  # a loop: count items and changes
            kept['items'] = len(res['results'])
            kept['changed_items'] = sum(1 for r in res['results'] if r.get('changed'))
        kept['failed'] = failed or bool(res.get('failed'))
        self.current['results'].append(kept)

    def v2_runner_on_ok(self, result):
        self._result(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, failed=True)

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get('BENCH_TIMES')
        if path:
            with open(path, 'w') as f:
                json.dump(self.tasks, f, indent=1)
