# -*- coding: utf-8 -*-
# Copyright (c) confine.lsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The never-weaken guard shared by every module that can lower protection.
    DOCUMENTATION = r'''
options:
  allow_weaken:
    description:
      - Permit a change that lowers protection (for example enforcing to permissive, or an AppArmor profile
        leaving enforce mode).
      - By default such a change fails before anything is touched, with a message that names this option.
        Denials are fixed in policy (a boolean, a file context, a reviewed module), not by switching protection off.
      - When set and a lowering happens, the result's C(weakened) list says what was lowered, so that reports
        and auditors see it.
    type: bool
    default: false
'''
