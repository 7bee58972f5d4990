from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.confine.lsm.plugins.module_utils import _selinux_config as cfg

FEDORA = """
# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
# See also:
# https://docs.fedoraproject.org/en-US/quick-docs/getting-started-with-selinux/#getting-started-with-selinux-selinux-states-and-modes
#
# NOTE: In earlier Fedora kernel builds, SELINUX=disabled would also
# fully disable SELinux during boot. If you need a system with SELinux
# fully disabled instead of SELinux running with no policy loaded, you
# need to pass selinux=0 to the kernel command line. You can use grubby
# to persistently set the bootloader to boot with selinux=0:
#
#    grubby --update-kernel ALL --args selinux=0
#
SELINUX=enforcing
# SELINUXTYPE= can take one of these three values:
#     targeted - Targeted processes are protected,
#     minimum - Modification of targeted policy. Only selected processes are protected.
#     mls - Multi Level Security protection.
SELINUXTYPE=targeted
"""

RHEL7 = """
# This file controls the state of SELinux on the system.
SELINUX=permissive
# SELINUXTYPE= can take one of three values:
SELINUXTYPE=targeted
SETLOCALDEFS=0
"""

DEBIAN = """# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
# enforcing - SELinux security policy is enforced.
# permissive - SELinux prints warnings instead of enforcing.
# disabled - No SELinux policy is loaded.
SELINUX=permissive
# SELINUXTYPE= can take one of these two values:
# default - equivalent to the old strict and targeted policies
# mls     - Multi-Level Security (for military and educational use)
# src     - Custom policy built from source
SELINUXTYPE=default

# SETLOCALDEFS= Check local definition changes
SETLOCALDEFS=0
"""


@pytest.mark.parametrize('text,state,policy', [
    (FEDORA, 'enforcing', 'targeted'), (RHEL7, 'permissive', 'targeted'), (DEBIAN, 'permissive', 'default')])
def test_get_real_world(text, state, policy):
    assert cfg.get(text, 'SELINUX') == state
    assert cfg.get(text, 'SELINUXTYPE') == policy
    assert cfg.get(text, 'NOPE') is None


@pytest.mark.parametrize('text', [FEDORA, RHEL7, DEBIAN])
def test_change_keeps_every_other_byte(text):
    new = cfg.set_values(text, {'SELINUX': 'disabled', 'SELINUXTYPE': 'mls'})
    assert cfg.get(new, 'SELINUX') == 'disabled'
    assert cfg.get(new, 'SELINUXTYPE') == 'mls'
    old_lines, new_lines = text.splitlines(True), new.splitlines(True)
    assert len(old_lines) == len(new_lines)
    diff = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert all(a.split('=')[0] == b.split('=')[0] for a, b in diff)
    assert len(diff) <= 2
    # and back again gives the original text, byte for byte
    state, policy = cfg.get(text, 'SELINUX'), cfg.get(text, 'SELINUXTYPE')
    assert cfg.set_values(new, {'SELINUX': state, 'SELINUXTYPE': policy}) == text


@pytest.mark.parametrize('text', [FEDORA, RHEL7, DEBIAN])
def test_no_change_is_identical(text):
    assert cfg.set_values(text, {'SELINUX': cfg.get(text, 'SELINUX'),
                                 'SELINUXTYPE': cfg.get(text, 'SELINUXTYPE')}) == text


def test_crlf_kept():
    text = FEDORA.replace('\n', '\r\n')
    new = cfg.set_values(text, {'SELINUX': 'permissive'})
    assert 'SELINUX=permissive\r\n' in new
    assert new.replace('SELINUX=permissive', 'SELINUX=enforcing') == text


def test_crlf_append_uses_crlf():
    new = cfg.set_values('# x\r\nSELINUX=enforcing\r\n', {'SELINUXTYPE': 'targeted'})
    assert new == '# x\r\nSELINUX=enforcing\r\nSELINUXTYPE=targeted\r\n'


def test_duplicates_all_set_first_wins():
    text = 'SELINUX=permissive\nSELINUXTYPE=targeted\nSELINUX=disabled\n'
    assert cfg.get(text, 'SELINUX') == 'permissive'
    new = cfg.set_values(text, {'SELINUX': 'enforcing'})
    assert new == 'SELINUX=enforcing\nSELINUXTYPE=targeted\nSELINUX=enforcing\n'


def test_missing_key_appended_without_trailing_newline():
    assert cfg.set_values('# only a comment', {'SELINUX': 'enforcing'}) == '# only a comment\nSELINUX=enforcing\n'


def test_quotes_spacing_comments_kept():
    text = '  SELINUX = "Permissive"   # lab\nSELINUXTYPE=default\n'
    assert cfg.get(text, 'SELINUX') == 'permissive'
    new = cfg.set_values(text, {'SELINUX': 'enforcing'})
    assert new == '  SELINUX = "enforcing"   # lab\nSELINUXTYPE=default\n'
    # case-only difference is not a change
    assert cfg.set_values(text, {'SELINUX': 'permissive'}) == text


def test_commented_key_is_not_a_key():
    text = '#SELINUX=disabled\nSELINUX=enforcing\n'
    assert cfg.get(text, 'SELINUX') == 'enforcing'
    assert cfg.set_values(text, {'SELINUX': 'permissive'}) == '#SELINUX=disabled\nSELINUX=permissive\n'


def test_garbage_lines_survive():
    text = 'this is not = valid ??\n\x00weird\nSELINUX=enforcing\n[section]\n'
    new = cfg.set_values(text, {'SELINUX': 'permissive'})
    assert new == text.replace('SELINUX=enforcing', 'SELINUX=permissive')


def test_template():
    text = cfg.render_new('enforcing', 'default')
    assert cfg.get(text, 'SELINUX') == 'enforcing' and cfg.get(text, 'SELINUXTYPE') == 'default'


@pytest.mark.parametrize('current,wanted,weaker', [
    ('enforcing', 'permissive', True), ('enforcing', 'disabled', True), ('permissive', 'disabled', True),
    ('permissive', 'enforcing', False), ('disabled', 'enforcing', False), ('enforcing', 'enforcing', False),
    (None, 'disabled', False), ('garbage', 'permissive', False)])
def test_weakening(current, wanted, weaker):
    assert cfg.is_weakening(current, wanted) is weaker
